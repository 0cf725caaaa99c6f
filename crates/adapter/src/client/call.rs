//! The call path: rate limit, per-call timeout, one re-authentication on 401, the call
//! recorder with its path templates, and the decoding of answers into [`Reply`] or
//! [`Error`].

use osauth::Session;
use osauth::services::{NETWORK, ServiceType};
use reqwest::{Method, Url};
use serde_json::Value;

use super::{OCTAVIA, OpenStackClient, Reply, error_message};
use crate::error::{Error, Result, Service};

impl OpenStackClient {
    /// Makes one call; on 401 re-authenticates once and repeats it.
    ///
    /// `path` is relative to the service's versioned endpoint, e.g. `["lbaas", "pools", id,
    /// "members"]` for Octavia or `["floatingips"]` for Neutron.
    ///
    /// # Errors
    /// [`Error::Api`] for an error status, [`Error::Timeout`] and [`Error::Transport`] when no
    /// answer arrived.
    pub async fn call(
        &self,
        service: Service,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Reply> {
        self.call_with_headers(service, method, path, query, body, &[])
            .await
    }

    /// Like [`OpenStackClient::call`], with extra request headers (e.g. Neutron's
    /// `If-Match: revision_number=N`).
    ///
    /// # Errors
    /// As [`OpenStackClient::call`].
    pub async fn call_with_headers(
        &self,
        service: Service,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Reply> {
        match self
            .call_once(service, method.clone(), path, query, body, headers)
            .await
        {
            Err(Error::Api { status: 401, .. }) => {
                let (fresh, _) = Self::open(&self.config).await?;
                *self.session.write().await = fresh;
                self.call_once(service, method, path, query, body, headers)
                    .await
            }
            other => other,
        }
    }

    async fn call_once(
        &self,
        service: Service,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        headers: &[(&str, String)],
    ) -> Result<Reply> {
        self.limiter.acquire().await;
        let session = self.session.read().await.clone();
        let started = tokio::time::Instant::now();
        let shown = format!("/{}", path.join("/"));
        self.activity.start();
        let result = match service {
            Service::Octavia => {
                self.send(
                    &session, OCTAVIA, service, &method, path, query, body, headers, &shown,
                )
                .await
            }
            Service::Neutron => {
                self.send(
                    &session, NETWORK, service, &method, path, query, body, headers, &shown,
                )
                .await
            }
        };
        if let Some(rec) = &self.recorder {
            let status = match &result {
                Ok(r) => r.status,
                Err(Error::Api { status, .. }) => *status,
                Err(_) => 0,
            };
            rec.record(
                service,
                method.as_str(),
                &template(path),
                status,
                started.elapsed(),
            );
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    async fn send<S: ServiceType + Send + Copy>(
        &self,
        session: &Session,
        svc: S,
        service: Service,
        method: &Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        headers: &[(&str, String)],
        shown: &str,
    ) -> Result<Reply> {
        let mut rb = session.request(svc, method.clone(), path);
        if !query.is_empty() {
            rb = rb.query(query);
        }
        for (name, value) in headers {
            rb = rb.header(*name, value.as_str());
        }
        if let Some(p) = &self.project_id {
            rb = rb.header("X-Project-Id", p.as_str());
        }
        if let Some(b) = body {
            rb = rb.json(b);
        }
        let transport = |message: String| Error::Transport {
            service,
            method: method.to_string(),
            path: shown.to_owned(),
            message,
        };
        let timeout = || Error::Timeout {
            service,
            method: method.to_string(),
            path: shown.to_owned(),
            timeout: self.call_timeout,
        };
        let exchange = async {
            let response = rb
                .send_unchecked()
                .await
                .map_err(|e| transport(e.to_string()))?;
            let status = response.status().as_u16();
            let request_id = response
                .headers()
                .get("x-openstack-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = response
                .bytes()
                .await
                .map_err(|e| transport(e.to_string()))?;
            Ok::<_, Error>((status, request_id, bytes))
        };
        let (status, request_id, bytes) = tokio::time::timeout(self.call_timeout, exchange)
            .await
            .map_err(|_| timeout())??;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if (200..300).contains(&status) {
            return Ok(Reply {
                status,
                body,
                request_id,
            });
        }
        Err(Error::Api {
            service,
            method: method.to_string(),
            path: shown.to_owned(),
            status,
            message: error_message(&body),
            request_id,
        })
    }

    /// `GET` an absolute URL on the session (version documents).
    ///
    /// # Errors
    /// As [`OpenStackClient::call`].
    pub async fn get_absolute(&self, url: Url) -> Result<Value> {
        self.limiter.acquire().await;
        let session = self.session.read().await.clone();
        let shown = url.path().to_owned();
        let started = tokio::time::Instant::now();
        self.activity.start();
        let fut = async {
            let mut rb = session.client().request(Method::GET, url);
            if let Some(p) = &self.project_id {
                rb = rb.header("X-Project-Id", p.as_str());
            }
            let resp = rb.send_unchecked().await.map_err(|e| Error::Transport {
                service: Service::Octavia,
                method: "GET".into(),
                path: shown.clone(),
                message: e.to_string(),
            })?;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            Ok::<_, Error>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.call_timeout, fut)
            .await
            .map_err(|_| Error::Timeout {
                service: Service::Octavia,
                method: "GET".into(),
                path: shown.clone(),
                timeout: self.call_timeout,
            })??;
        if let Some(rec) = &self.recorder {
            rec.record(Service::Octavia, "GET", "/", status, started.elapsed());
        }
        if (200..300).contains(&status) || status == 300 {
            Ok(body)
        } else {
            Err(Error::Api {
                service: Service::Octavia,
                method: "GET".into(),
                path: shown,
                status,
                message: error_message(&body),
                request_id: None,
            })
        }
    }
}

/// A path with ids replaced by `{id}`, for metrics labels: `/lbaas/pools/{id}/members`.
pub fn template(path: &[&str]) -> String {
    let mut out = String::new();
    for (i, seg) in path.iter().enumerate() {
        out.push('/');
        let is_id =
            i > 0 && (seg.len() >= 16 && seg.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
        out.push_str(if is_id { "{id}" } else { seg });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates_hide_ids() {
        let id = "0d6f3c1e-6b1a-4c59-9a0b-6b0f1e2d3c4b";
        assert_eq!(
            template(&["lbaas", "pools", id, "members"]),
            "/lbaas/pools/{id}/members"
        );
        assert_eq!(template(&["floatingips"]), "/floatingips");
    }
}
