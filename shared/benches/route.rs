//! Routing cost against the number of pages a domain has: parse the
//! request, read (from an in-memory map standing in for KV), decode each
//! record and decide. `cargo bench -p portico-shared --bench route`.

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use portico_shared::record::{host_key, path_key};
use portico_shared::{
    route, ContentDigest, Decision, EdgeSettings, Facts, HostRecord, Hostname, Lookup, PathRecord,
    Request, Scheme, Slug, Target, Visit,
};

fn digest(n: usize) -> ContentDigest {
    ContentDigest::parse(&format!("{n:064x}")).unwrap()
}

fn namespace(pages: usize) -> HashMap<String, Vec<u8>> {
    let host = Hostname::parse("sales.example.com").unwrap();
    let mut kv = HashMap::with_capacity(pages + 1);
    kv.insert(
        host_key(&host),
        HostRecord::site(
            Target::Page { digest: digest(0) },
            Target::Page { digest: digest(1) },
        )
        .encode(),
    );
    for n in 0..pages {
        let slug = Slug::parse(&format!("page-{n}")).unwrap();
        kv.insert(
            path_key(&host, &slug),
            PathRecord::new(Target::Page {
                digest: digest(n + 2),
            })
            .encode(),
        );
    }
    kv
}

fn decide(kv: &HashMap<String, Vec<u8>>, path: &str) -> Decision {
    let visit = Visit {
        scheme: Scheme::Https,
        method: "GET",
        host: Some("sales.example.com"),
        path,
        query: None,
        if_none_match: None,
    };
    let settings = EdgeSettings {
        https_redirect: true,
    };
    let request = match Request::parse(&visit) {
        Ok(request) => request,
        Err(decision) => return decision,
    };
    let mut facts = Facts::default();
    loop {
        match route(&request, &facts, &settings) {
            Decision::ReadHost(key) => {
                facts.host = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), HostRecord::decode)
            }
            Decision::ReadPath(key) => {
                facts.path = Lookup::from_kv(kv.get(&key).map(Vec::as_slice), PathRecord::decode)
            }
            decision => return decision,
        }
    }
}

fn by_page_count(c: &mut Criterion) {
    for (name, path_for) in [
        (
            "page",
            (|n: usize| format!("/page-{}", n / 2)) as fn(usize) -> String,
        ),
        ("index", |_| "/".to_string()),
        ("not_found", |_| "/missing-page".to_string()),
    ] {
        let mut group = c.benchmark_group(format!("route_{name}"));
        for pages in [1usize, 1_000, 100_000] {
            let kv = namespace(pages);
            let path = path_for(pages);
            assert!(matches!(decide(&kv, &path), Decision::Page { .. }));
            group.bench_with_input(BenchmarkId::from_parameter(pages), &path, |b, path| {
                b.iter(|| decide(black_box(&kv), black_box(path)))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, by_page_count);
criterion_main!(benches);
