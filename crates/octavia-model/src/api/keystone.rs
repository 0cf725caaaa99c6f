//! Keystone v3 wire types: `POST /v3/auth/tokens` request and response, and the error body.

use serde::{Deserialize, Serialize};

use super::null_as_default;

/// `POST /v3/auth/tokens` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthRequest {
    /// The `auth` object.
    pub auth: Auth,
}

/// Identity plus optional scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    /// Who is authenticating.
    pub identity: Identity,
    /// What the token is for; application credentials carry their own scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

/// The identity methods and their data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `["password"]` or `["application_credential"]`.
    pub methods: Vec<String>,
    /// Password method data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordMethod>,
    /// Application credential method data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<ApplicationCredentialMethod>,
}

impl Identity {
    /// Password authentication of `user` in domain `domain` (by name).
    pub fn password(user: &str, domain: &str, password: &str) -> Self {
        Identity {
            methods: vec!["password".to_owned()],
            password: Some(PasswordMethod {
                user: PasswordUser {
                    id: None,
                    name: Some(user.to_owned()),
                    domain: Some(DomainRef::by_name(domain)),
                    password: password.to_owned(),
                },
            }),
            application_credential: None,
        }
    }

    /// Application credential authentication by id.
    pub fn application_credential(id: &str, secret: &str) -> Self {
        Identity {
            methods: vec!["application_credential".to_owned()],
            password: None,
            application_credential: Some(ApplicationCredentialMethod {
                id: Some(id.to_owned()),
                name: None,
                secret: secret.to_owned(),
                user: None,
            }),
        }
    }
}

/// `identity.password`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordMethod {
    /// The user.
    pub user: PasswordUser,
}

/// The user of the password method: by id, or by name plus domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordUser {
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User domain (with a name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
    /// Password.
    pub password: String,
}

/// `identity.application_credential`: by id, or by name plus user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationCredentialMethod {
    /// Credential id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Credential name (needs `user`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Secret.
    pub secret: String,
    /// Owner, when the credential is given by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
}

/// A user reference (by id, or name plus domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// User id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// User name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// User domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
}

/// A domain reference (by id or name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainRef {
    /// Domain id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DomainRef {
    /// A reference by name.
    pub fn by_name(name: &str) -> Self {
        DomainRef {
            id: None,
            name: Some(name.to_owned()),
        }
    }
}

/// `auth.scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Project scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<ProjectRef>,
}

/// A project reference (by id, or name plus domain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRef {
    /// Project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Project name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Project domain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<DomainRef>,
}

/// `201` response of `POST /v3/auth/tokens`; the token itself is the `X-Subject-Token`
/// header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The token description.
    pub token: Token,
}

/// A token: who, for what, until when, and the service catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Token {
    /// Methods used.
    #[serde(default, deserialize_with = "null_as_default")]
    pub methods: Vec<String>,
    /// The user.
    pub user: TokenUser,
    /// The scoped project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<TokenProject>,
    /// Roles on the project.
    #[serde(default, deserialize_with = "null_as_default")]
    pub roles: Vec<Role>,
    /// Service catalog.
    #[serde(default, deserialize_with = "null_as_default")]
    pub catalog: Vec<CatalogEntry>,
    /// Expiry, e.g. `2026-11-26T15:38:10.000000Z`.
    pub expires_at: String,
    /// Issue time.
    pub issued_at: String,
    /// Audit ids.
    #[serde(default, deserialize_with = "null_as_default")]
    pub audit_ids: Vec<String>,
    /// Domain-scoped project flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_domain: Option<bool>,
    /// The application credential used, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_credential: Option<TokenApplicationCredential>,
}

impl Token {
    /// The URL of the first endpoint of `service_type` (e.g. `load-balancer`) with
    /// `interface` (e.g. `public`).
    pub fn endpoint(&self, service_type: &str, interface: &str) -> Option<&str> {
        self.catalog
            .iter()
            .filter(|e| e.service_type == service_type)
            .flat_map(|e| e.endpoints.iter())
            .find(|e| e.interface == interface)
            .map(|e| e.url.as_str())
    }
}

