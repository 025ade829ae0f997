//! The certificate authorities a certificate provider issues from: the one
//! list the `caa` check judges CAA records against and the certificate's
//! CAA advice names ([`for_provider`]).
//!
//! Cloudflare for SaaS, custom hostnames with the default CA (Portico sets
//! no `certificate_authority`): Let's Encrypt, Google Trust Services and
//! SSL.com. DigiCert issues no new certificates for Cloudflare since
//! October 2023; Sectigo is used only for backup certificates of Cloudflare
//! zones, never for custom hostnames. Checked 2026-12-03 ([`CHECKED`])
//! against Cloudflare's "Certificate authorities" reference
//! (<https://developers.cloudflare.com/ssl/reference/certificate-authorities/>,
//! its CAA values) and Cloudflare for SaaS, "Issue certificates".
//!
//! To update: read those two pages again, edit [`CLOUDFLARE_FOR_SAAS`]
//! (and [`RETIRED`] for one it drops), set [`CHECKED`] to the day, and run
//! `cargo nextest run -p portico-control caa authorities`: the CAA check, the
//! certificate's fix text and their tests all follow the list.
//!
//! The `none` provider (the local stack) issues nothing; it judges CAA as
//! Cloudflare for SaaS would, so the local stack rehearses the diagnoses a
//! production deployment gives.

use crate::config::CertificateProvider;

/// A certificate authority, with the value a CAA `issue` record names it by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority {
    pub name: &'static str,
    /// The CAA `issue` domain (RFC 8659), lower case.
    pub caa: &'static str,
}

/// When [`CLOUDFLARE_FOR_SAAS`] was last checked against Cloudflare's pages.
pub const CHECKED: &str = "2026-12-03";

/// What Cloudflare for SaaS issues custom hostnames' certificates from.
pub const CLOUDFLARE_FOR_SAAS: &[Authority] = &[
    Authority {
        name: "Let's Encrypt",
        caa: "letsencrypt.org",
    },
    Authority {
        name: "Google Trust Services",
        caa: "pki.goog",
    },
    Authority {
        name: "SSL.com",
        caa: "ssl.com",
    },
];

/// Authorities Cloudflare issued from once and no longer does for new
/// certificates: a CAA record allowing only these is diagnosed, and named.
pub const RETIRED: &[(Authority, &str)] = &[(
    Authority {
        name: "DigiCert",
        caa: "digicert.com",
    },
    "Cloudflare stopped issuing new certificates from DigiCert in October 2023",
)];

/// The authorities `provider` issues from.
pub fn for_provider(provider: &CertificateProvider) -> &'static [Authority] {
    match provider {
        CertificateProvider::Cloudflare { .. } => CLOUDFLARE_FOR_SAAS,
        // Issues nothing: judged as production would be (module docs).
        CertificateProvider::None => CLOUDFLARE_FOR_SAAS,
    }
}

/// Why a CAA `issue` domain the provider does not use was once plausible.
pub fn retired(caa: &str) -> Option<&'static (Authority, &'static str)> {
    RETIRED
        .iter()
        .find(|(a, _)| a.caa.eq_ignore_ascii_case(caa))
}

/// `` `a`, `b` and `c` ``: the CAA values, quoted, for a sentence.
pub fn caa_values(authorities: &[Authority]) -> String {
    let quoted: Vec<String> = authorities.iter().map(|a| format!("`{}`", a.caa)).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.join(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_follow_the_provider() {
        let cloudflare = CertificateProvider::Cloudflare {
            api_url: "https://api.cloudflare.com/client/v4".into(),
            api_token: "t".into(),
            zone_id: "z".into(),
        };
        assert_eq!(for_provider(&cloudflare), CLOUDFLARE_FOR_SAAS);
        assert_eq!(
            for_provider(&CertificateProvider::None),
            CLOUDFLARE_FOR_SAAS
        );
        let values: Vec<&str> = CLOUDFLARE_FOR_SAAS.iter().map(|a| a.caa).collect();
        assert_eq!(values, ["letsencrypt.org", "pki.goog", "ssl.com"]);
        for (old, _) in RETIRED {
            assert!(
                !values.contains(&old.caa),
                "{} is both used and retired",
                old.caa
            );
        }
        assert_eq!(
            caa_values(CLOUDFLARE_FOR_SAAS),
            "`letsencrypt.org`, `pki.goog` and `ssl.com`"
        );
        assert!(retired("DigiCert.com").is_some());
    }
}
