//! Keystone v3 emulation at the server root: `GET /` (300, version list), `GET /v3`, and
//! `POST/GET/DELETE /v3/auth/tokens` with the password and application credential methods.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kks_lb_octavia_model::api::keystone::{
    AuthRequest, CatalogEntry, Domain, Endpoint, Role, Token, TokenApplicationCredential,
    TokenProject, TokenResponse, TokenUser,
};
use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::server::{json, read_state, with_state};
use super::state::{Shared, State, TokenRec, Urls};

type Sh = AxState<Arc<Shared>>;

/// The Keystone routes.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/", get(root))
        .route("/v3", get(v3))
        .route("/v3/", get(v3))
        .route("/v3/auth/tokens", get(validate).post(issue).delete(revoke))
}

fn version_doc(urls: &Urls) -> serde_json::Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/", urls.auth)}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]
    })
}

async fn root(AxState(sh): Sh) -> Response {
    // Keystone answers the unversioned root with 300 Multiple Choices.
    let body = json!({"versions": {"values": [version_doc(&sh.urls)]}});
    json(StatusCode::MULTIPLE_CHOICES, &body)
}

async fn v3(AxState(sh): Sh) -> Response {
    json(StatusCode::OK, &json!({ "version": version_doc(&sh.urls) }))
}

async fn issue(AxState(sh): Sh, body: Bytes) -> Response {
    with_state(&sh, |st, urls| {
        let req: AuthRequest = serde_json::from_slice(&body).map_err(|e| {
            ApiError::keystone(
                400,
                "Bad Request",
                format!("Invalid input for field 'identity': {e}"),
            )
        })?;
        let (token, body) = st.authenticate(&req, urls)?;
        let mut resp = json(StatusCode::CREATED, &body);
        if let Ok(v) = HeaderValue::from_str(&token) {
            resp.headers_mut().insert("x-subject-token", v);
        }
        Ok(resp)
    })
}

async fn validate(AxState(sh): Sh, headers: HeaderMap) -> Response {
    read_state(&sh, |st, _| {
        let subject = header(&headers, "x-subject-token");
        let now = st.now();
        let rec = st
            .tokens
            .get(&subject)
            .filter(|t| t.expires_at > now)
            .ok_or_else(|| {
                ApiError::keystone(
                    404,
                    "Not Found",
                    format!("Could not find token: {subject}."),
                )
            })?;
        let mut resp = json(StatusCode::OK, &rec.body);
        if let Ok(v) = HeaderValue::from_str(&subject) {
            resp.headers_mut().insert("x-subject-token", v);
        }
        Ok(resp)
    })
}

async fn revoke(AxState(sh): Sh, headers: HeaderMap) -> Response {
    with_state(&sh, |st, _| {
        let subject = header(&headers, "x-subject-token");
        match st.tokens.remove(&subject) {
            Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
            None => Err(ApiError::keystone(
                404,
                "Not Found",
                format!("Could not find token: {subject}."),
            )),
        }
    })
}

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

