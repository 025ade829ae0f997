//! A visit's host and path, normalized and routed: never a panic, and
//! - the host and path that come out normalize to themselves;
//! - the routing keys read are the host's and the page slug's;
//! - route asks for at most two reads;
//! - a redirect to another scheme or host stays on the host it names, and a
//!   proxied path, appended to the origin, never changes the origin.
//!
//! Input: `<host>\n<path>[?query]\n<method>\n<origin mount path>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_fuzz::{check_hostname, check_request_path, fields};
use portico_shared::path::split_query;
use portico_shared::record::{host_key, path_key};
use portico_shared::{
    route, ContentDigest, Decision, EdgeSettings, Facts, HostRecord, Hostname, Lookup, PathRecord,
    Request, Scheme, Target, Visit,
};

const ORIGIN: &str = "https://origin.example";

fuzz_target!(|data: &[u8]| {
    let Some(parts) = fields(data, 4) else { return };
    let host = parts[0];
    let target = parts.get(1).copied().unwrap_or("/");
    let method = parts.get(2).copied().unwrap_or("GET");
    let mount = parts.get(3).copied().unwrap_or("/m");
    let (path, query) = split_query(target);
    let visit = Visit {
        scheme: if data.len() % 2 == 0 {
            Scheme::Http
        } else {
            Scheme::Https
        },
        method,
        host: Some(host),
        path,
        query,
        if_none_match: None,
    };
    let Ok(request) = Request::parse(&visit) else {
        return;
    };
    check_hostname(&request.host);
    check_request_path(&request.path);

    // The mount path goes through the record decoder, as the edge reads it:
    // under the first segment, as a prefix at a deeper path and at the
    // segment itself, with a page between them (the longest answers).
    let record = serde_json::json!({"v": 1, "entries": [
        {"rest": "", "prefix": true, "target": {"type": "origin", "path": mount}},
        {"rest": "/a", "target": {"type": "page", "digest": "0123456789abcdef"}},
        {"rest": "/a/b", "prefix": true, "target": {"type": "origin", "path": mount}},
    ]});
    let Ok(path_record) = PathRecord::decode(record.to_string().as_bytes()) else {
        return;
    };
    let digest = ContentDigest::parse("0123456789abcdef").unwrap();
    let www = Hostname::parse("www.example.com").unwrap();
    let host_record = if data.len() % 3 == 0 {
        HostRecord::redirect(www.clone())
    } else {
        HostRecord::site(
            Target::Page { digest },
            Target::Origin {
                path: "/404".into(),
                mount: None,
            },
        )
    };
    let settings = EdgeSettings {
        https_redirect: data.len() % 5 != 0,
    };
    let mut facts = Facts::default();
    for _ in 0..3 {
        match route(&request, &facts, &settings) {
            Decision::ReadHost(key) => {
                assert_eq!(key, host_key(&request.host));
                facts.host = Lookup::Found(host_record.clone());
            }
            Decision::ReadPath(key) => {
                let slug = request.path.page_slug().expect("a path read needs a slug");
                assert_eq!(key, path_key(&request.host, &slug));
                facts.path = Lookup::Found(path_record.clone());
            }
            Decision::Redirect { location, .. } => {
                let expected = match &facts.host {
                    Lookup::Found(HostRecord::Redirect { to, .. }) => to,
                    _ => &request.host,
                };
                let url = url::Url::parse(&location).expect("a redirect location is a URL");
                assert_eq!(url.host_str(), Some(expected.as_str()), "{location}");
                return;
            }
            Decision::Proxy { path_and_query, .. } => {
                assert!(path_and_query.starts_with('/') && !path_and_query.starts_with("//"));
                let url = url::Url::parse(&format!("{ORIGIN}{path_and_query}"))
                    .expect("the origin URL parses");
                assert_eq!(url.host_str(), Some("origin.example"), "{path_and_query}");
                return;
            }
            _ => return,
        }
    }
    panic!("route asked for a third read");
});
