//! Watch streams: newline-delimited JSON `WatchEvent`s over a chunked HTTP body.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;

use super::resources::ResourceInfo;
use super::selector::Filter;
use super::store::{EventType, Record, WatchStart};

/// What one watch request asked for.
#[derive(Debug)]
pub(crate) struct WatchRequest {
    pub info: &'static ResourceInfo,
    pub filter: Filter,
    pub bookmarks: bool,
    pub send_initial_events: bool,
    pub timeout: Option<Duration>,
    pub meta_only: bool,
    /// Events carry one-row Tables (`kubectl get -w`), with this `includeObject`.
    pub table: Option<String>,
    /// Column definitions go with the first Table only, as the API server does.
    pub columns_sent: std::sync::atomic::AtomicBool,
}

/// Emulator-wide watch plumbing.
#[derive(Clone, Debug)]
pub(crate) struct WatchControl {
    /// Changes when all watches must be dropped.
    pub kill: watch::Receiver<u64>,
    pub bookmark_interval: Duration,
    pub active: Arc<AtomicUsize>,
}

struct ActiveGuard(Arc<AtomicUsize>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Reduces an object to `PartialObjectMetadata`.
pub(crate) fn partial_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"].clone(),
    })
}

fn line(kind: &str, object: &Value) -> Bytes {
    let mut out =
        serde_json::to_vec(&json!({ "type": kind, "object": object })).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

/// A one-event body carrying an `ERROR` watch event (e.g. 410 Expired).
pub(crate) fn error_body(status: &Value) -> Body {
    Body::from(line("ERROR", status))
}

impl WatchRequest {
    fn render(&self, served: Value) -> Value {
        if let Some(include) = &self.table {
            let first = !self.columns_sent.swap(true, Ordering::SeqCst);
            return super::table::table(self.info, &[served], None, Some(include), first);
        }
        if self.meta_only {
            partial_metadata(&served)
        } else {
            served
        }
    }

    fn event_line(&self, rec: &Record) -> Option<Bytes> {
        if rec.storage != self.info.storage {
            return None;
        }
        let served = self.info.encode(&rec.object);
        let now = self.filter.matches(&served);
        let kind = match rec.event {
            EventType::Added => now.then_some("ADDED"),
            EventType::Deleted => now.then_some("DELETED"),
            EventType::Modified => {
                let before = rec
                    .prev
                    .as_ref()
                    .is_some_and(|p| self.filter.matches(&self.info.encode(p)));
                match (before, now) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
        }?;
        Some(line(kind, &self.render(served)))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let (kind, api_version) = if self.meta_only {
            (
                "PartialObjectMetadata".to_string(),
                "meta.k8s.io/v1".to_string(),
            )
        } else {
            (self.info.kind.to_string(), self.info.api_version())
        };
        let mut metadata = json!({ "resourceVersion": rv.to_string() });
        if initial_end && let Some(m) = metadata.as_object_mut() {
            m.insert(
                "annotations".into(),
                json!({ "k8s.io/initial-events-end": "true" }),
            );
        }
        line(
            "BOOKMARK",
            &json!({ "kind": kind, "apiVersion": api_version, "metadata": metadata }),
        )
    }
}

type Chunk = Result<Bytes, io::Error>;

async fn send(tx: &mpsc::Sender<Chunk>, bytes: Bytes) -> bool {
    tx.send(Ok(bytes)).await.is_ok()
}

/// Spawns the task feeding one watch and returns its response body.
pub(crate) fn stream(req: WatchRequest, start: WatchStart, ctl: WatchControl) -> Body {
    let (tx, rx) = mpsc::channel::<Chunk>(256);
    ctl.active.fetch_add(1, Ordering::SeqCst);
    tokio::spawn(run(req, start, ctl, tx));
    Body::from_stream(ReceiverStream::new(rx))
}

async fn run(req: WatchRequest, start: WatchStart, ctl: WatchControl, tx: mpsc::Sender<Chunk>) {
    let _guard = ActiveGuard(Arc::clone(&ctl.active));
    let mut kill = ctl.kill;
    let WatchStart {
        initial,
        replay,
        mut rx,
        resource_version,
    } = start;
    for obj in initial {
        let served = req.info.encode(&obj);
        if req.filter.matches(&served) && !send(&tx, line("ADDED", &req.render(served))).await {
            return;
        }
    }
    if req.send_initial_events && !send(&tx, req.bookmark(resource_version, true)).await {
        return;
    }
    for rec in replay {
        if let Some(bytes) = req.event_line(&rec)
            && !send(&tx, bytes).await
        {
            return;
        }
    }
    let mut last_rv = resource_version;
    let deadline = req.timeout.map(|t| Instant::now() + t);
    let interval = ctl.bookmark_interval.max(Duration::from_millis(10));
    let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
    loop {
        // Biased: a drop request wins over pending events, so events committed after
        // `drop_watches` always reach clients through their next watch.
        tokio::select! {
            biased;
            _ = kill.changed() => {
                let _ = tx
                    .send(Err(io::Error::new(io::ErrorKind::ConnectionAborted, "watch dropped by the emulator")))
                    .await;
                break;
            }
            () = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            } => break,
            msg = rx.recv() => match msg {
                Ok(rec) => {
                    last_rv = rec.rv;
                    if let Some(bytes) = req.event_line(&rec)
                        && !send(&tx, bytes).await
                    {
                        break;
                    }
                }
                // A slow watcher is closed; it resumes from its last resourceVersion.
                Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => break,
            },
            _ = ticker.tick(), if req.bookmarks => {
                if !send(&tx, req.bookmark(last_rv, false)).await {
                    break;
                }
            }
            () = tx.closed() => break,
        }
    }
}
