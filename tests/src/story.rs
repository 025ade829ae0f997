//! The whole customer story, told over the wire against a running local
//! stack: the walkthrough (`scripts/walkthrough`, against `scripts/dev`)
//! prints it, the end-to-end test (`tests/tests/customer_story.rs`) runs the
//! very same steps. Each step checks what it expects and fails with what it
//! saw otherwise; the timings it measures come back in [`Timings`].

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use crate::client::{text, Account, StackClient};
use crate::wait::{check, edge_until, verify, verify_until_connected, wait_connected};
use crate::{Error, Result};

/// Prints the story as it goes (or not).
pub struct Narrator {
    pub quiet: bool,
    step: usize,
}

impl Narrator {
    pub fn new(quiet: bool) -> Narrator {
        Narrator { quiet, step: 0 }
    }

    pub fn step(&mut self, title: &str) {
        self.step += 1;
        if !self.quiet {
            println!("\n{}. {title}", self.step);
        }
    }

    pub fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            for line in line.as_ref().lines() {
                println!("   {line}");
            }
        }
    }
}

/// Who and what the story is about.
#[derive(Debug, Clone)]
pub struct Cast {
    pub username: String,
    /// A subdomain integration, connected by the background checks.
    pub subdomain: String,
    /// A root integration (served at `www.`), connected on demand.
    pub root: String,
}

impl Default for Cast {
    fn default() -> Cast {
        Cast {
            username: "demo".into(),
            subdomain: "sales.shop.test".into(),
            root: "shop.test".into(),
        }
    }
}

/// What the story measured.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Record created → `connected`, found by the background schedule.
    pub background_connect: Duration,
    /// Record created → `connected`, checking on demand (`POST …/verify`).
    pub on_demand_connect: Duration,
    /// A page changed in the control plane → the edge serves the new HTML.
    pub change_to_edge: Duration,
    /// A domain removed → the edge no longer serves it.
    pub removal_to_edge: Duration,
    /// "Connect automatically" clicked → `connected` (Domain Connect: the
    /// provider's consent page, its redirect back, the check on return);
    /// `None` when the platform did not offer it.
    pub domain_connect: Option<Duration>,
}

/// The pages the story makes.
struct Pages {
    home: String,
    offer: String,
    not_found: String,
}

/// Step 1: the platform creates the account (or `existing`, the emptied
/// account of an earlier walkthrough, is reused).
pub async fn open_account(
    client: &StackClient,
    cast: &Cast,
    existing: Option<Account>,
    out: &mut Narrator,
) -> Result<Account> {
    let account = match existing {
        Some(account) => {
            out.step(&format!(
                "The account `{}` exists from an earlier walkthrough: reused, emptied",
                cast.username
            ));
            account
        }
        None => {
            out.step(&format!(
                "The platform creates the account `{}`",
                cast.username
            ));
            client.create_account(&cast.username).await?
        }
    };
    out.say(format!(
        "account {} with an API token; its platform host is {}.{}",
        account.id, cast.username, client.endpoints.platform_domain
    ));
    Ok(account)
}

