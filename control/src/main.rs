//! `portico-control serve | migrate | republish | doctor | sweep-certificates |
//! domain-connect`.
//! Settings: control/README.md.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portico_control::app::{shutdown_signal, Application};
use portico_control::config::Settings;
use portico_control::publish::sync::republish_all;
use portico_control::store::Store;
use portico_control::telemetry;
use portico_control::verify::doctor::Refusal;

/// mimalloc rather than glibc's malloc: see control/Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "portico-control",
    version,
    about = "Portico's control plane: REST API, store and KV publisher"
)]
struct Cli {
    /// A TOML settings file; PORTICO_* environment variables override it.
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Applies migrations, then serves the API and runs the publisher.
    Serve,
    /// Applies the database migrations and exits.
    Migrate,
    /// Recomputes every account's KV records and queues what differs (after
    /// changing the platform domain, or an upgrade); `serve` delivers them.
    /// `--verify` compares Workers KV with the store (needs kv = cloudflare).
    Republish {
        /// List both KV namespaces and report keys missing, extra or stale
        /// against what the store says is published. Changes nothing alone.
        #[arg(long)]
        verify: bool,
        /// With --verify: queue the puts and deletes that fix the drift found.
        #[arg(long, requires = "verify")]
        repair: bool,
        /// Queue every desired key of every account and every content a
        /// record names, whatever the store believes KV holds (rebuilds a
        /// wiped namespace).
        #[arg(long, conflicts_with = "repair")]
        full: bool,
        /// Print the --verify report as JSON.
        #[arg(long, requires = "verify")]
        json: bool,
    },
    /// Checks a domain's setup (DNS at its nameservers and resolvers, the
    /// root forward, CAA, DNSSEC, the DNS provider) without an account, and
    /// prints what is wrong and how to fix it. Requests no certificate.
    Doctor {
        /// The domain, as a customer would add it: `sales.example.com`,
        /// `example.com` (checked as `www.example.com` plus the root forward).
        hostname: String,
        /// The account's username: checks the CNAME names it (ownership).
        #[arg(long)]
        username: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Roots: how the bare domain reaches the platform, `forward` (the
        /// registrar forward) or `addresses` (A/AAAA at `@` →
        /// `PORTICO_APEX_ADDRESSES`).
        #[arg(long, default_value = "forward")]
        apex: String,
        /// Roots by address: `www` or `apex`, the name that serves the pages.
        #[arg(long, default_value = "www")]
        main_address: String,
    },
    /// Lists the Cloudflare custom hostnames that no domain is served at any
    /// more (a removal lost to a crash or a long outage).
    SweepCertificates {
        /// Delete them too.
        #[arg(long)]
        delete: bool,
    },
    /// What a platform hands to DNS providers to onboard for Domain Connect.
    #[command(subcommand)]
    DomainConnect(DomainConnectCommand),
}

#[derive(Subcommand)]
enum DomainConnectCommand {
    /// Prints a template (`subdomain` or `root`) in the standard's JSON
    /// format, with this platform's provider id and domains.
    Template {
        #[arg(value_parser = ["subdomain", "root"])]
        service: String,
    },
    /// Prints the TXT records that publish the signing key's public half
    /// (needs domain_connect_key_file), one `name TXT "value"` a line.
    KeyRecords,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format, &settings.log_filter);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve => {
                if settings.dev_clock_offset_ms != 0 {
                    tracing::warn!(
                        offset_ms = settings.dev_clock_offset_ms,
                        "development clock: the lifecycle's time (deadlines, grace periods, events) is shifted"
                    );
                }
                let app = Application::build(&settings).await?;
                app.run_until_stopped(shutdown_signal()).await
            }
            Command::Migrate => {
                let store = Store::connect(&settings.database_url, 1)
                    .await
                    .context("cannot open the database")?;
                store
                    .migrate()
                    .await
                    .context("cannot apply the migrations")?;
                store.close().await;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Doctor {
                hostname,
                username,
                json,
                apex,
                main_address,
            } => {
                let result = doctor(
                    &settings,
                    &hostname,
                    username.as_deref(),
                    (&apex, &main_address),
                    json,
                )
                .await;
                match result {
                    Err(err) if json => {
                        // Refused input, or a failure: JSON on stdout as
                        // for a report, never plain text.
                        // Exit 2: refused input; 1: anything else.
                        let (refusal, status) = match err.downcast::<Refusal>() {
                            Ok(refusal) => (refusal, 2),
                            Err(err) => (
                                Refusal {
                                    code: "doctor_failed",
                                    message: format!("{err:#}"),
                                },
                                1,
                            ),
                        };
                        println!("{}", refusal.to_json());
                        std::process::exit(status);
                    }
                    other => other,
                }
            }
            Command::SweepCertificates { delete } => sweep_certificates(&settings, delete).await,
            Command::DomainConnect(command) => domain_connect(&settings, command),
            Command::Republish {
                verify,
                repair,
                full,
                json,
            } => {
                let store = Store::connect(&settings.database_url, 1)
                    .await
                    .context("cannot open the database")?;
                store
                    .migrate()
                    .await
                    .context("cannot apply the migrations")?;
                let result = republish(&settings, &store, verify, repair, full, json).await;
                store.close().await;
                result
            }
        }
    })
}

