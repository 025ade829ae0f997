//! Who serves a zone's DNS, from its NS records, with advice in that
//! provider's own words; who a CNAME points at instead of the platform (a
//! previous host, a parking page); and, for root domains, the honest table
//! of which ways of typing the address will work.

use super::report::{UrlForm, Works};

/// A DNS provider recognised by its nameservers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Provider {
    pub name: &'static str,
    /// Matches a nameserver name (lower case, no trailing dot).
    suffixes: &'static [&'static str],
    /// Where the CNAME is created, in the provider's words.
    pub cname_help: &'static str,
    /// How the bare root is forwarded there; `None`: it cannot be (the
    /// subdomain workaround applies).
    pub forward_help: Option<&'static str>,
}

impl Provider {
    pub fn is_godaddy(&self) -> bool {
        self.name == "GoDaddy"
    }
}

const PROVIDERS: &[Provider] = &[
    Provider {
        name: "GoDaddy",
        suffixes: &["domaincontrol.com"],
        cname_help: "In GoDaddy: Domain Portfolio → your domain → DNS → Add New Record; Type CNAME, Name = the host, Value = the target, TTL 1 hour. If a CNAME or A record with that name exists, edit or delete it first.",
        forward_help: None,
    },
    Provider {
        name: "Cloudflare",
        suffixes: &["ns.cloudflare.com"],
        cname_help: "In Cloudflare: your domain → DNS → Records → Add record; Type CNAME, Name = the host, Target = the target, Proxy status DNS only (grey cloud): a proxied (orange) record hides the CNAME.",
        forward_help: Some("In Cloudflare: Rules → Redirect Rules → a rule for the hostname equal to your root, dynamic redirect to concat(\"https://www.\", http.host, http.request.uri.path), status 301, preserve query string; the root needs a proxied (orange cloud) record for the rule to run. Cloudflare answers over HTTPS too."),
    },
    Provider {
        name: "Namecheap",
        suffixes: &["registrar-servers.com"],
        cname_help: "In Namecheap: Domain List → Manage → Advanced DNS → Add New Record; CNAME Record, Host = the host, Value = the target (a trailing dot is fine), TTL Automatic.",
        forward_help: Some("In Namecheap: Advanced DNS → Add New Record → URL Redirect Record; Host @, Value https://www.<your domain>, Permanent (301)."),
    },
    Provider {
        name: "IONOS",
        suffixes: &["ui-dns.com", "ui-dns.de", "ui-dns.org", "ui-dns.biz"],
        cname_help: "In IONOS: Domains & SSL → your domain → DNS → Add record → CNAME; Host name = the host, Points to = the target.",
        forward_help: Some("In IONOS: Domains & SSL → your domain → Redirect → HTTP redirect to https://www.<your domain>, Permanent (301)."),
    },
    Provider {
        name: "Amazon Route 53",
        suffixes: &["awsdns"],
        cname_help: "In Route 53: Hosted zones → your domain → Create record; Record name = the host, Record type CNAME, Value = the target, Simple routing.",
        forward_help: Some("Route 53 does not forward URLs itself: an S3 website bucket named after the root with a redirect-all rule to https://www.<your domain> (or CloudFront) does."),
    },
    Provider {
        name: "Google Cloud DNS",
        suffixes: &["googledomains.com"],
        cname_help: "In Google Cloud DNS: Network services → Cloud DNS → your zone → Add standard; DNS name = the host, Resource record type CNAME, Canonical name = the target with a trailing dot.",
        forward_help: Some("Cloud DNS does not forward URLs: use a load balancer URL map redirect, or a forwarding service, to https://www.<your domain>."),
    },
    Provider {
        name: "Squarespace Domains",
        suffixes: &["squarespacedns.com"],
        cname_help: "In Squarespace Domains: your domain → DNS → Custom records → Add record; Type CNAME, Host = the host, Data = the target.",
        forward_help: Some("In Squarespace Domains: your domain → Website → Domain forwarding → Add; Subdomain @, Destination https://www.<your domain>, Permanent (301), Path forwarding on."),
    },
    Provider {
        name: "Azure DNS",
        suffixes: &["azure-dns.com", "azure-dns.net", "azure-dns.org", "azure-dns.info"],
        cname_help: "In Azure DNS: your DNS zone → + Record set; Name = the host, Type CNAME, Alias = the target.",
        forward_help: None,
    },
    Provider {
        name: "DigitalOcean",
        suffixes: &["digitalocean.com"],
        cname_help: "In DigitalOcean: Networking → Domains → your domain → CNAME; Hostname = the host, Is an alias of = the target followed by a dot.",
        forward_help: None,
    },
    Provider {
        name: "Porkbun",
        suffixes: &["porkbun.com"],
        cname_help: "In Porkbun: Domain Management → DNS; Type CNAME, Host = the host, Answer = the target.",
        forward_help: Some("In Porkbun: Domain Management → URL Forwarding; leave the subdomain blank, forward to https://www.<your domain>, Permanent (301), Include path on, Wildcard off."),
    },
    Provider {
        name: "Hover",
        suffixes: &["hover.com"],
        cname_help: "In Hover: your domain → DNS → Add a record; Type CNAME, Hostname = the host, Target name = the target.",
        forward_help: Some("In Hover: your domain → Overview → Forwarding → Edit; forward to https://www.<your domain>, Permanent."),
    },
    Provider {
        name: "Name.com",
        suffixes: &["name.com"],
        cname_help: "In Name.com: My Domains → your domain → Manage DNS Records; Type CNAME, Host = the host, Answer = the target.",
        forward_help: Some("In Name.com: My Domains → your domain → URL Forwarding; Host blank, Destination https://www.<your domain>, Type Permanent (301)."),
    },
    Provider {
        name: "Gandi",
        suffixes: &["gandi.net"],
        cname_help: "In Gandi: Domain → DNS Records → Add; Type CNAME, Name = the host, Hostname = the target with a trailing dot.",
        forward_help: Some("In Gandi: Domain → Web Forwarding → Create; the root, to https://www.<your domain>, Permanent (301)."),
    },
    Provider {
        name: "OVHcloud",
        suffixes: &["ovh.net", "ovh.ca"],
        cname_help: "In OVHcloud: Domain names → your domain → DNS zone → Add an entry → CNAME; Sub-domain = the host, Target = the target with a trailing dot.",
        forward_help: Some("In OVHcloud: Domain names → your domain → Redirection → Add; from the root, to https://www.<your domain>, Visible permanent (301)."),
    },
    Provider {
        name: "Wix",
        suffixes: &["wixdns.net"],
        cname_help: "In Wix: Domains → your domain → Manage DNS Records → CNAME (Aliases) → Add Record; Host Name = the host, Value = the target.",
        forward_help: None,
    },
    Provider {
        name: "Bluehost",
        suffixes: &["bluehost.com"],
        cname_help: "In Bluehost: Domains → your domain → DNS → CNAME → Add Record; Host Record = the host, Points To = the target.",
        forward_help: Some("In Bluehost: Domains → Redirects; redirect the root to https://www.<your domain>, Permanent (301)."),
    },
    Provider {
        name: "Dynadot",
        suffixes: &["dynadot.com"],
        cname_help: "In Dynadot: My Domains → your domain → DNS Settings → Subdomain Records; Subdomain = the host, Record Type CNAME, Value = the target.",
        forward_help: Some("In Dynadot: DNS Settings → Domain Record → Forward (301) to https://www.<your domain>."),
    },
];