/// The rest of the story, from an empty account to a removed domain.
pub async fn run(
    client: &StackClient,
    cast: &Cast,
    account: &Account,
    out: &mut Narrator,
) -> Result<Timings> {
    let account = account.clone();
    let mut timings = Timings::default();

    out.step("The customer makes a few pages");
    let pages = make_pages(client, &account, out).await?;

    out.step(&format!(
        "The customer adds {} (a subdomain) and {} (a root)",
        cast.subdomain, cast.root
    ));
    let sub = add_domain(client, &account, &cast.subdomain, out).await?;
    let root = add_domain(client, &account, &cast.root, out).await?;
    let sub_id = text(&sub, "id")?;
    let root_id = text(&root, "id")?;
    let www = text(&root, "served_host")?;

    out.step(
        "Their zone at the DNS provider already exists (mail records), without Portico's records",
    );
    client
        .create_record(&cast.root, "TXT", "v=spf1 -all")
        .await?;
    out.say(format!("{} TXT \"v=spf1 -all\"", cast.root));
    let first = verify(client, &account, &sub_id).await?;
    expect_status(&first, "processing")?;
    let cname = check(&first["report"], "cname")?;
    if cname["state"] != "fail" {
        return Err(Error::msg(format!(
            "with no record yet the cname check should fail: {cname}"
        )));
    }
    out.say(format!(
        "checked now: {} is still processing — cname: {}",
        cast.subdomain,
        cname["cause"]
            .as_str()
            .or(cname["found"].as_str())
            .unwrap_or("")
    ));
    if let Some(fix) = cname["fix"].as_str() {
        out.say(format!("fix: {fix}"));
    }

    out.step(&format!(
        "The customer creates the record of {} at their DNS provider, and waits",
        cast.subdomain
    ));
    let sub_created = create_records(client, &sub, out).await?;
    timings.background_connect = wait_connected(client, &account, &sub_id, sub_created).await?;
    out.say(format!(
        "connected {:.1} s after the record was created, by the background checks (no one clicked anything)",
        timings.background_connect.as_secs_f64()
    ));

    out.step(&format!(
        "The customer clicks \"Connect automatically\" for {} and confirms at their DNS provider (Domain Connect)",
        cast.root
    ));
    let clicked = Instant::now();
    match connect_automatically(client, &account, &root_id, out).await? {
        Some(connected) => {
            timings.on_demand_connect = connected.duration_since(clicked);
            timings.domain_connect = Some(timings.on_demand_connect);
            out.say(format!(
                "connected {:.1} s after the click, with 2 clicks and nothing typed",
                timings.on_demand_connect.as_secs_f64()
            ));
        }
        None => {
            out.say("not offered: the customer creates the record and the forward, then clicks \"Check now\"");
            let root_created = create_records(client, &root, out).await?;
            timings.on_demand_connect =
                verify_until_connected(client, &account, &root_id, root_created).await?;
            out.say(format!(
                "connected {:.1} s after the records were created",
                timings.on_demand_connect.as_secs_f64()
            ));
        }
    }
    let root_report = verify_report(client, &account, &root_id).await?;
    if let Ok(forward) = check(&root_report, "root_forward") {
        out.say(format!(
            "root_forward: {} — {}",
            forward["state"].as_str().unwrap_or(""),
            forward["found"].as_str().unwrap_or("")
        ));
        if forward["state"] != "pass" {
            return Err(Error::msg(format!(
                "the root forward should pass: {forward}"
            )));
        }
    }

    out.step("The customer sets the Index and 404 pages and links pages at paths");
    for (id, host) in [(&sub_id, &cast.subdomain), (&root_id, &www)] {
        set_pages(client, &account, id, &pages).await?;
        client
            .api(
                Method::POST,
                "/v1/links",
                &account.token,
                Some(json!({ "page_id": pages.offer, "domain_id": id, "path": "offer" })),
            )
            .await?
            .expect(201, "linking the offer page")?;
        out.say(format!(
            "{host}: Index = Home, 404 = Not found, /offer = Spring offer"
        ));
    }

    out.step("A visitor opens the domains through the edge");
    for host in [cast.subdomain.as_str(), www.as_str()] {
        let index = edge_until(client, host, "/", |p| {
            p.status == 200 && p.body.contains("Welcome to the shop")
        })
        .await?;
        out.say(format!("http://{host}/        → {} Home", index.status));
        let offer = edge_until(client, host, "/offer", |p| {
            p.status == 200 && p.body.contains("Spring offer")
        })
        .await?;
        out.say(format!(
            "http://{host}/offer   → {} Spring offer",
            offer.status
        ));
        let nope = edge_until(client, host, "/nope", |p| {
            p.status == 404 && p.body.contains("We lost that page")
        })
        .await?;
        out.say(format!(
            "http://{host}/nope    → {} the 404 page",
            nope.status
        ));
    }
    let forwarded = client.forwarder_get(&cast.root, "/offer?ref=mail").await?;
    let expected = format!("https://{www}/offer?ref=mail");
    if forwarded.status != 301 || forwarded.location.as_deref() != Some(expected.as_str()) {
        return Err(Error::msg(format!(
            "the registrar should forward http://{}/offer?ref=mail with 301 to {expected}: got {} {:?}",
            cast.root, forwarded.status, forwarded.location
        )));
    }
    out.say(format!(
        "http://{}/offer?ref=mail → 301 {expected} (the registrar's forward)",
        cast.root
    ));
    let landed = edge_until(client, &www, "/offer?ref=mail", |p| {
        p.status == 200 && p.body.contains("Spring offer")
    })
    .await?;
    out.say(format!(
        "   … which the edge serves: {} Spring offer",
        landed.status
    ));
    let bare = edge_until(client, &cast.root, "/offer", |p| p.status == 301).await?;
    out.say(format!(
        "http://{}/offer at the edge itself → 301 {}",
        cast.root,
        bare.location.unwrap_or_default()
    ));

    out.step("The customer changes the offer page; the edge serves it without any restart");
    let changed = Instant::now();
    client
        .api(
            Method::PATCH,
            &format!("/v1/pages/{}", pages.offer),
            &account.token,
            Some(json!({ "content": "<h1>Summer offer</h1><p>Now 30 % off.</p>" })),
        )
        .await?
        .expect(200, "changing the offer page")?;
    edge_until(client, &cast.subdomain, "/offer", |p| {
        p.body.contains("Summer offer")
    })
    .await?;
    timings.change_to_edge = changed.elapsed();
    out.say(format!(
        "http://{}/offer shows \"Summer offer\" {:.0} ms after the change",
        cast.subdomain,
        timings.change_to_edge.as_secs_f64() * 1000.0
    ));

    out.step(&format!("The customer removes {}", cast.subdomain));
    let removed = Instant::now();
    client
        .api(
            Method::DELETE,
            &format!("/v1/domains/{sub_id}"),
            &account.token,
            None,
        )
        .await?
        .expect(204, "removing the domain")?;
    let gone = edge_until(client, &cast.subdomain, "/offer", |p| {
        p.status == 404 && !p.body.contains("offer")
    })
    .await?;
    timings.removal_to_edge = removed.elapsed();
    out.say(format!(
        "http://{}/offer → {} (not connected) {:.0} ms after the removal; {} is still served",
        cast.subdomain,
        gone.status,
        timings.removal_to_edge.as_secs_f64() * 1000.0,
        www
    ));
    edge_until(client, &www, "/offer", |p| p.status == 200).await?;

    out.step("Timings");
    out.say(format!(
        "record → connected, background: {:.1} s (goal < 60 s)\n\
         record → connected, on demand:  {:.1} s (goal < 10 s){}\n\
         change → edge:                  {:.0} ms (goal < 1,000 ms)\n\
         removal → edge:                 {:.0} ms",
        timings.background_connect.as_secs_f64(),
        timings.on_demand_connect.as_secs_f64(),
        if timings.domain_connect.is_some() {
            " (Domain Connect: from the click)"
        } else {
            ""
        },
        timings.change_to_edge.as_secs_f64() * 1000.0,
        timings.removal_to_edge.as_secs_f64() * 1000.0,
    ));
    Ok(timings)
}

