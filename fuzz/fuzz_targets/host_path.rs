//! Host + path parsing and routing must never panic, whatever the bytes.
//! Input: `<host>\n<path>[?query]\n<method>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_shared::record::{host_key, path_key};
use portico_shared::{
    route, ContentDigest, Decision, EdgeSettings, Facts, HostRecord, Lookup, PathRecord, Request,
    Scheme, Target, Visit,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let host = parts.next();
    let target = parts.next().unwrap_or("/");
    let method = parts.next().unwrap_or("GET");
    let (path, query) = portico_shared::path::split_query(target);
    let visit = Visit {
        scheme: if data.len() % 2 == 0 { Scheme::Http } else { Scheme::Https },
        method,
        host,
        path,
        query,
        if_none_match: None,
    };
    let Ok(request) = Request::parse(&visit) else { return };
    let digest = ContentDigest::parse("0123456789abcdef").unwrap();
    let host_record = HostRecord::site(
        Target::Page { digest: digest.clone() },
        Target::Origin { path: "/404".into() },
    );
    let path_record = PathRecord::new(Target::Origin { path: "/m".into() });
    let settings = EdgeSettings { https_redirect: true };
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
            _ => return,
        }
    }
    panic!("route asked for a third read");
});
