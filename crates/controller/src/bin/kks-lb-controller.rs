//! `kks-lb-controller`: the in-cluster controller.
//!
//! Flags and `KKS_LB_*` variables: see `--help` ([`ControllerArgs`]). Logs go to stderr,
//! filtered by `RUST_LOG` (default `info`); `KKS_LB_LOG_FORMAT=json` writes one JSON object
//! per line. SIGTERM or Ctrl-C shuts down gracefully: no new reconciles, in-flight ones get a
//! grace period, the leader-election Lease is released.

use std::fmt;

use anyhow::Context as _;
use clap::Parser;
use kks_lb_controller::config::ControllerArgs;
use kks_lb_controller::run::run;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's allocator: many reconciles allocate and free plans and
/// observations at once, and glibc kept about as much freed memory as live memory at 1,000
/// Services (docs/benchmarks.md, "Memory"). It is built without transparent huge pages
/// (the workspace's `no_thp`; `tests/allocator.rs`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Collects an event's fields into a JSON object.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(s) = source {
            chain.push_str(": ");
            chain.push_str(&s.to_string());
            source = s.source();
        }
        self.0.insert(field.name().to_owned(), chain.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }
}

/// One JSON object per line: timestamp, level, target, the event's fields and its spans.
struct JsonFormat;

impl<S, N> FormatEvent<S, N> for JsonFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut out = Map::new();
        out.insert(
            "timestamp".into(),
            k8s_openapi::jiff::Timestamp::now().to_string().into(),
        );
        out.insert("level".into(), meta.level().as_str().into());
        out.insert("target".into(), meta.target().into());
        let mut fields = Map::new();
        event.record(&mut JsonFields(&mut fields));
        out.insert("fields".into(), Value::Object(fields));
        if let Some(scope) = ctx.event_scope() {
            let spans: Vec<Value> = scope
                .from_root()
                .map(|span| {
                    let ext = span.extensions();
                    let text = ext
                        .get::<FormattedFields<N>>()
                        .map(|f| f.fields.clone())
                        .unwrap_or_default();
                    serde_json::json!({ "name": span.name(), "fields": text })
                })
                .collect();
            out.insert("spans".into(), Value::Array(spans));
        }
        writeln!(writer, "{}", Value::Object(out))
    }
}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = std::env::var("KKS_LB_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.event_format(JsonFormat).init();
    } else {
        builder.init();
    }
}

/// Cancels `shutdown` on SIGTERM or Ctrl-C.
async fn signals(shutdown: CancellationToken) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            r = tokio::signal::ctrl_c() => {
                r.context("waiting for Ctrl-C")?;
                tracing::info!("Ctrl-C: shutting down");
            }
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        tracing::info!("Ctrl-C: shutting down");
    }
    shutdown.cancel();
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = ControllerArgs::parse();
    init_tracing();
    tracing::info!(
        version = kks_lb_controller::build_info::VERSION,
        revision = kks_lb_controller::build_info::REVISION,
        "kks-lb-controller starting"
    );
    let shutdown = CancellationToken::new();
    let signal_task = tokio::spawn(signals(shutdown.clone()));
    let result = run(args, shutdown.clone()).await;
    signal_task.abort();
    if let Err(e) = &result {
        tracing::error!(
            error = e as &dyn std::error::Error,
            reason = e.reason(),
            "kks-lb-controller failed"
        );
    }
    result.context("kks-lb-controller")
}
