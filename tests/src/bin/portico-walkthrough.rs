//! The customer story, told step by step against a running local stack
//! (`scripts/dev`): `scripts/walkthrough` runs it. Through the public API and
//! the edge only, plus the local DNS provider's API where the customer would
//! click in their DNS provider's and registrar's pages.
//!
//! Runs again and again: the account of an earlier run (kept in
//! `--state`, `.portico/walkthrough.json`) is reused, its domains and pages
//! removed, and the story's DNS records and forward removed first.
//!
//! `--measure [--rounds N] [--age SECS]` measures the timings instead (see
//! `portico_tests::measure`).

use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use portico_tests::client::{text, Account, Endpoints, StackClient};
use portico_tests::measure::{self, MeasureOptions, MEASURE_ZONE};
use portico_tests::story::{self, Cast, Narrator};
use portico_tests::{repo_root, Error, Result};

const USAGE: &str =
    "usage: portico-walkthrough [--api URL] [--edge URL] [--dns-admin URL] [--forwarder URL] \
[--admin-token TOKEN] [--username NAME] [--state FILE] [--measure [--rounds N] [--age SECS]]

Defaults: the ports scripts/dev uses (PORTICO_API_PORT 8080, PORTICO_EDGE_PORT 8787,
PORTICO_DNS_ADMIN_PORT 8053, PORTICO_FORWARD_PORT 8081 on 127.0.0.1) and the admin
token in .portico/admin-token.";

struct Options {
    endpoints: Endpoints,
    username: String,
    state: PathBuf,
    measure: Option<MeasureOptions>,
}

fn port_url(variable: &str, default: u16) -> String {
    let port = std::env::var(variable)
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(default);
    format!("http://127.0.0.1:{port}")
}

