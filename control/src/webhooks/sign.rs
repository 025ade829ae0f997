//! Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of
//! "<webhook-id>.<webhook-timestamp>.<body>">`, keyed with the secret's
//! bytes (`whsec_<base64>`). Written here with the `hmac` crate (a few lines
//! over well-kept primitives); the tests verify it with the specification's
//! own published library, so the two are independent.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";
/// 24 random bytes: what the specification's reference libraries generate
/// (it asks for 24 to 64).
const SECRET_BYTES: usize = 24;

/// A signing secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    pub fn generate() -> Secret {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        Secret(bytes)
    }

    /// `whsec_<base64>` as stored and shown once to the owner.
    pub fn parse(text: &str) -> Option<Secret> {
        let encoded = text.strip_prefix(PREFIX)?;
        let bytes = STANDARD.decode(encoded).ok()?;
        (!bytes.is_empty()).then_some(Secret(bytes))
    }

    pub fn encode(&self) -> String {
        format!("{PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, message_id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one signature per secret, space-separated
/// (during a rotation's overlap, the new secret's and the previous one's).
pub fn signature_header(
    secrets: &[Secret],
    message_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .iter()
        .map(|secret| secret.sign(message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_specifications_example() {
        // From the Standard Webhooks specification's test vectors.
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn round_trips_and_refuses_what_is_not_a_secret() {
        let secret = Secret::generate();
        assert_eq!(Secret::parse(&secret.encode()), Some(secret.clone()));
        for bad in ["", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!"] {
            assert_eq!(Secret::parse(bad), None, "{bad}");
        }
        assert_eq!(format!("{secret:?}"), "Secret(…)");
    }

    #[test]
    fn signs_with_every_secret_during_a_rotation() {
        let (new, old) = (Secret::generate(), Secret::generate());
        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 1, b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            vec![new.sign("msg_1", 1, b"{}"), old.sign("msg_1", 1, b"{}")]
        );
    }
}
