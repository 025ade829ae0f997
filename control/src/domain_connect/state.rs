//! The `state` of an apply URL: what the DNS provider hands back when it
//! sends the customer's browser to the return endpoint. It is the only
//! thing the unauthenticated return trusts, so it is signed (HMAC-SHA-256
//! with a secret only the platform holds), names the domain and account it
//! was made for, expires, and carries a nonce so it is spent once. Pure:
//! the time and the nonce come in as arguments.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// How long a customer has to consent at the provider.
pub const STATE_LIFETIME_MS: i64 = 60 * 60 * 1000;

const VERSION: &str = "dc1";

/// Why a returned `state` is not honoured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("the state is not one this platform made")]
    Malformed,
    #[error("the state's signature does not match")]
    Forged,
    #[error("the state has expired: start Domain Connect again from the dashboard")]
    Expired,
}

/// What a valid state says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnState {
    pub domain_id: String,
    pub account_id: String,
    pub expires_at_ms: i64,
    /// Hex; spent once (`store::idempotency::spend`).
    pub nonce: String,
}

/// The secret states are signed with.
#[derive(Clone)]
pub struct StateKey([u8; 32]);

impl std::fmt::Debug for StateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateKey(..)")
    }
}

impl StateKey {
    /// From a configured secret (any length; hashed to 32 bytes).
    pub fn from_secret(secret: &[u8]) -> StateKey {
        StateKey(Sha256::digest(secret).into())
    }

    /// The default: derived from the signing key's file, so every replica
    /// that signs apply URLs accepts the states of the others, and a new
    /// key retires the old states with it.
    pub fn derived_from_signing_key(pem: &str) -> StateKey {
        let mut hash = Sha256::new();
        hash.update(b"portico domain connect state v1\0");
        hash.update(pem.as_bytes());
        StateKey(hash.finalize().into())
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length; 32 bytes always fits.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(payload);
        mac
    }

    /// `<payload>.<mac>`, both base64url: URL-safe as it is.
    pub fn seal(&self, state: &ReturnState) -> String {
        let payload = format!(
            "{VERSION}|{}|{}|{}|{}",
            state.domain_id, state.account_id, state.expires_at_ms, state.nonce
        );
        let tag = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!("{}.{}", B64.encode(payload), B64.encode(tag))
    }

    /// The state, if this platform made it, it is intact and not expired
    /// at `now_ms`. The signature is compared in constant time.
    pub fn open(&self, token: &str, now_ms: i64) -> Result<ReturnState, StateError> {
        if token.len() > 512 {
            return Err(StateError::Malformed);
        }
        let (payload, tag) = token.split_once('.').ok_or(StateError::Malformed)?;
        let payload = B64.decode(payload).map_err(|_| StateError::Malformed)?;
        let tag = B64.decode(tag).map_err(|_| StateError::Malformed)?;
        self.mac(&payload)
            .verify_slice(&tag)
            .map_err(|_| StateError::Forged)?;
        let text = String::from_utf8(payload).map_err(|_| StateError::Malformed)?;
        let fields: Vec<&str> = text.split('|').collect();
        let [VERSION, domain_id, account_id, expires, nonce] = fields[..] else {
            return Err(StateError::Malformed);
        };
        let expires_at_ms: i64 = expires.parse().map_err(|_| StateError::Malformed)?;
        if now_ms >= expires_at_ms {
            return Err(StateError::Expired);
        }
        Ok(ReturnState {
            domain_id: domain_id.to_string(),
            account_id: account_id.to_string(),
            expires_at_ms,
            nonce: nonce.to_string(),
        })
    }
}

/// A state for `domain_id` of `account_id`, made at `now_ms`.
pub fn new_state(domain_id: &str, account_id: &str, nonce: [u8; 16], now_ms: i64) -> ReturnState {
    ReturnState {
        domain_id: domain_id.to_string(),
        account_id: account_id.to_string(),
        expires_at_ms: now_ms + STATE_LIFETIME_MS,
        nonce: hex::encode(nonce),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_sealed_state_opens_until_it_expires() {
        let key = StateKey::from_secret(b"secret");
        let state = new_state("dom_1", "acc_1", [7; 16], NOW);
        let token = key.seal(&state);
        assert!(token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)));
        assert_eq!(key.open(&token, NOW + 1), Ok(state));
        assert_eq!(
            key.open(&token, NOW + STATE_LIFETIME_MS),
            Err(StateError::Expired)
        );
    }

    #[test]
    fn forged_and_malformed_states_are_refused() {
        let key = StateKey::from_secret(b"secret");
        let token = key.seal(&new_state("dom_1", "acc_1", [7; 16], NOW));
        // Another platform's key (or another key file).
        let other = StateKey::derived_from_signing_key("another key");
        assert_eq!(other.open(&token, NOW), Err(StateError::Forged));
        // The payload changed to another domain, the tag kept.
        let (_, tag) = token.split_once('.').unwrap();
        let payload = B64.encode(format!("dc1|dom_2|acc_1|{}|{}", NOW * 2, "07".repeat(16)));
        assert_eq!(
            key.open(&format!("{payload}.{tag}"), NOW),
            Err(StateError::Forged)
        );
        for bad in ["", "x", "a.b.c", "!!!.???", &"a".repeat(600)] {
            assert!(key.open(bad, NOW).is_err(), "{bad}");
        }
        // Signed but not our layout.
        let odd = "dc1|only|three";
        let tag = B64.encode(key.mac(odd.as_bytes()).finalize().into_bytes());
        assert_eq!(
            key.open(&format!("{}.{tag}", B64.encode(odd)), NOW),
            Err(StateError::Malformed)
        );
    }
}
