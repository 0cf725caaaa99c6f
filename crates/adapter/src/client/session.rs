//! Opening a session: the credentials ([`Auth`]), the settings ([`SessionConfig`]), the
//! authentication itself (also repeated on 401) and the Octavia root URL from the catalog.

use std::path::PathBuf;
use std::time::Duration;

use osauth::common::IdOrName;
use osauth::services::NETWORK;
use osauth::{InterfaceType, Session};
use reqwest::Url;

use super::{OCTAVIA, OpenStackClient};
use crate::error::{Error, Result};

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// Keystone v3 password, project-scoped.
    Password {
        /// Keystone URL.
        auth_url: String,
        /// User name.
        username: String,
        /// Password.
        password: String,
        /// User domain name (default `Default`).
        user_domain_name: String,
        /// Project id or name.
        project: ProjectRef,
        /// Project domain name (default `Default`).
        project_domain_name: String,
    },
    /// Keystone v3 application credential (already project-scoped).
    ApplicationCredential {
        /// Keystone URL.
        auth_url: String,
        /// Credential id.
        id: String,
        /// Credential secret.
        secret: String,
    },
    /// No Keystone (Octavia and Neutron with `auth_strategy = noauth`): explicit endpoints,
    /// and the project sent as `X-Project-Id` and in create bodies.
    NoAuth {
        /// Octavia endpoint (the URL whose `GET /` is the version document).
        octavia_url: String,
        /// Neutron endpoint.
        neutron_url: String,
        /// Project id.
        project_id: String,
    },
    /// A cloud from `clouds.yaml` (`OS_CLOUD`).
    Cloud(String),
    /// `OS_*` environment variables.
    Environment,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Password {
                auth_url,
                username,
                project,
                ..
            } => f
                .debug_struct("Password")
                .field("auth_url", auth_url)
                .field("username", username)
                .field("project", project)
                .finish_non_exhaustive(),
            Auth::ApplicationCredential { auth_url, id, .. } => f
                .debug_struct("ApplicationCredential")
                .field("auth_url", auth_url)
                .field("id", id)
                .finish_non_exhaustive(),
            Auth::NoAuth {
                octavia_url,
                neutron_url,
                project_id,
            } => f
                .debug_struct("NoAuth")
                .field("octavia_url", octavia_url)
                .field("neutron_url", neutron_url)
                .field("project_id", project_id)
                .finish(),
            Auth::Cloud(name) => f.debug_tuple("Cloud").field(name).finish(),
            Auth::Environment => f.write_str("Environment"),
        }
    }
}

/// A project named by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectRef {
    /// Project id.
    Id(String),
    /// Project name.
    Name(String),
}

/// Everything needed to open a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Credentials.
    pub auth: Auth,
    /// Region to pick endpoints from.
    pub region: Option<String>,
    /// Endpoint interface: `public` (default), `internal` or `admin`.
    pub interface: Option<String>,
    /// Extra CA bundle (PEM).
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (never in production).
    pub insecure: bool,
    /// Timeout of each call, separate from the wait for ACTIVE.
    pub call_timeout: Duration,
    /// Calls per second across the adapter (`--os-api-qps`); 0 = unlimited.
    pub qps: f64,
    /// Burst of the token bucket (`--os-api-burst`).
    pub burst: u32,
}

impl SessionConfig {
    /// A configuration with the defaults: 30 s per call, 20 calls/s with bursts of 40.
    pub fn new(auth: Auth) -> Self {
        SessionConfig {
            auth,
            region: None,
            interface: None,
            ca_file: None,
            insecure: false,
            call_timeout: Duration::from_secs(30),
            qps: 20.0,
            burst: 40,
        }
    }
}

pub(super) fn auth_err(e: impl std::fmt::Display) -> Error {
    Error::Auth(e.to_string())
}

