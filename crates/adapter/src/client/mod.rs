//! [`OpenStackClient`]: one authenticated osauth session (one token, one catalog, one HTTP
//! connection pool) for Octavia and Neutron, with a per-call timeout, a shared token bucket,
//! re-authentication on 401 and error classification.
//!
//! This file holds the client, its [`Reply`] and [`CallRecorder`]. The rest:
//! - `session`: [`Auth`], [`SessionConfig`], authentication and the Octavia root URL;
//! - `call`: the call path (rate limit, timeout, re-authentication on 401, recording,
//!   [`template`]);
//! - `decode`: [`error_message`], the text of an OpenStack error body.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use osauth::Session;
use osauth::services::GenericService;
use serde_json::Value;
use tokio::sync::RwLock;

mod call;
mod decode;
mod session;

pub use self::call::template;
pub use self::decode::error_message;
pub use self::session::{Auth, ProjectRef, SessionConfig};
#[cfg(doc)]
use crate::error::Error;
use crate::error::{Result, Service};
use crate::pacing::TokenBucket;

/// Octavia's catalog entry: type `load-balancer`, major version 2.
pub const OCTAVIA: GenericService =
    GenericService::new("load-balancer", osauth::services::VersionSelector::Major(2));

/// Records every OpenStack call: for metrics and call-count reports.
pub trait CallRecorder: Send + Sync {
    /// One finished call: service, method, path template (ids replaced by `{id}`), status
    /// (0 when no response arrived) and duration.
    fn record(&self, service: Service, method: &str, template: &str, status: u16, took: Duration);
}

/// An answer from OpenStack with a success status.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// JSON body; `Null` for an empty body (204, the 202 of a batch member update).
    pub body: Value,
    /// `X-Openstack-Request-Id`.
    pub request_id: Option<String>,
}

/// One authenticated session for Octavia and Neutron.
#[derive(Clone)]
pub struct OpenStackClient {
    session: Arc<RwLock<Session>>,
    config: Arc<SessionConfig>,
    project_id: Option<String>,
    limiter: Arc<TokenBucket>,
    call_timeout: Duration,
    recorder: Option<Arc<dyn CallRecorder>>,
    activity: Arc<Activity>,
}

/// How many calls the session has made. Shared by every clone of one client; the shared
/// poller paces its lists by it.
#[derive(Debug, Default)]
struct Activity {
    calls: AtomicU64,
}

impl Activity {
    fn start(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for OpenStackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStackClient")
            .field("project_id", &self.project_id)
            .field("call_timeout", &self.call_timeout)
            .finish_non_exhaustive()
    }
}

impl OpenStackClient {
    /// Opens a session: builds the HTTP client (CA file, TLS), authenticates and applies
    /// region and interface.
    ///
    /// # Errors
    /// [`Error::Config`] for unusable settings, [`Error::Auth`] when authentication fails.
    pub async fn connect(cfg: &SessionConfig) -> Result<Self> {
        let (session, project_id) = Self::open(cfg).await?;
        Ok(OpenStackClient {
            session: Arc::new(RwLock::new(session)),
            config: Arc::new(cfg.clone()),
            project_id,
            limiter: Arc::new(TokenBucket::new(cfg.qps, cfg.burst)),
            call_timeout: cfg.call_timeout,
            recorder: None,
            activity: Arc::new(Activity::default()),
        })
    }

    /// The configured call budget in calls per second (`SessionConfig::qps`; 0: unlimited).
    pub fn rate_limit(&self) -> f64 {
        self.config.qps
    }

    /// How many calls this client (all its clones together) has started.
    pub fn calls_made(&self) -> u64 {
        self.activity.calls.load(Ordering::SeqCst)
    }

    /// Records every call with `recorder`.
    #[must_use]
    pub fn with_recorder(mut self, recorder: Arc<dyn CallRecorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// The project sent with every call in noauth mode.
    pub fn noauth_project(&self) -> Option<&str> {
        self.project_id.as_deref()
    }
}
