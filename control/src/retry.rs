//! Retrying calls to remote services: exponential backoff and the server's
//! `Retry-After`. Shared by the publisher (Workers KV) and the certificate
//! provider (Cloudflare custom hostnames).

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// The longest pause between two attempts that backoff alone chooses.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// 250 ms doubling per failure, capped at [`MAX_BACKOFF`], with up to 25 % jitter.
pub fn backoff(failures: u32) -> Duration {
    use rand::Rng;
    let base =
        Duration::from_millis(250).saturating_mul(1u32 << failures.min(10).saturating_sub(1));
    let base = base.min(MAX_BACKOFF);
    let jitter = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 4);
    base + Duration::from_millis(jitter)
}

/// `Retry-After` in seconds (the HTTP-date form is treated as one second).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    Some(match value.trim().parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => Duration::from_secs(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert!(
            backoff(1) >= Duration::from_millis(250) && backoff(1) <= Duration::from_millis(313)
        );
        assert!(backoff(3) >= Duration::from_millis(1000));
        assert!(backoff(30) <= MAX_BACKOFF + MAX_BACKOFF / 4);
    }

    #[test]
    fn reads_retry_after_seconds() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(1)));
    }
}