impl OpenStackClient {
    /// Authenticates anew: used at start and when OpenStack answers 401 (a revoked token;
    /// osauth renews only tokens it knows to be expired).
    pub(super) async fn open(cfg: &SessionConfig) -> Result<(Session, Option<String>)> {
        let mut builder = reqwest::Client::builder();
        if let Some(ca) = &cfg.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| Error::Config(format!("cannot read ca-file {}: {e}", ca.display())))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| Error::Config(format!("ca-file {}: {e}", ca.display())))?;
            builder = builder.add_root_certificate(cert);
        }
        if cfg.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let http = builder.build().map_err(|e| Error::Config(e.to_string()))?;
        let mut project_id = None;
        let mut session = match &cfg.auth {
            Auth::Password {
                auth_url,
                username,
                password,
                user_domain_name,
                project,
                project_domain_name,
            } => {
                let project = match project {
                    ProjectRef::Id(id) => IdOrName::Id(id.clone()),
                    ProjectRef::Name(n) => IdOrName::Name(n.clone()),
                };
                let auth = osauth::identity::Password::new(
                    auth_url,
                    username.clone(),
                    password.clone(),
                    user_domain_name.clone(),
                )
                .map_err(auth_err)?
                .with_project_scope(project, IdOrName::Name(project_domain_name.clone()));
                Session::new_with_client(http, auth)
                    .await
                    .map_err(auth_err)?
            }
            Auth::ApplicationCredential {
                auth_url,
                id,
                secret,
            } => {
                let auth = osauth::identity::ApplicationCredential::new(
                    auth_url,
                    id.clone(),
                    secret.clone(),
                )
                .map_err(auth_err)?;
                Session::new_with_client(http, auth)
                    .await
                    .map_err(auth_err)?
            }
            Auth::NoAuth {
                octavia_url,
                neutron_url,
                project_id: p,
            } => {
                project_id = Some(p.clone());
                let parse = |u: &str| {
                    Url::parse(u).map_err(|e| Error::Config(format!("endpoint {u:?}: {e}")))
                };
                Session::new_with_client(http, osauth::NoAuth::new_without_endpoint())
                    .await
                    .map_err(auth_err)?
                    .with_endpoint_override(OCTAVIA, parse(octavia_url)?)
                    .with_endpoint_override(NETWORK, parse(neutron_url)?)
            }
            Auth::Cloud(name) => Session::from_config(name).await.map_err(auth_err)?,
            Auth::Environment => Session::from_env().await.map_err(auth_err)?,
        };
        if let Some(region) = &cfg.region {
            session.set_region(region.clone());
        }
        if let Some(interface) = &cfg.interface {
            let i = match interface.to_ascii_lowercase().as_str() {
                "public" | "publicurl" => InterfaceType::Public,
                "internal" | "internalurl" => InterfaceType::Internal,
                "admin" | "adminurl" => InterfaceType::Admin,
                other => {
                    return Err(Error::Config(format!(
                        "interface {other:?}: must be public, internal or admin"
                    )));
                }
            };
            session.set_endpoint_interface(i);
        }
        Ok((session, project_id))
    }

    /// The root (unversioned) URL of Octavia's endpoint, whose `GET` is the version document.
    ///
    /// # Errors
    /// [`Error::Auth`] when the catalog has no Octavia endpoint.
    pub async fn octavia_root(&self) -> Result<Url> {
        let session = self.session.read().await.clone();
        let url = session
            .get_endpoint(OCTAVIA, [""; 0])
            .await
            .map_err(auth_err)?;
        let mut s = url.as_str().trim_end_matches('/').to_owned();
        for suffix in ["/v2.0", "/v2"] {
            if let Some(stripped) = s.strip_suffix(suffix) {
                s = stripped.to_owned();
                break;
            }
        }
        Url::parse(&format!("{s}/")).map_err(|e| Error::Config(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_reach_debug_output() {
        let a = Auth::ApplicationCredential {
            auth_url: "u".into(),
            id: "i".into(),
            secret: "s3cret".into(),
        };
        assert!(!format!("{a:?}").contains("s3cret"));
    }
}
