//! Prometheus metrics (prometheus-client): what an on-call engineer reads.
//!
//! One registry per process, reached through [`metrics()`] so that the
//! verifier, the publisher and the Cloudflare clients count without being
//! handed a handle. Every label is a bounded set by construction: route
//! templates (`/v1/domains/{id}`, never the raw path), enums of outcomes,
//! status codes. No hostname, account, token or path a customer chose is
//! ever a label, so one tenant's names never reach a scrape (docs/observability.md).
//!
//! Counters and histograms are this replica's own; the gauges read from the
//! store at scrape time (outbox, webhooks, domains) are the same on every
//! replica sharing the database (alert on their `max`).

pub mod http;
pub mod scrape;

use std::sync::LazyLock;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// An HTTP request as counted: method, matched route template, status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: &'static str,
    /// The route template the router matched, or `unmatched`.
    pub route: String,
    pub status: u16,
}

/// A verifier check's outcome (`domain_checks.outcome`, or `error`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum CheckOutcome {
    ready,
    not_ready,
    inconclusive,
    error,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: CheckOutcome,
}

/// The certificate as a check found it (`lifecycle::CertificateFinding`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertificateLabels {
    pub state: &'static str,
}

/// Which DNS question: through the recursive resolvers, straight to an
/// authoritative nameserver, or by hand with checking disabled.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum DnsKind {
    recursive,
    authoritative,
    unchecked,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DnsLabels {
    pub kind: DnsKind,
}

/// How a publisher pass ended.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum PublishOutcome {
    delivered,
    failed,
    deposed,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PublishLabels {
    pub outcome: PublishOutcome,
}

/// Which Cloudflare API, and what became of the request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloudflareLabels {
    /// `custom_hostnames` or `kv`.
    pub api: &'static str,
    /// `ok` (2xx–4xx but 429), `throttled` (429), `server_error` (5xx),
    /// `transport` (no answer), `budget_refused` (never sent: the shared
    /// budget was spent).
    pub outcome: &'static str,
}

/// A domain status (`domains.status`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabels {
    pub status: &'static str,
}

/// Every metric the service exports.
pub struct Metrics {
    pub http_duration: Family<HttpLabels, Histogram, fn() -> Histogram>,
    pub checks: Family<OutcomeLabels, Counter>,
    pub check_duration: Histogram,
    pub certificate_findings: Family<CertificateLabels, Counter>,
    pub dns_queries: Family<DnsLabels, Counter>,
    pub dns_timeouts: Family<DnsLabels, Counter>,
    pub publish_passes: Family<PublishLabels, Counter>,
    pub published_rows: Counter,
    pub publish_last_success: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub cloudflare_calls: Family<CloudflareLabels, Counter>,
    /// Requests per five minutes the shared budget allows (0: no budget).
    pub cloudflare_budget_limit: Gauge,
    /// Workers KV requests per five minutes their budget allows (0: none).
    pub cloudflare_kv_budget_limit: Gauge,
    /// The share of the shared budget in use, 0 to 1, for whoever keeps
    /// the budget to set (`set_cloudflare_budget_used`).
    pub cloudflare_budget_used: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub webhook_attempts: Family<OutcomeLabelsWebhook, Counter>,
    // Read from the store at scrape time (scrape.rs).
    pub outbox_depth: Gauge,
    pub outbox_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub parked_writes: Gauge,
    pub webhook_backlog: Gauge,
    pub webhook_oldest_age: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub domains: Family<StatusLabels, Gauge>,
    pub publisher_leader: Gauge,
    pub scrape_errors: Counter,
}

/// A webhook delivery attempt's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabelsWebhook {
    /// `delivered`, `failed` (answered, not 2xx) or `unreachable`.
    pub outcome: &'static str,
}