fn parse_options() -> Result<Options> {
    let mut endpoints = Endpoints {
        api: port_url("PORTICO_API_PORT", 8080),
        edge: port_url("PORTICO_EDGE_PORT", 8787),
        dns_admin: port_url("PORTICO_DNS_ADMIN_PORT", 8053),
        forwarder: port_url("PORTICO_FORWARD_PORT", 8081),
        admin_token: String::new(),
        platform_domain: std::env::var("PORTICO_PLATFORM_DOMAIN")
            .unwrap_or_else(|_| "portico.test".into()),
    };
    let mut username = "demo".to_string();
    let mut state = repo_root().join(".portico/walkthrough.json");
    let mut measure = false;
    let mut rounds = 5;
    let mut age = 0;
    let mut admin_token = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| Error::msg(format!("{arg} needs a value\n{USAGE}")))
        };
        match arg.as_str() {
            "--api" => endpoints.api = value()?,
            "--edge" => endpoints.edge = value()?,
            "--dns-admin" => endpoints.dns_admin = value()?,
            "--forwarder" => endpoints.forwarder = value()?,
            "--admin-token" => admin_token = Some(value()?),
            "--username" => username = value()?,
            "--state" => state = PathBuf::from(value()?),
            "--measure" => measure = true,
            "--rounds" => {
                rounds = value()?
                    .parse()
                    .map_err(|_| Error::msg("--rounds: a number"))?
            }
            "--age" => {
                age = value()?
                    .parse()
                    .map_err(|_| Error::msg("--age: a number of seconds"))?
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(Error::msg(format!("unknown argument {other}\n{USAGE}"))),
        }
    }
    endpoints.admin_token = match admin_token {
        Some(token) => token,
        None => {
            let file = repo_root().join(".portico/admin-token");
            std::fs::read_to_string(&file)
                .map(|t| t.trim().to_string())
                .map_err(|e| {
                    Error::msg(format!(
                        "{}: {e} (start the stack with scripts/dev, or pass --admin-token)",
                        file.display()
                    ))
                })?
        }
    };
    Ok(Options {
        endpoints,
        username,
        state,
        measure: measure.then_some(MeasureOptions {
            rounds,
            age: Duration::from_secs(age),
        }),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(err) = walkthrough().await {
        eprintln!("\nwalkthrough failed: {err}");
        std::process::exit(1);
    }
}

async fn walkthrough() -> Result<()> {
    let options = parse_options()?;
    let client = StackClient::new(options.endpoints.clone())?;
    for (part, url) in [
        ("control plane", format!("{}/readyz", options.endpoints.api)),
        (
            "DNS provider",
            format!("{}/api/records", options.endpoints.dns_admin),
        ),
    ] {
        reqwest::Client::builder()
            .no_proxy()
            .build()?
            .get(&url)
            .send()
            .await
            .map_err(|e| {
                Error::msg(format!(
                    "the {part} does not answer at {url} ({e}): is scripts/dev running?"
                ))
            })?;
    }
    let cast = Cast {
        username: options.username.clone(),
        ..Cast::default()
    };
    let existing = reuse_account(&client, &options).await?;
    clean_dns(&client, &cast).await?;
    let mut out = Narrator::new(false);
    println!(
        "The customer story on the local stack: API {}, edge {}, DNS provider {}",
        options.endpoints.api, options.endpoints.edge, options.endpoints.dns_admin
    );
    let account = story::open_account(&client, &cast, existing, &mut out).await?;
    // Remembered before anything can fail, so that a rerun reuses it.
    save_state(&options, &account)?;
    match &options.measure {
        None => {
            story::run(&client, &cast, &account, &mut out).await?;
            println!(
                "\nDone. Play the customer's DNS provider yourself at {}/ ;",
                options.endpoints.dns_admin
            );
            println!(
                "the edge serves every connected domain: curl -i -H 'Host: www.{}' {}/",
                cast.root, options.endpoints.edge
            );
        }
        Some(measure_options) => {
            measure::run(&client, &account, measure_options, &mut out).await?;
        }
    }
    Ok(())
}

/// The account of an earlier run, emptied of its domains and pages; `None`
/// if there is none to reuse (then the username must be free).
async fn reuse_account(client: &StackClient, options: &Options) -> Result<Option<Account>> {
    let Ok(saved) = std::fs::read_to_string(&options.state) else {
        return Ok(None);
    };
    let saved: Value = serde_json::from_str(&saved).unwrap_or(Value::Null);
    let (Ok(id), Ok(token), Ok(username)) = (
        text(&saved, "account_id"),
        text(&saved, "token"),
        text(&saved, "username"),
    ) else {
        return Ok(None);
    };
    if username != options.username {
        return Ok(None);
    }
    let me = client.api(Method::GET, "/v1/account", &token, None).await?;
    if me.status != 200 || me.body["username"] != username.as_str() {
        // Another database since (the stack was reset): start afresh.
        return Ok(None);
    }
    let account = Account {
        id,
        username,
        token,
    };
    // Each pass removes the first page; the next pass lists what is left.
    loop {
        let domains = client
            .api(Method::GET, "/v1/domains", &account.token, None)
            .await?
            .expect(200, "listing the earlier run's domains")?;
        for domain in domains["domains"].as_array().into_iter().flatten() {
            let id = text(domain, "id")?;
            client
                .api(
                    Method::DELETE,
                    &format!("/v1/domains/{id}"),
                    &account.token,
                    None,
                )
                .await?
                .expect(204, "removing an earlier run's domain")?;
        }
        if domains["next_cursor"].is_null() {
            break;
        }
    }
    // Each pass removes the first page; the next pass lists what is left.
    loop {
        let pages = client
            .api(Method::GET, "/v1/pages", &account.token, None)
            .await?
            .expect(200, "listing the earlier run's pages")?;
        for page in pages["pages"].as_array().into_iter().flatten() {
            let id = text(page, "id")?;
            client
                .api(
                    Method::DELETE,
                    &format!("/v1/pages/{id}"),
                    &account.token,
                    None,
                )
                .await?
                .expect(204, "removing an earlier run's page")?;
        }
        if pages["next_cursor"].is_null() {
            break;
        }
    }
    Ok(Some(account))
}

/// Removes what an earlier run created at the DNS provider and registrar.
async fn clean_dns(client: &StackClient, cast: &Cast) -> Result<()> {
    let records = client
        .dns(Method::GET, "/api/records", None)
        .await?
        .expect(200, "listing the DNS provider's records")?;
    for record in records["records"].as_array().into_iter().flatten() {
        let name = text(record, "name")?;
        let ours = [cast.subdomain.as_str(), cast.root.as_str()]
            .iter()
            .any(|zone| name == *zone || name.ends_with(&format!(".{zone}")))
            || name.ends_with(&format!(".{MEASURE_ZONE}"));
        if ours {
            client.delete_records(&name, &text(record, "type")?).await?;
        }
    }
    client.delete_forward(&cast.root).await?;
    Ok(())
}

fn save_state(options: &Options, account: &Account) -> Result<()> {
    if let Some(dir) = options.state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let state = json!({
        "account_id": account.id,
        "username": account.username,
        "token": account.token,
    });
    std::fs::write(&options.state, serde_json::to_vec_pretty(&state)?)?;
    Ok(())
}