/// `republish [--verify [--repair] [--json]] [--full]`.
async fn republish(
    settings: &Settings,
    store: &Store,
    verify: bool,
    repair: bool,
    full: bool,
    json: bool,
) -> anyhow::Result<()> {
    use portico_control::publish::budgeted::within_budget;
    use portico_control::publish::drift;
    use portico_control::publish::kv_cloudflare::CloudflareKv;
    let records = portico_control::publish::sync::RecordSettings::from_settings(settings);
    let mut written = 0;
    if verify {
        let backend = CloudflareKv::from_settings(&settings.kv)
            .map_err(anyhow::Error::msg)?
            .context("kv = none: there is no KV to verify")?;
        // Listing takes from the budget the running replicas share.
        let backend = within_budget(settings, store, std::sync::Arc::new(backend));
        let report = drift::observe(store, backend.as_ref()).await?;
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.render());
        }
        if repair && !report.is_clean() {
            written += drift::repair(store, &records, &report).await?;
        }
    }
    if full {
        written += drift::rewrite_all(store, &records).await?;
    } else if !verify {
        written += republish_all(store, &records).await?;
    }
    tracing::info!(
        outbox_rows = written,
        "republished: a running serve delivers the changes"
    );
    Ok(())
}

/// `sweep-certificates`: one line per orphaned custom hostname
/// (`hostname<TAB>status<TAB>id`), then what was done.
async fn sweep_certificates(settings: &Settings, delete: bool) -> anyhow::Result<()> {
    use portico_control::certs::sweep::sweep;
    use portico_control::certs::Certificates;
    use portico_control::cloudflare_api::budget::CallBudget;
    use portico_control::config::CertificateProvider;

    if settings.certificate_provider == CertificateProvider::None {
        println!("certificate_provider = none: there are no custom hostnames to sweep");
        return Ok(());
    }
    let store = Store::connect(&settings.database_url, 1)
        .await
        .context("cannot open the database")?;
    store
        .migrate()
        .await
        .context("cannot apply the migrations")?;
    // Within the budget the running replicas share.
    let budget = CallBudget::new(store.clone(), settings.cloudflare_api_budget);
    let certificates = Certificates::from_settings(
        &settings.certificate_provider,
        budget,
        settings.cloudflare_paged_reads,
    )
    .map_err(anyhow::Error::msg)?;
    let orphans = sweep(&store, &certificates, delete).await;
    store.close().await;
    let orphans = orphans?;
    for orphan in &orphans {
        println!("{}\t{}\t{}", orphan.hostname, orphan.status, orphan.id);
    }
    match (orphans.len(), delete) {
        (0, _) => println!("every custom hostname belongs to a domain"),
        (n, true) => println!("deleted {n} custom hostname(s) without a domain"),
        (n, false) => println!(
            "{n} custom hostname(s) without a domain; run again with --delete to delete them"
        ),
    }
    Ok(())
}

/// `doctor`: one verification, rendered for a person or as JSON.
async fn doctor(
    settings: &Settings,
    hostname: &str,
    username: Option<&str>,
    (apex, main_address): (&str, &str),
    json: bool,
) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    use portico_control::certs::Certificates;
    use portico_control::verify::{Subject, Verifier};

    let (integration, username) = portico_control::verify::doctor::accept(
        hostname,
        username,
        &settings.platform_domain,
        settings.allow_test_domains,
    )?;
    let integration = portico_control::verify::doctor::with_apex(
        integration,
        apex,
        main_address,
        &settings.verify.apex_addresses,
    )?;
    let verifier = Verifier::new(
        settings.verify.clone(),
        settings.platform_domain.clone(),
        Certificates::None,
    )
    .map_err(anyhow::Error::msg)?;
    let report = verifier
        .verify(
            &Subject {
                integration,
                username,
                ownership_token: None,
                owner: None,
            },
            false,
            portico_control::store::now_ms(),
        )
        .await;
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&report)?)
    } else {
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        report.render(colour)
    };
    // A closed pipe (`doctor … | head`) is not an error.
    let mut out = std::io::stdout().lock();
    match std::io::Write::write_all(&mut out, text.as_bytes()) {
        Err(err) if err.kind() != std::io::ErrorKind::BrokenPipe => Err(err.into()),
        _ => Ok(()),
    }
}

/// `domain-connect template|key-records`: prints to stdout.
fn domain_connect(settings: &Settings, command: DomainConnectCommand) -> anyhow::Result<()> {
    use portico_control::domain_connect::template::{for_platform, Service};
    let configured = settings.domain_connect.as_ref();
    match command {
        DomainConnectCommand::Template { service } => {
            let service = Service::from_id(&service).context("unknown service")?;
            let provider = match configured {
                Some(dc) => dc.provider.clone(),
                None => portico_control::domain_connect::template::Provider::of_platform(
                    &settings.platform_domain,
                ),
            };
            println!("{:#}", for_platform(service, &provider));
        }
        DomainConnectCommand::KeyRecords => {
            let dc = configured.context(
                "domain_connect_key_file is not set (PORTICO_DOMAIN_CONNECT_KEY_FILE): \
                 create a key with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dc-key.pem`",
            )?;
            for value in dc.key.public_key_records() {
                println!("{} TXT \"{value}\"", dc.key_record_name());
            }
        }
    }
    Ok(())
}