fn http_histogram() -> Histogram {
    // 1 ms to ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

impl Metrics {
    fn new() -> (Metrics, Registry) {
        let metrics = Metrics {
            http_duration: Family::new_with_constructor(http_histogram),
            checks: Family::default(),
            check_duration: Histogram::new(exponential_buckets(0.005, 2.0, 14)),
            certificate_findings: Family::default(),
            dns_queries: Family::default(),
            dns_timeouts: Family::default(),
            publish_passes: Family::default(),
            published_rows: Counter::default(),
            publish_last_success: Gauge::default(),
            cloudflare_calls: Family::default(),
            cloudflare_budget_limit: Gauge::default(),
            cloudflare_kv_budget_limit: Gauge::default(),
            cloudflare_budget_used: Gauge::default(),
            webhook_attempts: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_oldest_age: Gauge::default(),
            parked_writes: Gauge::default(),
            webhook_backlog: Gauge::default(),
            webhook_oldest_age: Gauge::default(),
            domains: Family::default(),
            publisher_leader: Gauge::default(),
            scrape_errors: Counter::default(),
        };
        let mut registry = Registry::with_prefix("portico");
        let m = &metrics;
        registry.register(
            "http_request_duration_seconds",
            "HTTP requests by method, route template and status, with their latency",
            m.http_duration.clone(),
        );
        registry.register(
            "checks",
            "Verifier checks finished, by outcome",
            m.checks.clone(),
        );
        registry.register(
            "check_duration_seconds",
            "How long one verifier check took",
            m.check_duration.clone(),
        );
        registry.register(
            "certificate_findings",
            "The certificate state each check found (ready, pending, failed, unknown)",
            m.certificate_findings.clone(),
        );
        registry.register(
            "dns_queries",
            "DNS queries the verifier sent",
            m.dns_queries.clone(),
        );
        registry.register(
            "dns_timeouts",
            "DNS queries that got no answer in time",
            m.dns_timeouts.clone(),
        );
        registry.register(
            "publish_passes",
            "Publisher batches, by how they ended",
            m.publish_passes.clone(),
        );
        registry.register(
            "published_rows",
            "Outbox rows written to KV (or parked) by this replica",
            m.published_rows.clone(),
        );
        registry.register(
            "publish_last_success_timestamp_seconds",
            "When this replica last delivered a batch (Unix time)",
            m.publish_last_success.clone(),
        );
        registry.register(
            "cloudflare_api_requests",
            "Cloudflare API requests by API and outcome",
            m.cloudflare_calls.clone(),
        );
        registry.register(
            "cloudflare_api_budget_limit",
            "Cloudflare API requests per five minutes the shared budget allows (0: none)",
            m.cloudflare_budget_limit.clone(),
        );
        registry.register(
            "cloudflare_kv_budget_limit",
            "Workers KV requests per five minutes their share of the API limit allows (0: none)",
            m.cloudflare_kv_budget_limit.clone(),
        );
        registry.register(
            "cloudflare_api_budget_used_ratio",
            "The share of the shared Cloudflare API budget in use (0 to 1)",
            m.cloudflare_budget_used.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome",
            m.webhook_attempts.clone(),
        );
        registry.register(
            "outbox_depth",
            "KV writes waiting in the outbox",
            m.outbox_depth.clone(),
        );
        registry.register(
            "outbox_oldest_age_seconds",
            "Age of the oldest waiting KV write: the publish lag (0 when empty)",
            m.outbox_oldest_age.clone(),
        );
        registry.register(
            "parked_writes",
            "KV writes refused for good, waiting for an operator",
            m.parked_writes.clone(),
        );
        registry.register(
            "webhook_backlog",
            "Webhook messages not yet delivered (pending)",
            m.webhook_backlog.clone(),
        );
        registry.register(
            "webhook_oldest_age_seconds",
            "Age of the oldest pending webhook message (0 when none)",
            m.webhook_oldest_age.clone(),
        );
        registry.register("domains", "Domains by status", m.domains.clone());
        registry.register(
            "publisher_leader",
            "1 when this replica holds the publisher lease",
            m.publisher_leader.clone(),
        );
        registry.register(
            "scrape_errors",
            "Scrapes whose store-read gauges could not be refreshed",
            m.scrape_errors.clone(),
        );
        (metrics, registry)
    }

    /// A finished check.
    pub fn check_finished(&self, outcome: CheckOutcome, seconds: f64) {
        self.checks.get_or_create(&OutcomeLabels { outcome }).inc();
        self.check_duration.observe(seconds);
    }

    /// The certificate a check found.
    pub fn certificate_found(&self, finding: portico_shared::lifecycle::CertificateFinding) {
        use portico_shared::lifecycle::CertificateFinding as F;
        let state = match finding {
            F::Ready => "ready",
            F::Pending => "pending",
            F::Failed => "failed",
            F::Unknown => "unknown",
        };
        self.certificate_findings
            .get_or_create(&CertificateLabels { state })
            .inc();
    }

    pub fn dns_query(&self, kind: DnsKind) {
        self.dns_queries.get_or_create(&DnsLabels { kind }).inc();
    }

    pub fn dns_timeout(&self, kind: DnsKind) {
        self.dns_timeouts.get_or_create(&DnsLabels { kind }).inc();
    }

    /// A Cloudflare API request and its answer's status (`None`: no answer).
    pub fn cloudflare_call(&self, api: &'static str, status: Option<u16>) {
        let outcome = match status {
            None => "transport",
            Some(429) => "throttled",
            Some(s) if s >= 500 => "server_error",
            Some(_) => "ok",
        };
        self.cloudflare_calls
            .get_or_create(&CloudflareLabels { api, outcome })
            .inc();
    }

    /// A request the shared budget did not let out.
    pub fn cloudflare_budget_refused(&self, api: &'static str) {
        self.cloudflare_calls
            .get_or_create(&CloudflareLabels {
                api,
                outcome: "budget_refused",
            })
            .inc();
    }

    /// The hook for the budget's keeper: the share in use, 0 to 1.
    pub fn set_cloudflare_budget_used(&self, ratio: f64) {
        self.cloudflare_budget_used.set(ratio.clamp(0.0, 1.0));
    }

    /// A publisher pass; `rows` settled when delivered.
    pub fn publish_pass(&self, outcome: PublishOutcome, rows: usize) {
        self.publish_passes
            .get_or_create(&PublishLabels { outcome })
            .inc();
        if outcome == PublishOutcome::delivered {
            self.published_rows.inc_by(rows as u64);
            self.publish_last_success.set(unix_seconds());
        }
    }

    /// A webhook attempt: the receiver's status (`None`: no answer).
    pub fn webhook_attempt(&self, status: Option<u16>) {
        let outcome = match status {
            None => "unreachable",
            Some(s) if (200..300).contains(&s) => "delivered",
            Some(_) => "failed",
        };
        self.webhook_attempts
            .get_or_create(&OutcomeLabelsWebhook { outcome })
            .inc();
    }
}

fn unix_seconds() -> f64 {
    time::OffsetDateTime::now_utc().unix_timestamp_nanos() as f64 / 1e9
}

static METRICS: LazyLock<(Metrics, Registry)> = LazyLock::new(Metrics::new);

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS.0
}

/// The text exposition (OpenMetrics) of every metric.
pub fn render() -> String {
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &METRICS.1)
        .expect("writing to a String cannot fail");
    text
}