async fn make_pages(client: &StackClient, account: &Account, out: &mut Narrator) -> Result<Pages> {
    let mut ids = Vec::new();
    for (title, content) in [
        ("Home", "<h1>Welcome to the shop</h1>"),
        (
            "Spring offer",
            "<h1>Spring offer</h1><p>20 % off this week.</p>",
        ),
        (
            "Not found",
            "<h1>We lost that page</h1><p>Try the <a href=\"/\">home page</a>.</p>",
        ),
    ] {
        let page = client
            .api(
                Method::POST,
                "/v1/pages",
                &account.token,
                Some(json!({ "kind": "page", "title": title, "content": content })),
            )
            .await?
            .expect(201, &format!("creating the page {title}"))?;
        out.say(format!("page \"{title}\" ({})", text(&page, "id")?));
        ids.push(text(&page, "id")?);
    }
    let mut ids = ids.into_iter();
    let mut next = || {
        ids.next()
            .ok_or_else(|| Error::msg("three pages were made"))
    };
    Ok(Pages {
        home: next()?,
        offer: next()?,
        not_found: next()?,
    })
}

async fn add_domain(
    client: &StackClient,
    account: &Account,
    hostname: &str,
    out: &mut Narrator,
) -> Result<Value> {
    let domain = client
        .api(
            Method::POST,
            "/v1/domains",
            &account.token,
            Some(json!({ "hostname": hostname })),
        )
        .await?
        .expect(201, &format!("adding {hostname}"))?;
    expect_status(&domain, "processing")?;
    out.say(format!(
        "{hostname}: {} integration served at {}, status {}, connect by {}",
        domain["kind"].as_str().unwrap_or(""),
        domain["served_host"].as_str().unwrap_or(""),
        domain["status"].as_str().unwrap_or(""),
        domain["connect_deadline"].as_str().unwrap_or("")
    ));
    for record in domain["dns_records"].as_array().into_iter().flatten() {
        out.say(format!(
            "  create: {} {} → {}",
            record["name"].as_str().unwrap_or(""),
            record["type"].as_str().unwrap_or(""),
            record["value"].as_str().unwrap_or("")
        ));
    }
    if let Some(forward) = domain["root_forward"].as_object() {
        out.say(format!(
            "  forward at the registrar: {} → {} ({}, path kept: {}, redirect www: {})",
            forward["from"].as_str().unwrap_or(""),
            forward["to"].as_str().unwrap_or(""),
            forward["status"],
            forward["forward_path"],
            forward["redirect_www"]
        ));
    }
    Ok(domain)
}

