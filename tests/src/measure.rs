//! `scripts/walkthrough --measure`: the three timings the local stack
//! promises, each over several rounds, against a running stack:
//!
//! - record created → `connected` when the customer clicks "Check now"
//!   (`POST …/verify` until it says connected);
//! - record created → `connected` by the background schedule alone, for
//!   domains `age` seconds old when their record appears (the schedule
//!   backs off with a domain's age, up to 30 s between checks);
//! - a page changed in the control plane → the edge serves the new HTML;
//! - a root domain added → `connected`, with Domain Connect (the dashboard's
//!   "Connect automatically", the provider's consent page) against by hand
//!   (the records and the forward created, then "Check now"): the machine's
//!   time and the customer's actions; the customer's own time (reading,
//!   typing, switching tabs) comes on top and is not measured.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::client::{text, Account, StackClient};
use crate::story::{connect_automatically, create_records, Narrator};
use crate::wait::{edge_until, verify, verify_until_connected, wait_connected};
use crate::{Error, Result};

/// Where the measured domains live (one zone at the local DNS provider).
pub const MEASURE_ZONE: &str = "measure.test";

#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub rounds: usize,
    /// How old background-measured domains are when their record is created.
    pub age: Duration,
}

/// min / median / max of some durations.
pub fn summary(samples: &[Duration]) -> String {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    match sorted.len() {
        0 => "no samples".into(),
        n => format!(
            "min {:.0} ms, median {:.0} ms, max {:.0} ms ({n} rounds)",
            ms(sorted[0]),
            ms(sorted[n / 2]),
            ms(sorted[n - 1])
        ),
    }
}

