//! Builds the application from settings: store (migrated), KV backend,
//! certificate provider, publisher, HTTP router, bound listener.
//! `Application::local_addr` tells tests the port they got from `127.0.0.1:0`.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::api::{self, AppState};
use crate::certs::Certificates;
use crate::clock::Clock;
use crate::cloudflare_api::budget::CallBudget;
use crate::config::Settings;
use crate::dashboard::Dashboard;
use crate::publish::kv_cloudflare::CloudflareKv;
use crate::publish::{KvBackend, NoKv, Publisher};
use crate::store::Store;
use crate::unit::Units;
use crate::webhooks::deliver::Deliverer;

/// How long shutdown waits for the publisher to finish its batch in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

pub struct Application {
    listener: TcpListener,
    state: AppState,
    publisher: Publisher,
    deliverer: Deliverer,
    dashboard: Dashboard,
}

/// The backend `settings.kv` names.
pub fn kv_backend(settings: &Settings) -> anyhow::Result<Arc<dyn KvBackend>> {
    Ok(
        match CloudflareKv::from_settings(&settings.kv).map_err(anyhow::Error::msg)? {
            Some(client) => Arc::new(client),
            None => Arc::new(NoKv),
        },
    )
}

impl Application {
    /// Connects and migrates the store, binds the listener.
    pub async fn build(settings: &Settings) -> anyhow::Result<Application> {
        let backend = kv_backend(settings)?;
        Application::build_with_backend(settings, backend).await
    }

    /// As [`Application::build`], with the KV backend given (tests).
    pub async fn build_with_backend(
        settings: &Settings,
        backend: Arc<dyn KvBackend>,
    ) -> anyhow::Result<Application> {
        settings.require_admin_token()?;
        let admin_token = match &settings.admin_token {
            Some(token) => token.clone(),
            None => {
                let mut bytes = [0u8; 24];
                rand::thread_rng().fill_bytes(&mut bytes);
                let token = format!("dev_{}", hex::encode(bytes));
                tracing::warn!(admin_token = %token, "dev mode: no admin token configured, made one up for this run");
                token
            }
        };
        let store = Store::connect(&settings.database_url, settings.database_max_connections)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database {}",
                    redact(&settings.database_url)
                )
            })?;
        store
            .migrate()
            .await
            .context("cannot apply the migrations")?;
        let wake = Arc::new(Notify::new());
        let backend = crate::publish::budgeted::within_budget(settings, &store, backend);
        let publisher = Publisher::with_settings(
            store.clone(),
            backend,
            settings.publish.clone(),
            wake.clone(),
        );
        let api_budget = CallBudget::new(store.clone(), settings.cloudflare_api_budget);
        let certificates = Certificates::from_settings(
            &settings.certificate_provider,
            api_budget.clone(),
            settings.cloudflare_paged_reads,
        )
        .map_err(anyhow::Error::msg)?;
        let verifier = crate::verify::Verifier::new(
            settings.verify.clone(),
            settings.platform_domain.clone(),
            certificates.clone(),
        )
        .map_err(anyhow::Error::msg)
        .context("cannot set up the DNS verifier")?;
        let units = Units {
            store,
            records: crate::publish::sync::RecordSettings::from_settings(settings),
            wake,
            clock: Clock::shifted(settings.dev_clock_offset_ms),
            challenge_label: settings.verify.challenge_label.clone(),
            webhooks_wake: Arc::new(Notify::new()),
        };
        let deliverer = Deliverer::new(
            units.clone(),
            settings.webhooks.clone(),
            units.webhooks_wake.clone(),
        );
        let scheduler = Arc::new(crate::lifecycle::scheduler::Scheduler::new(
            units.clone(),
            Arc::new(verifier),
        ));
        let state = AppState::new(units, &admin_token)
            .with_certificates(certificates)
            .with_verifier(scheduler)
            .with_replica(publisher.holder())
            .with_webhooks(settings.webhooks.clone())
            .with_test_domains(settings.allow_test_domains)
            .with_rate_limits(&settings.rate_limits)
            .with_quotas(settings.quotas)
            .with_domain_connect(settings.domain_connect.clone())
            .with_metrics_token(settings.metrics_token.as_deref());
        crate::metrics::metrics()
            .cloudflare_budget_limit
            .set(i64::from(settings.cloudflare_api_budget));
        crate::metrics::metrics()
            .cloudflare_kv_budget_limit
            .set(i64::from(settings.cloudflare_kv_budget));
        let listener = TcpListener::bind(settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        Ok(Application {
            listener,
            state,
            publisher,
            deliverer,
            dashboard: Dashboard::new(settings.dashboard_wasm_dir.clone()),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops taking requests, lets
    /// the publisher finish its batch in flight, and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let publisher = tokio::spawn(self.publisher.run(stop_rx.clone()));
        let deliverer = tokio::spawn(self.deliverer.run(stop_rx.clone()));
        // The verifier's scheduled checks; an unfinished check's claim
        // simply expires, so it is not waited for.
        let verifier = match &self.state.verifier {
            Some(scheduler) if scheduler.verifier.settings.scheduled => {
                Some(tokio::spawn(scheduler.clone().run(stop_rx)))
            }
            _ => None,
        };
        let store = self.state.store.clone();
        tracing::info!(address = %self.listener.local_addr()?, "serving");
        let router =
            crate::metrics::http::layer(api::app(self.state).merge(self.dashboard.router()));
        // The peer's address is what rate limits key anonymous callers by.
        let served = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop_tx.send(true);
        if let Some(verifier) = verifier {
            verifier.abort();
        }
        match tokio::time::timeout(SHUTDOWN_GRACE, publisher).await {
            Ok(_) => {}
            Err(_) => tracing::warn!("the publisher did not stop in time; its rows stay in the outbox for the next start"),
        }
        // An attempt in flight finishes (10 s at most) or its claim expires
        // and another replica sends it again.
        if tokio::time::timeout(SHUTDOWN_GRACE, deliverer)
            .await
            .is_err()
        {
            tracing::warn!(
                "webhook delivery did not stop in time; unfinished attempts are sent again"
            );
        }
        store.close().await;
        served.context("the HTTP server failed")
    }
}

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact("sqlite://.portico/portico.db"),
            "sqlite://.portico/portico.db"
        );
    }
}