/// The provider whose nameservers these are.
pub fn identify(nameservers: &[String]) -> Option<&'static Provider> {
    nameservers.iter().find_map(|ns| {
        let ns = ns.trim_end_matches('.').to_ascii_lowercase();
        PROVIDERS.iter().find(|p| {
            p.suffixes.iter().any(|suffix| {
                if *suffix == "awsdns" {
                    ns.contains("awsdns-")
                } else {
                    ns == *suffix || ns.ends_with(&format!(".{suffix}"))
                }
            })
        })
    })
}

/// Advice for a root at `provider` (which cannot forward the bare root)
/// where the platform offers apex by address: the bare domain's A/AAAA
/// records at `@` → the platform's addresses, which every provider takes,
/// so all six ways of typing the address work, `https://` too.
pub fn apex_advice(
    provider: &Provider,
    root: &str,
    target: &str,
    offered: &portico_shared::ApexAddresses,
) -> String {
    let records = super::apex::records_text(offered);
    let name = provider.name;
    let steps = if provider.is_godaddy() {
        format!(
            "In GoDaddy: Domain Portfolio → {root} → DNS; edit GoDaddy's A record `@` (\"Parked\" by default) to the first address, add the rest as new records (Type A or AAAA, Name @), and delete any Forwarding of {root}."
        )
    } else {
        format!("In {name}'s DNS, replace the records of `@` with these (delete any forwarding of {root}).")
    };
    format!(
        "Best with {name}: point the bare {root} at the platform instead of forwarding it. Choose \"apex by address\" for this domain (setup `addresses`) and create {records}; {steps} Keep CNAME `www` → `{target}`. Then https://{root}, http://{root}, {root}, https://www.{root}, http://www.{root} and www.{root} all work: the platform answers the bare domain itself, with its own certificate."
    )
}