/// `token.user`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUser {
    /// User id.
    pub id: String,
    /// User name.
    pub name: String,
    /// User domain.
    pub domain: Domain,
    /// Password expiry.
    #[serde(default)]
    pub password_expires_at: Option<String>,
}

/// A domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Domain {
    /// Id, e.g. `default`.
    pub id: String,
    /// Name, e.g. `Default`.
    pub name: String,
}

/// `token.project`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenProject {
    /// Project id.
    pub id: String,
    /// Project name.
    pub name: String,
    /// Project domain.
    pub domain: Domain,
}

/// A role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    /// Role id.
    pub id: String,
    /// Role name, e.g. `member`.
    pub name: String,
}

/// `token.application_credential`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenApplicationCredential {
    /// Credential id.
    pub id: String,
    /// Credential name.
    pub name: String,
    /// Whether it may create other credentials.
    #[serde(default)]
    pub restricted: bool,
}

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogEntry {
    /// Service id.
    pub id: String,
    /// Service type, e.g. `load-balancer`, `network`, `identity`.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name, e.g. `octavia`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Its endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub endpoints: Vec<Endpoint>,
}

/// One endpoint of a catalog service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    /// Endpoint id.
    pub id: String,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Region name.
    #[serde(default)]
    pub region: Option<String>,
    /// Region id.
    #[serde(default)]
    pub region_id: Option<String>,
    /// Base URL.
    pub url: String,
}

/// Keystone's (and keystonemiddleware's) error body: `{"error": {"code", "message",
/// "title"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeystoneErrorBody {
    /// The error.
    pub error: KeystoneError,
}

/// The inner Keystone error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeystoneError {
    /// HTTP status.
    pub code: u16,
    /// Message, e.g. `The request you have made requires authentication.`
    pub message: String,
    /// Title, e.g. `Unauthorized`.
    pub title: String,
}

impl KeystoneErrorBody {
    /// The 401 body Keystone and keystonemiddleware send for missing, invalid or expired
    /// tokens and bad credentials.
    pub fn unauthorized() -> Self {
        KeystoneErrorBody {
            error: KeystoneError {
                code: 401,
                message: "The request you have made requires authentication.".to_owned(),
                title: "Unauthorized".to_owned(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_identity_uses_keystone_field_names() {
        let req = AuthRequest {
            auth: Auth {
                identity: Identity::password("kks", "Default", "secret"),
                scope: Some(Scope {
                    project: Some(ProjectRef {
                        id: None,
                        name: Some("demo".into()),
                        domain: Some(DomainRef::by_name("Default")),
                    }),
                }),
            },
        };
        let v = serde_json::to_value(&req).unwrap();
        assert_eq!(v["auth"]["identity"]["methods"][0], "password");
        assert_eq!(
            v["auth"]["identity"]["password"]["user"]["domain"]["name"],
            "Default"
        );
        assert_eq!(v["auth"]["scope"]["project"]["name"], "demo");
        assert!(
            v["auth"]["identity"]
                .get("application_credential")
                .is_none()
        );
    }

    #[test]
    fn token_endpoint_lookup_matches_type_and_interface() {
        let token: TokenResponse = serde_json::from_value(serde_json::json!({
            "token": {
                "methods": ["application_credential"],
                "user": {"id": "u", "name": "n", "domain": {"id": "default", "name": "Default"}},
                "expires_at": "2026-01-01T00:00:00.000000Z",
                "issued_at": "2026-01-01T00:00:00.000000Z",
                "catalog": [{"id": "s", "type": "load-balancer", "name": "octavia", "endpoints": [
                    {"id": "e1", "interface": "internal", "url": "http://internal"},
                    {"id": "e2", "interface": "public", "region": "RegionOne", "url": "http://public"}
                ]}]
            }
        }))
        .unwrap();
        assert_eq!(
            token.token.endpoint("load-balancer", "public"),
            Some("http://public")
        );
        assert_eq!(token.token.endpoint("network", "public"), None);
    }
}
