//! From the store to the KV records the edge should hold, and from there to
//! the outbox. After any change that alters what the edge serves, the same
//! transaction calls [`sync_account`]: it recomputes every record of the
//! account (its platform host and its connected domains), diffs them against
//! `kv_published`, and enqueues the puts and deletes that differ, content
//! before the routing records that name it.

use std::collections::{BTreeMap, HashMap};

use portico_shared::lifecycle::Status;
use portico_shared::link_path::MAX_ENTRIES_PER_SEGMENT;
use portico_shared::record::{content_key, host_key, path_key};
use portico_shared::{
    ContentDigest, HostRecord, Hostname, LinkPath, PathEntry, PathRecord, PlatformDomain, Target,
    Username,
};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

use super::defaults::{DEFAULT_INDEX_HTML, DEFAULT_NOT_FOUND_HTML};
use crate::store::domains::{Domain, TargetColumns};
use crate::store::outbox::{self, Namespace};
use crate::store::{accounts, domains, links, mounts, now_ms, pages, platform_host, products};

/// What records are built from beside the store: the deployment's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSettings {
    pub platform: PlatformDomain,
    /// `Strict-Transport-Security` max-age for Connected custom domains; 0:
    /// none (`hsts_max_age_s`, always 0 without a certificate provider).
    pub hsts_max_age_s: u32,
    /// The platform's apex addresses (`apex_addresses`): the A/AAAA records
    /// a root's apex by address points at, as domain views give them.
    pub apex_addresses: portico_shared::ApexAddresses,
}

impl RecordSettings {
    pub fn from_settings(settings: &crate::config::Settings) -> RecordSettings {
        RecordSettings {
            platform: settings.platform_domain.clone(),
            hsts_max_age_s: settings.hsts_max_age_s,
            apex_addresses: settings.verify.apex_addresses.clone(),
        }
    }

    /// The HSTS max-age `domain`'s records carry. Only a Connected domain:
    /// the verifier connects a domain only once its certificate is active
    /// (`certificate` check: `Active`, or `NotManaged` where there is no
    /// provider, and then the max-age is 0), whereas a processing domain
    /// being published and a disconnected one in its grace period may have
    /// none that works.
    pub fn hsts_for(&self, domain: &Domain) -> Option<u32> {
        (domain.status == Status::Connected && self.hsts_max_age_s > 0)
            .then_some(self.hsts_max_age_s)
    }
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The content digest of a page's HTML.
pub fn content_digest(html: &str) -> ContentDigest {
    ContentDigest::parse(&sha256_hex(html.as_bytes()))
        .expect("a SHA-256 hex digest is a content digest")
}

/// Where the HTML for a content key comes from.
#[derive(Debug, Clone)]
enum Source {
    Builtin(&'static str),
    Revision { page_id: String, number: i64 },
}

/// What one account should have in KV.
#[derive(Debug, Default)]
struct Desired {
    routes: BTreeMap<String, String>,
    content: BTreeMap<String, (ContentDigest, Source)>,
}

impl Desired {
    fn builtin(&mut self, html: &'static str) -> Target {
        let digest = content_digest(html);
        self.content
            .entry(content_key(&digest))
            .or_insert_with(|| (digest.clone(), Source::Builtin(html)));
        Target::Page { digest }
    }

