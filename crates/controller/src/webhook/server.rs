//! HTTPS for the webhook: `tls.crt` and `tls.key` from a directory (a mounted Secret), read
//! again whenever they change.
//!
//! - `POST /validate-service`: [`super::respond`].
//! - `GET /healthz`: `200 ok`.
//!
//! The files are read at start (a missing or unreadable pair is an error naming the file) and
//! then every `reload_every`; a changed pair that parses replaces the served one for new
//! connections; one that does not parse is logged and the previous pair stays in use.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::{get, post};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use super::{PATH, Policy};

/// Name of the certificate file in the certificate directory.
pub const CERT_FILE: &str = "tls.crt";
/// Name of the private key file in the certificate directory.
pub const KEY_FILE: &str = "tls.key";

/// Where and how the webhook serves.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Address to listen on (`--webhook-addr`).
    pub addr: SocketAddr,
    /// Directory holding [`CERT_FILE`] and [`KEY_FILE`] (`--webhook-cert-dir`).
    pub cert_dir: PathBuf,
    /// How often the files are checked for changes.
    pub reload_every: Duration,
    /// What the verdict depends on.
    pub policy: Policy,
}

/// Why the webhook cannot serve.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// A certificate file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A certificate file does not hold what it should.
    #[error("{path}: {why}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// The pair read from disk, and the bytes it came from (to notice changes).
struct Loaded {
    files: (Vec<u8>, Vec<u8>),
    key: Arc<CertifiedKey>,
}

/// Serves whichever pair was loaded last.
struct Reloading {
    current: RwLock<Arc<CertifiedKey>>,
}

impl fmt::Debug for Reloading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reloading")
    }
}

impl ResolvesServerCert for Reloading {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        ))
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path) -> Result<Vec<u8>, WebhookError> {
    std::fs::read(path).map_err(|source| WebhookError::Read {
        path: path.to_owned(),
        source,
    })
}

fn load(dir: &Path) -> Result<Loaded, WebhookError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let cert_pem = read(&cert_path)?;
    let key_pem = read(&key_path)?;
    let key = parse_pair(&cert_pem, &cert_path, &key_pem, &key_path)?;
    Ok(Loaded {
        files: (cert_pem, key_pem),
        key: Arc::new(key),
    })
}

fn parse_pair(
    cert_pem: &[u8],
    cert_path: &Path,
    key_pem: &[u8],
    key_path: &Path,
) -> Result<CertifiedKey, WebhookError> {
    let bad = |path: &Path, why: String| WebhookError::Parse {
        path: path.to_owned(),
        why,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert_path, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert_path, "no CERTIFICATE block".to_owned()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem)
        .map_err(|e| bad(key_path, format!("not a PEM private key: {e}")))?;
    let key = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| bad(key_path, format!("does not match {}: {e}", CERT_FILE)))?;
    Ok(key)
}

/// Binds the webhook and returns the bound address (useful with port 0) and the server future,
/// which serves until `shutdown` fires.
///
/// # Errors
/// The certificate pair cannot be read or parsed, or the address cannot be bound.
pub async fn bind(
    config: WebhookConfig,
    shutdown: CancellationToken,
) -> Result<
    (
        SocketAddr,
        impl Future<Output = io::Result<()>> + Send + 'static,
    ),
    WebhookError,
> {
    let loaded = load(&config.cert_dir)?;
    let resolver = Arc::new(Reloading {
        current: RwLock::new(Arc::clone(&loaded.key)),
    });
    let tls = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WebhookError::Parse {
            path: config.cert_dir.clone(),
            why: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(resolver.clone());
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| WebhookError::Bind {
            addr: config.addr,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| WebhookError::Bind {
        addr: config.addr,
        source,
    })?;
    tracing::info!(address = %bound, dir = %config.cert_dir.display(), "serving the validating webhook");
    tokio::spawn(watch_files(
        config.cert_dir.clone(),
        config.reload_every,
        loaded.files,
        resolver,
        shutdown.clone(),
    ));
    let app = router(config.policy);
    let server = async move {
        loop {
            let (tcp, peer) = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "webhook accept failed");
                        continue;
                    }
                },
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp))
                    .await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "webhook TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
                let service = TowerToHyperService::new(app);
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service);
                let mut conn = std::pin::pin!(conn);
                tokio::select! {
                    res = conn.as_mut() => {
                        if let Err(e) = res {
                            tracing::debug!(%peer, error = %e, "webhook connection ended");
                        }
                    }
                    () = shutdown.cancelled() => {
                        conn.as_mut().graceful_shutdown();
                        let _ = conn.await;
                    }
                }
            });
        }
    };
    Ok((bound, server))
}

/// The webhook's routes, for tests that call them without TLS.
pub fn router(policy: Policy) -> Router {
    Router::new()
        .route(PATH, post(validate))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(Arc::new(policy))
}

async fn validate(State(policy): State<Arc<Policy>>, body: Bytes) -> axum::Json<serde_json::Value> {
    let review = super::review(&body);
    let answer = super::respond(review, &policy);
    let value = serde_json::to_value(&answer).unwrap_or_default();
    if let Some(r) = answer.response.as_ref() {
        tracing::debug!(uid = %r.uid, allowed = r.allowed, "admission review");
    }
    axum::Json(value)
}

async fn watch_files(
    dir: PathBuf,
    every: Duration,
    mut files: (Vec<u8>, Vec<u8>),
    resolver: Arc<Reloading>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
        let cert_path = dir.join(CERT_FILE);
        let key_path = dir.join(KEY_FILE);
        let (Ok(cert), Ok(key)) = (
            tokio::fs::read(&cert_path).await,
            tokio::fs::read(&key_path).await,
        ) else {
            continue;
        };
        if (&cert, &key) == (&files.0, &files.1) {
            continue;
        }
        match parse_pair(&cert, &cert_path, &key, &key_path) {
            Ok(pair) => {
                *resolver
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(pair);
                tracing::info!(dir = %dir.display(), "webhook certificate reloaded");
            }
            // Keep serving the previous pair; a Secret update writes both files, so the next
            // check usually sees a matching pair.
            Err(e) => tracing::warn!(error = %e, "webhook certificate not reloaded"),
        }
        files = (cert, key);
    }
}
