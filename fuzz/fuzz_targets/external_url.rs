//! External URLs customers set as a domain's Index or 404 target
//! (`ExternalUrl::parse`): never a panic, and an accepted URL
//! - is http(s), without credentials, on a valid host;
//! - never points back at the domain it is set on, however the input spelled
//!   that host (case, trailing dot, port, Unicode, percent-encoding): the
//!   refusal holds on the normalized URL that is stored;
//! - fits the length limit and parses to itself again (the API returns it; a client may send it back);
//! - is a target the edge decodes from a record (what the API writes, the
//!   edge reads);
//! - gets the same answer from the dashboard's check.
//!
//! Input: `<domain as the customer added it>\n<URL>`; the domain is
//! classified under the platform `pages.example.net` (inputs whose domain is
//! refused are skipped).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::{check_hostname, fields, platform, PLATFORM};
use portico_shared::checks::check_external_url;
use portico_shared::url::{parse_http_url, MAX_URL_LEN};
use portico_shared::{ExternalUrl, Hostname, Integration, PathRecord, Target, UrlError};

fuzz_target!(|data: &[u8]| {
    let Some(parts) = fields(data, 2) else { return };
    let [domain, input] = parts[..] else { return };
    let Ok(integration) = Integration::classify(domain, &platform()) else {
        return;
    };

    let result = ExternalUrl::parse(input, &integration);
    let view = check_external_url(input, domain, PLATFORM);
    assert_eq!(
        view.ok,
        result.is_ok(),
        "dashboard and API disagree on {input:?}"
    );

    // From the other side: whatever the URL parser takes as the host, if it
    // is one of the domain's own hosts the URL is refused.
    if let Ok(url) = url::Url::parse(input.trim()) {
        if let Some(Ok(host)) = url.host_str().map(Hostname::parse) {
            if integration.covers(&host) && matches!(url.scheme(), "http" | "https") {
                assert!(result.is_err(), "{input:?} points back at {host}");
            }
        }
    }

    let external = match result {
        Ok(external) => external,
        Err(UrlError::SameIntegration { .. }) => {
            let (_, host) = parse_http_url(input).expect("refused for its host, so it parsed");
            assert!(integration.covers(&host));
            return;
        }
        Err(_) => return,
    };
    let text = external.as_str();
    assert!(
        text.starts_with("https://") || text.starts_with("http://"),
        "{text}"
    );
    let (url, host) = parse_http_url(text).expect("a stored URL parses again");
    check_hostname(&host);
    assert!(!integration.covers(&host), "{text} points back at {host}");
    assert!(url.username().is_empty() && url.password().is_none());
    assert!(text.len() <= MAX_URL_LEN, "{} bytes stored", text.len());
    assert_eq!(
        ExternalUrl::parse(text, &integration).as_ref(),
        Ok(&external),
        "{text} does not parse to itself"
    );

    let record = PathRecord::new(Target::External {
        url: text.to_string(),
    });
    assert_eq!(PathRecord::decode(&record.encode()).as_ref(), Ok(&record));
});