/// Hosts a CNAME may still point at from before: page builders, site
/// hosts and parking services, by the suffix of the target.
const PREVIOUS_HOSTS: &[(&str, &str)] = &[
    ("kartra.com", "Kartra"),
    ("clickfunnels.com", "ClickFunnels"),
    ("myclickfunnels.com", "ClickFunnels"),
    ("leadpages.net", "Leadpages"),
    ("unbouncepages.com", "Unbounce"),
    ("pageserve.co", "Instapage"),
    ("kajabi.com", "Kajabi"),
    ("mykajabi.com", "Kajabi"),
    ("systeme.io", "systeme.io"),
    ("hs-sites.com", "HubSpot"),
    ("ghs.googlehosted.com", "Google Sites or Blogger"),
    ("wixdns.net", "Wix"),
    ("squarespace.com", "Squarespace"),
    ("myshopify.com", "Shopify"),
    ("herokudns.com", "Heroku"),
    ("herokuapp.com", "Heroku"),
    ("github.io", "GitHub Pages"),
    ("netlify.app", "Netlify"),
    ("netlify.com", "Netlify"),
    ("vercel-dns.com", "Vercel"),
    ("webflow.io", "Webflow"),
    ("webflow.com", "Webflow"),
    ("wordpress.com", "WordPress.com"),
    ("parkingcrew.net", "a parking service (ParkingCrew)"),
    ("sedoparking.com", "a parking service (Sedo)"),
    ("bodis.com", "a parking service (Bodis)"),
];

/// The service a CNAME target belongs to, if it is a known previous host.
pub fn previous_host(target: &str) -> Option<&'static str> {
    let target = target.trim_end_matches('.').to_ascii_lowercase();
    PREVIOUS_HOSTS
        .iter()
        .find(|(suffix, _)| target == *suffix || target.ends_with(&format!(".{suffix}")))
        .map(|(_, name)| *name)
}

/// What was found, for the six-address table of a root domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reachability {
    /// `www` points at the platform.
    pub www_points: bool,
    /// The certificate is active (or not managed).
    pub certificate_ready: bool,
    /// `http://<root>` forwards to `https://www.<root>` (301/302…).
    pub root_http_forwards: bool,
    /// `https://<root>` answers with a forward to `https://www.<root>`.
    pub root_https_forwards: bool,
    /// The root's TLD is HSTS-preloaded: browsers never use plain HTTP there.
    pub hsts_tld: bool,
}