/// Creates what the API said to create, exactly; returns when the last was created.
pub(crate) async fn create_records(
    client: &StackClient,
    domain: &Value,
    out: &mut Narrator,
) -> Result<Instant> {
    for record in domain["dns_records"].as_array().into_iter().flatten() {
        let name = text(record, "name")?;
        let kind = text(record, "type")?;
        let value = text(record, "value")?;
        let created = client.create_record(&name, &kind, &value).await?;
        out.say(format!(
            "DNS provider: {} {} {} (TTL {})",
            created["name"].as_str().unwrap_or(""),
            created["type"].as_str().unwrap_or(""),
            created["value"].as_str().unwrap_or(""),
            created["ttl"]
        ));
    }
    if let Some(forward) = domain["root_forward"].as_object() {
        let from = forward
            .get("from")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::msg(format!("no root_forward.from in {domain}")))?;
        let host = from
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .trim_end_matches('/');
        let to = forward
            .get("to")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::msg(format!("no root_forward.to in {domain}")))?;
        client.forward(host, to).await?;
        out.say(format!(
            "registrar: forward {host} → {to} (301, path kept); {host} A 127.0.0.1"
        ));
    }
    Ok(Instant::now())
}

/// Domain Connect as the dashboard does it: ask for the offer, open the
/// provider's consent page, click Connect there, follow the redirect back
/// (the return checks the domain at once). `None`: not offered.
pub(crate) async fn connect_automatically(
    client: &StackClient,
    account: &Account,
    domain_id: &str,
    out: &mut Narrator,
) -> Result<Option<Instant>> {
    let offer = client
        .api(
            Method::POST,
            &format!("/v1/domains/{domain_id}/domain-connect"),
            &account.token,
            None,
        )
        .await?
        .expect(200, "asking for Domain Connect")?;
    if offer["offered"] != true {
        out.say(format!(
            "Domain Connect: {}",
            offer["reason"]["message"].as_str().unwrap_or("not offered")
        ));
        return Ok(None);
    }
    let apply_url = text(&offer, "apply_url")?;
    out.say(format!(
        "dashboard: \"Connect automatically\" → {}'s consent page",
        offer["provider_name"]
            .as_str()
            .unwrap_or("the DNS provider")
    ));
    let consent = client.browse(&apply_url, None).await?;
    if consent.status != 200 {
        return Err(Error::msg(format!(
            "the provider's consent page: {} {}",
            consent.status, consent.body
        )));
    }
    let back = client.browse(&apply_url, Some("action=connect")).await?;
    let return_url = back
        .location
        .filter(|_| back.status == 303)
        .ok_or_else(|| {
            Error::msg(format!(
                "Connect at the provider: {} {}",
                back.status, back.body
            ))
        })?;
    out.say("DNS provider: \"Connect\" → records written, back to the platform");
    let landed = client.browse(&return_url, None).await?;
    if landed.status != 303 {
        return Err(Error::msg(format!(
            "the return: {} {}",
            landed.status, landed.body
        )));
    }
    out.say(format!(
        "return: checked at once, then to {}",
        landed.location.unwrap_or_default()
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let domain = client
            .api(
                Method::GET,
                &format!("/v1/domains/{domain_id}"),
                &account.token,
                None,
            )
            .await?
            .expect(200, "reading the domain")?;
        if domain["status"] == "connected" {
            return Ok(Some(Instant::now()));
        }
        if Instant::now() > deadline {
            return Err(Error::msg(format!(
                "not connected after Domain Connect: {domain}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn set_pages(
    client: &StackClient,
    account: &Account,
    domain_id: &str,
    pages: &Pages,
) -> Result<()> {
    client
        .api(
            Method::PUT,
            &format!("/v1/domains/{domain_id}/settings"),
            &account.token,
            Some(json!({
                "index": { "type": "page", "page_id": pages.home },
                "not_found": { "type": "page", "page_id": pages.not_found },
            })),
        )
        .await?
        .expect(200, "setting the Index and 404 pages")?;
    Ok(())
}

async fn verify_report(client: &StackClient, account: &Account, domain_id: &str) -> Result<Value> {
    Ok(verify(client, account, domain_id).await?["report"].clone())
}

fn expect_status(domain: &Value, status: &str) -> Result<()> {
    if domain["status"] == status {
        Ok(())
    } else {
        Err(Error::msg(format!("expected status {status}: {domain}")))
    }
}
