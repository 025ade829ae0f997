//! The signed context the edge sends the platform origin with every proxied
//! request: which account's host, which domain and which mount the request
//! came through, and when. The platform trusts these, and nothing else the
//! visitor sends (the edge drops every `X-Portico-*` header a visitor sends).
//!
//! Two headers (the recipe for platforms is docs/origin-signature.md):
//!
//! ```text
//! X-Portico-Context:   t=1733300000,host=sales.example.com,account=acc_42,mount=m_7
//! X-Portico-Signature: v1=<hex HMAC-SHA-256(secret, "portico-origin-context/v1\n" + context)>
//! ```
//!
//! Values are percent-encoded (all but RFC 3986's unreserved characters);
//! an absent account or mount is an empty value. The fields come in this
//! order, and the signature covers the context header's bytes exactly as
//! sent, so a platform verifies before it parses. `t` (Unix seconds, from the
//! edge's clock) lets a platform refuse a replay older than it accepts.
//!
//! Pure: the time and the secret are arguments.

use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// The header carrying the context.
pub const CONTEXT_HEADER: &str = "x-portico-context";
/// The header carrying its signature.
pub const SIGNATURE_HEADER: &str = "x-portico-signature";
/// Request headers named with this prefix are the edge's alone: a visitor's
/// are dropped before the request is forwarded.
pub const RESERVED_HEADER_PREFIX: &str = "x-portico-";
/// What the signed string starts with: names the scheme and its version, so a
/// MAC made for anything else with the same secret never verifies here.
pub const SIGNING_PREFIX: &str = "portico-origin-context/v1\n";
/// The signature's version tag.
const SIGNATURE_VERSION: &str = "v1=";
/// The shortest secret accepted (bytes): a 256-bit key, as for HMAC-SHA-256.
pub const MIN_SECRET_BYTES: usize = 32;
/// How far ahead of the platform's clock `t` may be (clock skew).
pub const MAX_FUTURE_SKEW_S: u64 = 60;
/// A suggested replay window for platforms (docs/origin-signature.md).
pub const DEFAULT_MAX_AGE_S: u64 = 300;

/// RFC 3986 unreserved characters stay as they are; everything else is encoded.
const ENCODED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a proxied request came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginContext {
    /// When the edge forwarded it (Unix seconds).
    pub timestamp_s: u64,
    /// The served host the visitor asked for (normalized, ASCII).
    pub host: String,
    /// The account whose records answered; `None` for certificate validation
    /// paths, which belong to no account.
    pub account: Option<String>,
    /// The mount id of the origin target, if it has one.
    pub mount: Option<String>,
}

/// The shared secret, checked once for length.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContextError {
    #[error("the signing secret is {0} bytes; it must be at least {MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)")]
    ShortSecret(usize),
    #[error("the request carries no {CONTEXT_HEADER} or no {SIGNATURE_HEADER} header")]
    Missing,
    #[error("the {SIGNATURE_HEADER} header does not match the context (wrong secret, or forged)")]
    BadSignature,
    #[error("the {CONTEXT_HEADER} header is malformed")]
    Malformed,
    #[error("the context is {age_s} s old, more than the {max_age_s} s accepted (a replay?)")]
    Expired { age_s: u64, max_age_s: u64 },
    #[error("the context is dated {ahead_s} s in the future")]
    FromTheFuture { ahead_s: u64 },
}

impl SigningKey {
    pub fn new(secret: &[u8]) -> Result<SigningKey, ContextError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ContextError::ShortSecret(secret.len()));
        }
        Ok(SigningKey(secret.to_vec()))
    }

    fn mac(&self, context: &str) -> Hmac<Sha256> {
        // HMAC takes keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.0)
            .expect("HMAC accepts keys of any length");
        mac.update(SIGNING_PREFIX.as_bytes());
        mac.update(context.as_bytes());
        mac
    }
}

impl OriginContext {
    /// The `X-Portico-Context` value.
    pub fn encode(&self) -> String {
        let encode = |value: &str| utf8_percent_encode(value, ENCODED).to_string();
        format!(
            "t={},host={},account={},mount={}",
            self.timestamp_s,
            encode(&self.host),
            encode(self.account.as_deref().unwrap_or("")),
            encode(self.mount.as_deref().unwrap_or("")),
        )
    }

    /// The two headers (context, signature) for this context.
    pub fn sign(&self, key: &SigningKey) -> (String, String) {
        let context = self.encode();
        let signature = sign_context(&context, key);
        (context, signature)
    }

    /// Parses a context value (after its signature was checked).
    pub fn decode(context: &str) -> Result<OriginContext, ContextError> {
        let mut fields = context.split(',');
        let mut field = |name: &str| -> Result<String, ContextError> {
            let (key, value) = fields
                .next()
                .and_then(|field| field.split_once('='))
                .ok_or(ContextError::Malformed)?;
            if key != name {
                return Err(ContextError::Malformed);
            }
            percent_decode_str(value)
                .decode_utf8()
                .map(|value| value.into_owned())
                .map_err(|_| ContextError::Malformed)
        };
        let timestamp = field("t")?;
        if timestamp.is_empty() || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ContextError::Malformed);
        }
        let timestamp_s = timestamp.parse().map_err(|_| ContextError::Malformed)?;
        let host = field("host")?;
        let account = field("account")?;
        let mount = field("mount")?;
        if host.is_empty() || fields.next().is_some() {
            return Err(ContextError::Malformed);
        }
        let some = |value: String| (!value.is_empty()).then_some(value);
        Ok(OriginContext {
            timestamp_s,
            host,
            account: some(account),
            mount: some(mount),
        })
    }
}