pub async fn run(
    client: &StackClient,
    account: &Account,
    options: &MeasureOptions,
    out: &mut Narrator,
) -> Result<()> {
    let rounds = options.rounds.max(1);
    let target = format!("{}.{}", account.username, client.endpoints.platform_domain);

    out.step("On demand: record created → connected, clicking \"Check now\"");
    let mut on_demand = Vec::new();
    for round in 0..rounds {
        let host = format!("now{round}.{MEASURE_ZONE}");
        let id = add(client, account, &host).await?;
        // Checked once without the record, as a customer's first look would.
        verify(client, account, &id).await?;
        client.create_record(&host, "CNAME", &target).await?;
        let took = verify_until_connected(client, account, &id, Instant::now()).await?;
        out.say(format!("{host}: {:.0} ms", took.as_secs_f64() * 1000.0));
        on_demand.push(took);
    }

    out.step(&format!(
        "Background: record created → connected, domains {} s old, nobody clicking",
        options.age.as_secs()
    ));
    let mut domains = Vec::new();
    for round in 0..rounds {
        let host = format!("bg{round}.{MEASURE_ZONE}");
        domains.push((host.clone(), add(client, account, &host).await?));
    }
    if !options.age.is_zero() {
        out.say(format!(
            "waiting {} s for the domains to age…",
            options.age.as_secs()
        ));
        tokio::time::sleep(options.age).await;
    }
    // Records appear at moments spread evenly over one wait between checks
    // (a tenth of the domains' age, 5 to 30 s), each measured on its own.
    let period = (options.age / 10).clamp(Duration::from_secs(5), Duration::from_secs(30));
    let spread = period / rounds as u32;
    let mut tasks = Vec::new();
    for (round, (host, id)) in domains.into_iter().enumerate() {
        let client = client.clone();
        let account = account.clone();
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(spread * round as u32).await;
            client.create_record(&host, "CNAME", &target).await?;
            let took = wait_connected(&client, &account, &id, Instant::now()).await?;
            Ok::<_, Error>((host, took))
        }));
    }
    let mut background = Vec::new();
    for task in tasks {
        let (host, took) = task
            .await
            .map_err(|e| Error::msg(format!("a measurement stopped: {e}")))??;
        out.say(format!("{host}: {:.1} s", took.as_secs_f64()));
        background.push(took);
    }

    out.step("Change → edge: a page's HTML changed, until the edge serves it");
    let page = client
        .api(
            Method::POST,
            "/v1/pages",
            &account.token,
            Some(json!({ "kind": "page", "title": "Measure", "content": "<p>round none</p>" })),
        )
        .await?
        .expect(201, "creating the measured page")?;
    let page_id = text(&page, "id")?;
    client
        .api(
            Method::POST,
            "/v1/links",
            &account.token,
            Some(json!({ "page_id": page_id, "path": "measure" })),
        )
        .await?
        .expect(201, "linking the measured page")?;
    edge_until(client, &target, "/measure", |p| {
        p.body.contains("round none")
    })
    .await?;
    let mut to_edge = Vec::new();
    for round in 0..rounds.max(5) {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let marker = format!("round {round} at {stamp}");
        let changed = Instant::now();
        client
            .api(
                Method::PATCH,
                &format!("/v1/pages/{page_id}"),
                &account.token,
                Some(json!({ "content": format!("<p>{marker}</p>") })),
            )
            .await?
            .expect(200, "changing the measured page")?;
        edge_until(client, &target, "/measure", |p| p.body.contains(&marker)).await?;
        let took = changed.elapsed();
        out.say(format!(
            "round {round}: {:.0} ms",
            took.as_secs_f64() * 1000.0
        ));
        to_edge.push(took);
    }

    out.step("Root domain: added → connected, with Domain Connect and by hand");
    let (mut automatic, mut by_hand) = (Vec::new(), Vec::new());
    let mut quiet = Narrator::new(true);
    for round in 0..rounds {
        for how in ["dcroot", "byhand"] {
            let root = format!("{how}{round}.test");
            // The customer's zone exists at their provider (mail records);
            // anything of an earlier run is cleared.
            client
                .delete_records(&format!("www.{root}"), "CNAME")
                .await?;
            client.delete_forward(&root).await?;
            client.delete_records(&root, "TXT").await?;
            client.create_record(&root, "TXT", "v=spf1 -all").await?;
            let started = Instant::now();
            let domain = client
                .api(
                    Method::POST,
                    "/v1/domains",
                    &account.token,
                    Some(json!({ "hostname": root })),
                )
                .await?
                .expect(201, &format!("adding {root}"))?;
            let id = text(&domain, "id")?;
            if how == "dcroot" {
                connect_automatically(client, account, &id, &mut quiet)
                    .await?
                    .ok_or_else(|| Error::msg(format!("Domain Connect not offered for {root}")))?;
                let took = started.elapsed();
                out.say(format!(
                    "{root} (Domain Connect): {:.0} ms",
                    took.as_secs_f64() * 1000.0
                ));
                automatic.push(took);
            } else {
                create_records(client, &domain, &mut quiet).await?;
                verify_until_connected(client, account, &id, started).await?;
                let took = started.elapsed();
                out.say(format!(
                    "{root} (by hand): {:.0} ms",
                    took.as_secs_f64() * 1000.0
                ));
                by_hand.push(took);
            }
        }
    }

    out.step("Results");
    out.say(format!(
        "on demand (goal < 10 s):     {}",
        summary(&on_demand)
    ));
    out.say(format!(
        "background, {} s old (goal < 60 s): {}",
        options.age.as_secs(),
        summary(&background)
    ));
    out.say(format!(
        "change → edge (goal < 1 s):  {}",
        summary(&to_edge)
    ));
    out.say(format!(
        "root, Domain Connect: {} — 3 actions (add; \"Connect automatically\"; \"Connect\" at the provider), nothing typed but the domain",
        summary(&automatic)
    ));
    out.say(format!(
        "root, by hand:        {} — 4 actions (add; a CNAME typed at the DNS provider: name, type, value; a forward typed at the registrar: host, target, 301, path kept; \"Check now\"), machine time only",
        summary(&by_hand)
    ));
    let worst = |samples: &[Duration]| samples.iter().max().copied().unwrap_or_default();
    if worst(&on_demand) >= Duration::from_secs(10)
        || worst(&background) >= Duration::from_secs(60)
        || worst(&to_edge) >= Duration::from_secs(1)
    {
        out.say("some goal was missed: see above");
    }
    Ok(())
}

async fn add(client: &StackClient, account: &Account, host: &str) -> Result<String> {
    let domain = client
        .api(
            Method::POST,
            "/v1/domains",
            &account.token,
            Some(json!({ "hostname": host })),
        )
        .await?
        .expect(201, &format!("adding {host}"))?;
    text(&domain, "id").map_err(|e| Error::msg(format!("{host}: {e}")))
}