    fn page(&mut self, page: &pages::PageRow) -> Option<Target> {
        let digest = ContentDigest::parse(&page.digest).ok()?;
        self.content.entry(content_key(&digest)).or_insert_with(|| {
            (
                digest.clone(),
                Source::Revision {
                    page_id: page.id.clone(),
                    number: page.current_revision,
                },
            )
        });
        Some(Target::Page { digest })
    }
}

/// What one account should have in KV, as the store says now: every
/// routing key with its value, and the content keys those records name.
/// Independent of what was published (`kv_published`): what a check of KV
/// compares with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    pub routes: BTreeMap<String, String>,
    pub content: std::collections::BTreeSet<String>,
}

/// The records `account_id` should have in KV (nothing for an account that
/// does not exist).
pub async fn expected(
    conn: &mut AnyConnection,
    records: &RecordSettings,
    account_id: &str,
) -> Result<Expected, sqlx::Error> {
    Ok(desired(conn, records, account_id)
        .await?
        .map(|desired| Expected {
            content: desired.content.keys().cloned().collect(),
            routes: desired.routes,
        })
        .unwrap_or_default())
}

/// Computes the account's records from its pages, links, mounts, products
/// and domains.
async fn desired(
    conn: &mut AnyConnection,
    records: &RecordSettings,
    account_id: &str,
) -> Result<Option<Desired>, sqlx::Error> {
    let Some(account) = accounts::get_in(conn, account_id).await? else {
        return Ok(None);
    };
    if account.deleted_at.is_some() {
        // Nothing, not even its platform host: its resync unpublishes all.
        return Ok(Some(Desired::default()));
    }
    let pages: HashMap<String, pages::PageRow> = pages::list(&mut *conn, account_id)
        .await?
        .into_iter()
        .map(|page| (page.id.clone(), page))
        .collect();
    let links = links::list(&mut *conn, account_id).await?;
    let mounts = mounts::list(&mut *conn, account_id).await?;
    let products: HashMap<String, products::ProductRow> = products::list(&mut *conn, account_id)
        .await?
        .into_iter()
        .map(|product| (product.id.clone(), product))
        .collect();
    let domains = domains::list_published(&mut *conn, account_id).await?;
    let platform_settings = platform_host::get(&mut *conn, account_id).await?;

    let mut desired = Desired::default();
    let paths = Paths {
        account_id,
        pages: &pages,
        products: &products,
    };
    if let Ok(username) = Username::parse(&account.username) {
        let host = records.platform.account_host(&username);
        let index = target(&mut desired, &platform_settings.index, &pages)
            .unwrap_or_else(|| desired.builtin(DEFAULT_INDEX_HTML));
        let not_found = target(&mut desired, &platform_settings.not_found, &pages)
            .unwrap_or_else(|| desired.builtin(DEFAULT_NOT_FOUND_HTML));
        let record = HostRecord::site(index, not_found).with_account(Some(account_id.to_string()));
        desired
            .routes
            .insert(host_key(&host), json(&record.encode()));
        paths.add(
            &mut desired,
            &host,
            None,
            links.iter().filter(|l| l.domain_id.is_none()),
            mounts.iter().filter(|m| m.domain_id.is_none()),
        );
    }
    // Published domains: connected ones, one being connected (published
    // before it is reported connected), a disconnected one in its grace period.
    for domain in &domains {
        let hsts = records.hsts_for(domain);
        add_domain(&mut desired, domain, hsts, &paths, &links, &mounts);
    }
    Ok(Some(desired))
}

/// Recomputes the account's records and enqueues what changed. Returns how
/// many outbox rows it wrote.
pub async fn sync_account(
    conn: &mut AnyConnection,
    records: &RecordSettings,
    account_id: &str,
) -> Result<usize, sqlx::Error> {
    let Some(desired) = desired(conn, records, account_id).await? else {
        return Ok(0);
    };

    let now = now_ms();
    let mut written = 0;
    let named: std::collections::BTreeSet<&str> =
        desired.content.keys().map(String::as_str).collect();
    outbox::set_content_refs(conn, account_id, &named, now).await?;
    for (key, (digest, source)) in &desired.content {
        if !outbox::claim_content(conn, key, digest.as_str()).await? {
            continue;
        }
        let html = match source {
            Source::Builtin(html) => Some(html.to_string()),
            Source::Revision { page_id, number } => pages::content(conn, page_id, *number).await?,
        };
        if let Some(html) = html {
            outbox::enqueue_put(conn, Namespace::Content, key, &html, now).await?;
            written += 1;
        }
    }
    let published: HashMap<String, String> = outbox::published_routes(conn, account_id)
        .await?
        .into_iter()
        .collect();
    for (key, value) in &desired.routes {
        let digest = sha256_hex(value.as_bytes());
        if published.get(key) != Some(&digest) {
            outbox::set_published_route(conn, account_id, key, &digest).await?;
            outbox::enqueue_put(conn, Namespace::Routes, key, value, now).await?;
            written += 1;
        }
    }
    for key in published
        .keys()
        .filter(|key| !desired.routes.contains_key(*key))
    {
        outbox::unset_published_route(conn, key).await?;
        outbox::enqueue_delete(conn, Namespace::Routes, key, now).await?;
        written += 1;
    }
    Ok(written)
}

fn json(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn add_domain(
    desired: &mut Desired,
    domain: &Domain,
    hsts: Option<u32>,
    paths: &Paths<'_>,
    links: &[links::LinkRow],
    mounts: &[mounts::MountRow],
) {
    let integration = &domain.integration;
    // `www`, or the bare root when the customer made it the main address.
    let main = integration.main_host();
    let index = target(desired, &domain.index, paths.pages)
        .unwrap_or_else(|| desired.builtin(DEFAULT_INDEX_HTML));
    let not_found = target(desired, &domain.not_found, paths.pages)
        .unwrap_or_else(|| desired.builtin(DEFAULT_NOT_FOUND_HTML));
    let before = desired.routes.len();
    for host in integration.hosts() {
        let record = if host == main {
            HostRecord::site(index.clone(), not_found.clone())
                .with_hsts(hsts)
                .with_account(Some(paths.account_id.to_string()))
        } else {
            // The other name of a root (the bare root, or `www` when the
            // apex is the main address) redirects to it, path kept.
            HostRecord::redirect(main.clone())
        };
        desired
            .routes
            .insert(host_key(host), json(&record.encode()));
    }
    let on_domain = |id: &Option<String>| id.as_deref() == Some(domain.id.as_str());
    paths.add(
        desired,
        main,
        hsts,
        links.iter().filter(|l| on_domain(&l.domain_id)),
        mounts.iter().filter(|m| on_domain(&m.domain_id)),
    );
    debug_assert!(
        desired.routes.len() > before,
        "a published domain has at least its host record"
    );
}

fn target(
    desired: &mut Desired,
    columns: &TargetColumns,
    pages: &HashMap<String, pages::PageRow>,
) -> Option<Target> {
    if let Some(page) = columns.page_id.as_ref().and_then(|id| pages.get(id)) {
        return desired.page(page);
    }
    columns
        .url
        .as_ref()
        .map(|url| Target::External { url: url.clone() })
}

/// What a host's path records are built from.
struct Paths<'a> {
    account_id: &'a str,
    pages: &'a HashMap<String, pages::PageRow>,
    products: &'a HashMap<String, products::ProductRow>,
}

impl Paths<'_> {
    /// One path record per first segment, holding the pages and mounts
    /// under it. A mount whose product was removed is left out (its path
    /// answers with the host's 404). Records that can proxy name the
    /// account; page-only records stay lean.
    fn add<'r>(
        &self,
        desired: &mut Desired,
        host: &Hostname,
        hsts: Option<u32>,
        links: impl Iterator<Item = &'r links::LinkRow>,
        mounts: impl Iterator<Item = &'r mounts::MountRow>,
    ) {
        let mut records: BTreeMap<String, (Vec<PathEntry>, bool)> = BTreeMap::new();
        let mut put = |path: &LinkPath, prefix: bool, target: Target| {
            let origin = matches!(target, Target::Origin { .. });
            let (entries, proxies) = records.entry(path_key(host, &path.first())).or_default();
            entries.push(PathEntry::at(path, prefix, target));
            *proxies |= origin;
        };
        for link in links {
            let (Ok(path), Some(page)) =
                (LinkPath::parse(&link.slug), self.pages.get(&link.page_id))
            else {
                continue;
            };
            if let Some(target) = desired.page(page) {
                put(&path, false, target);
            }
        }
        for mount in mounts {
            let Ok(path) = LinkPath::parse(&mount.path) else {
                continue;
            };
            let origin_path = match &mount.product_id {
                Some(id) => self.products.get(id).map(|p| p.origin_path.clone()),
                None => mount.origin_path.clone(),
            };
            if let Some(origin_path) = origin_path {
                let target = Target::Origin {
                    path: origin_path,
                    mount: Some(mount.id.clone()),
                };
                put(&path, mount.prefix != 0, target);
            }
        }
        for (key, (mut entries, proxies)) in records {
            // The API keeps a segment within the bound; the sort makes the
            // value independent of the order rows were added in.
            entries.sort_by(|a, b| (&a.rest, a.prefix).cmp(&(&b.rest, b.prefix)));
            entries.truncate(MAX_ENTRIES_PER_SEGMENT);
            let account = proxies.then(|| self.account_id.to_string());
            let record = PathRecord::with_entries(entries)
                .with_hsts(hsts)
                .with_account(account);
            desired.routes.insert(key, json(&record.encode()));
        }
    }
}

