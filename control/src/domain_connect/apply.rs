//! The signed apply URL of the synchronous flow, and the TXT records that
//! publish the key it is verified with.
//!
//! The standard: the query's parameters, the signature computed with
//! RSASSA-PKCS1-v1_5 over SHA-256 (RS256) over the query string exactly as
//! sent, then `&sig=<base64>&key=<key id>`; the DNS provider reads the
//! public key from TXT records at `<key id>.<syncPubKeyDomain>`, each
//! `p=<part>,a=RS256,d=<base64 of part of the SubjectPublicKeyInfo>`, and
//! verifies. Parameters are sorted by name and encoded as the standard's
//! reference client (`domain-connect` on PyPI) encodes them, so a URL built
//! here is byte for byte the one that client builds (checked by
//! `control/tests/domain_connect.rs`).
//!
//! Signing uses `ring` (constant-time RSA; the `rsa` crate's private-key
//! operations carry RUSTSEC-2023-0071).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use spki::der::asn1::{BitString, Null};
use spki::der::{Any, Encode};
use spki::{AlgorithmIdentifier, ObjectIdentifier, SubjectPublicKeyInfo};

use super::template::Service;

/// Characters left as they are: what Python's `urllib.parse.quote_plus`
/// leaves (letters, digits, `_.-~`); a space becomes `+`.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b' ');

/// rsaEncryption (RFC 8017, appendix C).
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// Longest `d=` part of a key TXT record (one TXT string holds 255 bytes).
const KEY_PART_LEN: usize = 200;

/// Why a signing key was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the Domain Connect key is not a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----): {0}"
    )]
    NotPem(String),
    #[error("the Domain Connect key is not an RSA key of 2048 to 8192 bits: {0}")]
    NotRsa(String),
    #[error("the Domain Connect key id {0:?} is not one DNS label (letters, digits, '-', '_')")]
    KeyId(String),
}

/// The platform's signing key and the host name of its TXT records.
pub struct SigningKey {
    key_id: String,
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// `pem`: a PKCS#8 RSA private key (`openssl genpkey -algorithm RSA
    /// -pkeyopt rsa_keygen_bits:2048`). `key_id`: the label its public key
    /// is published under (the standard's examples use `_dcpubkeyv1`).
    pub fn from_pem(pem: &str, key_id: &str) -> Result<SigningKey, KeyError> {
        let label_ok = !key_id.is_empty()
            && key_id.len() <= 63
            && key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !label_ok {
            return Err(KeyError::KeyId(key_id.to_string()));
        }
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|e| KeyError::NotPem(e.to_string()))?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| KeyError::NotRsa(e.to_string()))?;
        Ok(SigningKey {
            key_id: key_id.to_string(),
            pair,
            rng: SystemRandom::new(),
        })
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Base64 of RS256 over `data`.
    pub fn sign(&self, data: &[u8]) -> String {
        let mut signature = vec![0; self.pair.public().modulus_len()];
        // Fails only for a key ring accepted yet cannot use: not reachable
        // with a key from `from_pem`; an empty signature then fails the
        // provider's check rather than this process.
        if self
            .pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, data, &mut signature)
            .is_err()
        {
            signature.clear();
        }
        BASE64.encode(signature)
    }

    /// The public key as DER SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`).
    pub fn public_key_der(&self) -> Vec<u8> {
        let info = SubjectPublicKeyInfo {
            algorithm: AlgorithmIdentifier {
                oid: RSA_ENCRYPTION,
                parameters: Some(Any::from(Null)),
            },
            subject_public_key: BitString::from_bytes(self.pair.public().as_ref())
                .expect("a key's bytes fit a bit string"),
        };
        info.to_der().expect("a key's SubjectPublicKeyInfo encodes")
    }

    /// The TXT records to create at `<key id>.<syncPubKeyDomain>`, in order.
    pub fn public_key_records(&self) -> Vec<String> {
        let encoded = BASE64.encode(self.public_key_der());
        encoded
            .as_bytes()
            .chunks(KEY_PART_LEN)
            .enumerate()
            .map(|(i, part)| {
                // Base64 is ASCII, so every chunk is text.
                let part = std::str::from_utf8(part).unwrap_or_default();
                format!("p={},a=RS256,d={part}", i + 1)
            })
            .collect()
    }
}

/// What one apply URL asks the DNS provider to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyRequest {
    /// `urlSyncUX` of the provider's settings (no trailing slash needed).
    pub url_sync_ux: String,
    pub provider_id: String,
    pub service: Service,
    /// The zone at the provider (`example.com`), ASCII.
    pub domain: String,
    /// The name within it (`sales`); `None` for the zone itself.
    pub host: Option<String>,
    /// The template's variables (`target`).
    pub variables: Vec<(String, String)>,
    pub redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// `name=value&…`, sorted by name, encoded as the reference client does.
pub fn query_string(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, QUERY_VALUE)
        .to_string()
        .replace(' ', "+")
}

impl ApplyRequest {
    /// Every parameter of the query, before signing.
    pub fn parameters(&self) -> Vec<(String, String)> {
        let mut pairs = self.variables.clone();
        pairs.push(("domain".into(), self.domain.clone()));
        if let Some(host) = self.host.as_ref().filter(|h| !h.is_empty()) {
            pairs.push(("host".into(), host.clone()));
        }
        if let Some(uri) = &self.redirect_uri {
            pairs.push(("redirect_uri".into(), uri.clone()));
        }
        if let Some(state) = &self.state {
            pairs.push(("state".into(), state.clone()));
        }
        pairs
    }

    /// The URL the customer's browser is sent to.
    pub fn signed_url(&self, key: &SigningKey) -> String {
        let query = query_string(&self.parameters());
        let signature = key.sign(query.as_bytes());
        format!(
            "{}/v2/domainTemplates/providers/{}/services/{}/apply?{query}&sig={}&key={}",
            self.url_sync_ux.trim_end_matches('/'),
            self.provider_id,
            self.service.id(),
            encode(&signature),
            encode(key.key_id()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_encoded_as_the_reference_client_does() {
        let pairs = vec![
            ("state".to_string(), "a b/c~d*e".to_string()),
            ("domain".to_string(), "example.com".to_string()),
            ("target".to_string(), "katie.portico.test".to_string()),
        ];
        assert_eq!(
            query_string(&pairs),
            "domain=example.com&state=a+b%2Fc~d%2Ae&target=katie.portico.test"
        );
        assert_eq!(encode("ü+="), "%C3%BC%2B%3D");
    }

    #[test]
    fn keys_are_refused_clearly() {
        assert!(matches!(
            SigningKey::from_pem("not a key", "_dcpubkeyv1"),
            Err(KeyError::NotPem(_))
        ));
        assert!(matches!(
            SigningKey::from_pem("", "two.labels"),
            Err(KeyError::KeyId(_))
        ));
    }

    #[test]
    fn the_host_is_left_out_for_the_zone_itself() {
        let mut request = ApplyRequest {
            url_sync_ux: "https://dc.provider.test/".into(),
            provider_id: "portico.test".into(),
            service: Service::Root,
            domain: "example.com".into(),
            host: None,
            variables: vec![("target".into(), "katie.portico.test".into())],
            redirect_uri: None,
            state: None,
        };
        assert_eq!(
            query_string(&request.parameters()),
            "domain=example.com&target=katie.portico.test"
        );
        request.host = Some("sales".into());
        assert_eq!(
            query_string(&request.parameters()),
            "domain=example.com&host=sales&target=katie.portico.test"
        );
    }
}