impl State {
    /// Checks the credentials and issues a project-scoped token with the catalog.
    fn authenticate(
        &mut self,
        req: &AuthRequest,
        urls: &Urls,
    ) -> ApiResult<(String, TokenResponse)> {
        let creds = self.cfg.credentials.clone();
        let identity = &req.auth.identity;
        let domain_ok = |d: &Option<kks_lb_octavia_model::api::keystone::DomainRef>| {
            d.as_ref().is_none_or(|d| {
                d.name.as_deref().is_none_or(|n| n == creds.domain_name)
                    && d.id.as_deref().is_none_or(|i| i == "default")
            })
        };
        let (method, app_cred) = if identity
            .methods
            .iter()
            .any(|m| m == "application_credential")
        {
            let ac = identity
                .application_credential
                .as_ref()
                .ok_or_else(ApiError::keystone_unauthorized)?;
            let id_ok = match (&ac.id, &ac.name) {
                (Some(id), _) => *id == creds.application_credential_id,
                (None, Some(name)) => {
                    *name == creds.application_credential_name
                        && ac.user.as_ref().is_some_and(|u| {
                            u.name.as_deref() == Some(creds.user_name.as_str())
                                || u.id.as_deref() == Some(self.fixture.user_id.as_str())
                        })
                }
                (None, None) => false,
            };
            if !id_ok || ac.secret != creds.application_credential_secret {
                return Err(ApiError::keystone_unauthorized());
            }
            ("application_credential", true)
        } else if identity.methods.iter().any(|m| m == "password") {
            let pw = identity
                .password
                .as_ref()
                .ok_or_else(ApiError::keystone_unauthorized)?;
            let u = &pw.user;
            let user_ok = match (&u.id, &u.name) {
                (Some(id), _) => *id == self.fixture.user_id,
                (None, Some(name)) => *name == creds.user_name && domain_ok(&u.domain),
                (None, None) => false,
            };
            if !user_ok || u.password != creds.password {
                return Err(ApiError::keystone_unauthorized());
            }
            ("password", false)
        } else {
            return Err(ApiError::keystone_unauthorized());
        };
        // An application credential carries its own project; a password token is scoped to
        // the requested project, or to the user's default project without a scope.
        if let Some(p) = req.auth.scope.as_ref().and_then(|s| s.project.as_ref()) {
            let ok =
                p.id.as_deref()
                    .is_some_and(|id| id == self.fixture.project_id)
                    || (p.id.is_none()
                        && p.name.as_deref() == Some(creds.project_name.as_str())
                        && domain_ok(&p.domain));
            if !ok {
                return Err(ApiError::keystone_unauthorized());
            }
        }
        let now = self.now();
        let expires = now + self.cfg.token_ttl;
        let token_id = format!("gAAAAA{}", self.hex32());
        let audit = self.hex32()[..22].to_owned();
        let domain = Domain {
            id: "default".to_owned(),
            name: creds.domain_name.clone(),
        };
        let region = self.cfg.region.clone();
        let mut catalog = Vec::new();
        for (kind, name, url) in [
            ("identity", "keystone", urls.auth.clone()),
            ("load-balancer", "octavia", urls.octavia.clone()),
            ("network", "neutron", urls.neutron.clone()),
        ] {
            let service_id = self.hex32();
            let endpoints = ["public", "internal", "admin"]
                .iter()
                .map(|iface| Endpoint {
                    id: format!("{service_id}-{iface}"),
                    interface: (*iface).to_owned(),
                    region: Some(region.clone()),
                    region_id: Some(region.clone()),
                    url: url.clone(),
                })
                .collect();
            catalog.push(CatalogEntry {
                id: service_id,
                service_type: kind.to_owned(),
                name: name.to_owned(),
                endpoints,
            });
        }
        let body = TokenResponse {
            token: Token {
                methods: vec![method.to_owned()],
                user: TokenUser {
                    id: self.fixture.user_id.clone(),
                    name: creds.user_name.clone(),
                    domain: domain.clone(),
                    password_expires_at: None,
                },
                project: Some(TokenProject {
                    id: self.fixture.project_id.clone(),
                    name: creds.project_name.clone(),
                    domain,
                }),
                roles: self
                    .cfg
                    .admin_role
                    .then(|| Role {
                        id: "admin-role".to_owned(),
                        name: "admin".to_owned(),
                    })
                    .into_iter()
                    .chain([
                        Role {
                            id: "member-role".to_owned(),
                            name: "member".to_owned(),
                        },
                        Role {
                            id: "reader-role".to_owned(),
                            name: "reader".to_owned(),
                        },
                        Role {
                            id: "lb-member-role".to_owned(),
                            name: "load-balancer_member".to_owned(),
                        },
                    ])
                    .collect(),
                catalog,
                expires_at: self.clock.keystone(expires),
                issued_at: self.clock.keystone(now),
                audit_ids: vec![audit],
                is_domain: Some(false),
                application_credential: app_cred.then(|| TokenApplicationCredential {
                    id: creds.application_credential_id.clone(),
                    name: creds.application_credential_name.clone(),
                    restricted: true,
                }),
            },
        };
        self.tokens.insert(
            token_id.clone(),
            TokenRec {
                project_id: self.fixture.project_id.clone(),
                expires_at: expires,
                body: body.clone(),
            },
        );
        Ok((token_id, body))
    }
}