/// Recomputes every account's records and enqueues what differs: after the
/// platform domain or the HSTS max-age changed, or an upgrade changed the
/// built-in pages.
/// Returns how many outbox rows were written.
pub async fn republish_all(
    store: &crate::store::Store,
    records: &RecordSettings,
) -> Result<usize, sqlx::Error> {
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM accounts ORDER BY id")
        .fetch_all(store.pool())
        .await?;
    let mut written = 0;
    for (account_id,) in ids {
        let mut tx = store.pool().begin().await?;
        crate::store::lock_account(&mut tx, &account_id).await?;
        written += sync_account(&mut tx, records, &account_id).await?;
        tx.commit().await?;
    }
    // Every account's content refs are recorded now: collection may start.
    sqlx::query("INSERT INTO kv_content_refs_complete (id) VALUES (1) ON CONFLICT DO NOTHING")
        .execute(store.pool())
        .await?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: &str, path: &str, page_id: &str) -> links::LinkRow {
        links::LinkRow {
            id: id.into(),
            account_id: "acc_1".into(),
            page_id: page_id.into(),
            domain_id: None,
            scope: "acc_1".into(),
            slug: path.into(),
            created_at: 0,
        }
    }

    fn mount(id: &str, path: &str, prefix: bool, product_id: &str) -> mounts::MountRow {
        mounts::MountRow {
            id: id.into(),
            account_id: "acc_1".into(),
            domain_id: None,
            scope: "acc_1".into(),
            path: path.into(),
            prefix: i64::from(prefix),
            product_id: Some(product_id.into()),
            origin_path: None,
            created_at: 0,
        }
    }

    #[test]
    fn one_path_record_per_first_segment_naming_the_account_only_where_it_proxies() {
        let page = pages::PageRow {
            id: "pg_1".into(),
            account_id: "acc_1".into(),
            kind: "page".into(),
            title: "Intro".into(),
            current_revision: 1,
            created_at: 0,
            updated_at: 0,
            digest: sha256_hex(b"<h1>Intro</h1>"),
            size: 14,
        };
        let pages = HashMap::from([("pg_1".to_string(), page)]);
        let product = products::ProductRow {
            id: "prd_1".into(),
            account_id: "acc_1".into(),
            kind: "membership".into(),
            name: "Gold".into(),
            origin_path: "/memberships/42".into(),
            created_at: 0,
        };
        let products = HashMap::from([("prd_1".to_string(), product)]);
        let paths = Paths {
            account_id: "acc_1",
            pages: &pages,
            products: &products,
        };
        let host = Hostname::parse("katie.portico.test").unwrap();
        let links = [
            link("lnk_1", "courses/intro", "pg_1"),
            link("lnk_2", "offer", "pg_1"),
        ];
        let mounts = [
            mount("mnt_1", "courses", true, "prd_1"),
            // Its product is gone: left out, the host's 404 answers.
            mount("mnt_2", "courses/old", false, "prd_gone"),
        ];
        let mut desired = Desired::default();
        paths.add(&mut desired, &host, Some(60), links.iter(), mounts.iter());

        let courses = &desired.routes["v1/p/katie.portico.test/courses"];
        let record = PathRecord::decode(courses.as_bytes()).unwrap();
        assert_eq!(record.account.as_deref(), Some("acc_1"));
        assert_eq!(record.hsts, Some(60));
        let rests: Vec<(&str, bool)> = record
            .entries
            .iter()
            .map(|e| (e.rest.as_str(), e.prefix))
            .collect();
        assert_eq!(
            rests,
            [("", true), ("/intro", false)],
            "sorted, the orphan left out"
        );
        assert_eq!(
            record.entries[0].target,
            Target::Origin {
                path: "/memberships/42".into(),
                mount: Some("mnt_1".into()),
            }
        );
        // A page-only record stays lean: no account, the first shape.
        let offer = &desired.routes["v1/p/katie.portico.test/offer"];
        assert!(
            !offer.contains("account") && !offer.contains("entries"),
            "{offer}"
        );
        assert_eq!(desired.routes.len(), 2);
        assert_eq!(desired.content.len(), 1, "the page's content, once");
    }
}