/// `v1=<hex HMAC-SHA-256(secret, SIGNING_PREFIX + context)>`.
pub fn sign_context(context: &str, key: &SigningKey) -> String {
    let tag = key.mac(context).finalize().into_bytes();
    format!("{SIGNATURE_VERSION}{}", hex::encode(tag))
}

/// What a platform does with the two headers: checks the signature (in
/// constant time), then the age, then parses. `now_s` is the platform's
/// clock (Unix seconds); `max_age_s` the replay window it accepts.
pub fn verify(
    context: Option<&str>,
    signature: Option<&str>,
    key: &SigningKey,
    now_s: u64,
    max_age_s: u64,
) -> Result<OriginContext, ContextError> {
    let (Some(context), Some(signature)) = (context, signature) else {
        return Err(ContextError::Missing);
    };
    let tag = signature
        .trim()
        .strip_prefix(SIGNATURE_VERSION)
        .and_then(|hex_tag| hex::decode(hex_tag).ok())
        .ok_or(ContextError::BadSignature)?;
    key.mac(context)
        .verify_slice(&tag)
        .map_err(|_| ContextError::BadSignature)?;
    let decoded = OriginContext::decode(context)?;
    if decoded.timestamp_s > now_s + MAX_FUTURE_SKEW_S {
        return Err(ContextError::FromTheFuture {
            ahead_s: decoded.timestamp_s - now_s,
        });
    }
    let age_s = now_s.saturating_sub(decoded.timestamp_s);
    if age_s > max_age_s {
        return Err(ContextError::Expired { age_s, max_age_s });
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn key() -> SigningKey {
        SigningKey::new(SECRET).unwrap()
    }

    fn context() -> OriginContext {
        OriginContext {
            timestamp_s: 1_733_300_000,
            host: "sales.example.com".into(),
            account: Some("acc_42".into()),
            mount: Some("m 7/ü".into()),
        }
    }

    /// The vectors docs/origin-signature.md gives platforms: any change here
    /// breaks every platform's verifier.
    #[test]
    fn test_vectors() {
        let (header, signature) = context().sign(&key());
        assert_eq!(
            header,
            "t=1733300000,host=sales.example.com,account=acc_42,mount=m%207%2F%C3%BC"
        );
        assert_eq!(
            signature,
            "v1=6fd4dab44d8e1a041b86a9a9bad18e1a4ec59a12599302e876425fcef8de2fa4"
        );
        let unowned = OriginContext {
            account: None,
            mount: None,
            ..context()
        };
        let (header, signature) = unowned.sign(&key());
        assert_eq!(
            header,
            "t=1733300000,host=sales.example.com,account=,mount="
        );
        assert_eq!(
            signature,
            "v1=bc88af77154d57c44c8855db3d4a6af30fcabfda31dc5963cb60be2cdc193dcc"
        );
    }

    #[test]
    fn a_signed_context_verifies_and_round_trips() {
        for context in [
            context(),
            OriginContext {
                account: None,
                mount: None,
                ..context()
            },
        ] {
            let (header, signature) = context.sign(&key());
            let now = context.timestamp_s + 10;
            assert_eq!(
                verify(Some(&header), Some(&signature), &key(), now, 300),
                Ok(context)
            );
        }
    }

    #[test]
    fn forged_altered_stale_or_missing_contexts_are_refused() {
        let (header, signature) = context().sign(&key());
        let now = context().timestamp_s;
        let other_key = SigningKey::new(&[b'z'; 32]).unwrap();
        let (_, forged) = context().sign(&other_key);
        let altered = header.replace("acc_42", "acc_43");
        let cases: Vec<(Option<&str>, Option<&str>, u64, ContextError)> = vec![
            (None, Some(&signature), now, ContextError::Missing),
            (Some(&header), None, now, ContextError::Missing),
            (
                Some(&header),
                Some(&forged),
                now,
                ContextError::BadSignature,
            ),
            (
                Some(&altered),
                Some(&signature),
                now,
                ContextError::BadSignature,
            ),
            (
                Some(&header),
                Some("v1=zz"),
                now,
                ContextError::BadSignature,
            ),
            (
                Some(&header),
                Some(&signature[3..]),
                now,
                ContextError::BadSignature,
            ),
            (
                Some(&header),
                Some(&signature),
                now + 301,
                ContextError::Expired {
                    age_s: 301,
                    max_age_s: 300,
                },
            ),
            (
                Some(&header),
                Some(&signature),
                now - 61,
                ContextError::FromTheFuture { ahead_s: 61 },
            ),
        ];
        for (context_header, signature_header, now, expected) in cases {
            assert_eq!(
                verify(context_header, signature_header, &key(), now, 300),
                Err(expected.clone()),
                "{context_header:?} {signature_header:?} at {now}"
            );
        }
    }

    #[test]
    fn malformed_contexts_are_refused_even_when_signed() {
        for header in [
            "",
            "t=,host=a,account=,mount=",
            "t=-1,host=a,account=,mount=",
            "t=1,host=,account=,mount=",
            "host=a,t=1,account=,mount=",
            "t=1,host=a,account=,mount=,extra=1",
            "t=1,host=a,account=%FF,mount=",
            "t=1,host=a,account=",
        ] {
            let signature = sign_context(header, &key());
            assert_eq!(
                verify(Some(header), Some(&signature), &key(), 1, 300),
                Err(ContextError::Malformed),
                "{header}"
            );
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        assert_eq!(
            SigningKey::new(b"short").unwrap_err(),
            ContextError::ShortSecret(5)
        );
    }
}
