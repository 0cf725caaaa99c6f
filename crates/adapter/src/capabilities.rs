//! What the cloud supports: Octavia's maximum API version (`GET /` of its endpoint) and its
//! providers (`GET /v2/lbaas/providers`), handed to the planner as [`Capabilities`].

use kks_lb_planner::{ApiVersion, Capabilities};
use reqwest::Method;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::client::OpenStackClient;
use crate::error::{Error, Result, Service};

/// The highest `v2.N` in an Octavia version document (`{"versions": [{"id": "v2.30", ...}]}`).
///
/// # Errors
/// [`Error::Decode`] when the document lists no 2.x version.
pub fn max_version(doc: &Value) -> Result<ApiVersion> {
    doc.get("versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("id").and_then(Value::as_str))
        .filter_map(|id| id.parse::<ApiVersion>().ok())
        .filter(|v| v.major == 2)
        .max()
        .ok_or_else(|| Error::Decode {
            what: "Octavia version document".into(),
            message: "no v2.x version listed".into(),
        })
}

/// Discovers the capabilities of the cloud for load balancers made with `provider`.
///
/// # Errors
/// API errors, or [`Error::Config`] when the cloud does not offer `provider`.
pub async fn discover(client: &OpenStackClient, provider: &str) -> Result<Capabilities> {
    let root = client.octavia_root().await?;
    let doc = client.get_absolute(root).await?;
    let api_version = max_version(&doc)?;
    let providers = client
        .call(
            Service::Octavia,
            Method::GET,
            &["lbaas", "providers"],
            &[],
            None,
        )
        .await?;
    let names: Vec<&str> = providers
        .body
        .get("providers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    let known = names.iter().any(|n| n.eq_ignore_ascii_case(provider))
        || (provider.eq_ignore_ascii_case("amphora") && names.contains(&"octavia"));
    if !names.is_empty() && !known {
        return Err(Error::Config(format!(
            "lb-provider {provider:?} is not offered by this Octavia (providers: {})",
            names.join(", ")
        )));
    }
    Ok(Capabilities {
        api_version,
        provider: provider.to_owned(),
    })
}

/// Capabilities discovered once per process and refreshed on demand. Concurrent callers share
/// one discovery: the first discovers while the others wait for its answer.
#[derive(Debug, Default)]
pub struct CapabilitiesCache {
    cached: Mutex<Option<Capabilities>>,
}

impl CapabilitiesCache {
    /// The cached capabilities, discovering them on first use.
    ///
    /// # Errors
    /// As [`discover`].
    pub async fn get(&self, client: &OpenStackClient, provider: &str) -> Result<Capabilities> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && c.provider == provider
        {
            return Ok(c.clone());
        }
        let caps = discover(client, provider).await?;
        *cached = Some(caps.clone());
        Ok(caps)
    }

    /// Discovers again (after an upgrade of the cloud, or a 400 that suggests one).
    ///
    /// # Errors
    /// As [`discover`].
    pub async fn refresh(&self, client: &OpenStackClient, provider: &str) -> Result<Capabilities> {
        let mut cached = self.cached.lock().await;
        let caps = discover(client, provider).await?;
        *cached = Some(caps.clone());
        Ok(caps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_listed_v2_version_wins() {
        let doc = serde_json::json!({"versions": [
            {"id": "v2.0", "status": "SUPPORTED"},
            {"id": "v2.9", "status": "SUPPORTED"},
            {"id": "v2.30", "status": "CURRENT"},
            {"id": "v1", "status": "DEPRECATED"}
        ]});
        assert_eq!(max_version(&doc).unwrap(), ApiVersion::v2(30));
        assert!(max_version(&serde_json::json!({"versions": []})).is_err());
    }

    #[test]
    fn the_real_octavia_19_version_document_says_2_30() {
        let doc: Value =
            serde_json::from_str(include_str!("../../octavia-model/tests/data/versions.json"))
                .unwrap();
        assert_eq!(max_version(&doc).unwrap(), ApiVersion::v2(30));
    }
}