/// The six ways of typing a root domain's address and whether each works.
pub fn url_table(root: &str, found: &Reachability) -> Vec<UrlForm> {
    let www = format!("www.{root}");
    let www_state = if !found.www_points {
        (
            Works::No,
            format!("{www} does not point at the platform yet"),
        )
    } else if !found.certificate_ready {
        (
            Works::Soon,
            "works once the certificate is issued".to_string(),
        )
    } else {
        (Works::Yes, "served by the platform".to_string())
    };
    let plain_root = if found.hsts_tld {
        (
            Works::No,
            "browsers only ever use https:// on this top-level domain (HSTS preload)".to_string(),
        )
    } else if !found.root_http_forwards {
        (
            Works::No,
            format!("http://{root} does not forward to https://{www}"),
        )
    } else if www_state.0 == Works::Yes {
        (
            Works::Yes,
            format!("your registrar forwards it to https://{www}"),
        )
    } else {
        (
            www_state.0,
            format!("forwards to https://{www}, which {}", www_state.1),
        )
    };
    let https_root = if found.root_https_forwards {
        (
            if www_state.0 == Works::Yes {
                Works::Yes
            } else {
                www_state.0
            },
            "your forwarding answers over HTTPS too".to_string(),
        )
    } else {
        (
            Works::No,
            "nothing answers https:// on the bare root with a valid certificate: registrar forwarding is usually plain HTTP only".to_string(),
        )
    };
    vec![
        UrlForm {
            url: format!("https://{root}"),
            works: https_root.0,
            why: https_root.1,
        },
        UrlForm {
            url: format!("http://{root}"),
            works: plain_root.0,
            why: plain_root.1.clone(),
        },
        UrlForm {
            url: root.to_string(),
            works: plain_root.0,
            why: plain_root.1,
        },
        UrlForm {
            url: format!("https://{www}"),
            works: www_state.0,
            why: www_state.1.clone(),
        },
        UrlForm {
            url: format!("http://{www}"),
            works: www_state.0,
            why: if www_state.0 == Works::Yes {
                "the platform redirects it to https://".to_string()
            } else {
                www_state.1.clone()
            },
        },
        UrlForm {
            url: www.clone(),
            works: www_state.0,
            why: www_state.1,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_providers_by_their_nameservers() {
        let cases = [
            ("ns41.domaincontrol.com", Some("GoDaddy")),
            ("PAM.NS.CLOUDFLARE.COM.", Some("Cloudflare")),
            ("dns1.registrar-servers.com", Some("Namecheap")),
            ("ns1045.ui-dns.de", Some("IONOS")),
            ("ns-1536.awsdns-00.co.uk", Some("Amazon Route 53")),
            ("ns-cloud-a1.googledomains.com", Some("Google Cloud DNS")),
            ("ns1.example-dns.test", None),
            ("notdomaincontrol.com", None),
        ];
        for (ns, expected) in cases {
            assert_eq!(
                identify(&[ns.to_string()]).map(|p| p.name),
                expected,
                "{ns}"
            );
        }
    }

    #[test]
    fn recognises_previous_hosts() {
        assert_eq!(previous_host("katie.kartra.com."), Some("Kartra"));
        assert_eq!(
            previous_host("ghs.googlehosted.com"),
            Some("Google Sites or Blogger")
        );
        assert_eq!(previous_host("shops.myshopify.com"), Some("Shopify"));
        assert_eq!(previous_host("katie.portico.test"), None);
    }

    #[test]
    fn the_six_addresses_say_what_works() {
        let found = Reachability {
            www_points: true,
            certificate_ready: true,
            root_http_forwards: false,
            root_https_forwards: false,
            hsts_tld: false,
        };
        let works: Vec<Works> = url_table("example.com", &found)
            .iter()
            .map(|f| f.works)
            .collect();
        // GoDaddy's classic result: only the www forms work.
        assert_eq!(
            works,
            [
                Works::No,
                Works::No,
                Works::No,
                Works::Yes,
                Works::Yes,
                Works::Yes
            ]
        );
        let forwarded = Reachability {
            root_http_forwards: true,
            ..found
        };
        let works: Vec<Works> = url_table("example.com", &forwarded)
            .iter()
            .map(|f| f.works)
            .collect();
        assert_eq!(
            works,
            [
                Works::No,
                Works::Yes,
                Works::Yes,
                Works::Yes,
                Works::Yes,
                Works::Yes
            ]
        );
        let hsts = Reachability {
            hsts_tld: true,
            ..forwarded
        };
        assert_eq!(url_table("example.app", &hsts)[1].works, Works::No);
    }
}
