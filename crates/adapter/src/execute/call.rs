//! The call path: every call with retries of retryable errors (waiting out a locked load
//! balancer on 409), and the per-service, update and delete helpers the steps use.

use kks_lb_planner::{Changes, ObjRef};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::{Executor, Run};
use crate::client::Reply;
use crate::error::{Result, Service};

impl Executor {
    /// Calls with retries of retryable errors. `lb` is waited for on 409 (locked).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call(
        &self,
        service: Service,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
        lb: Option<&str>,
    ) -> Result<Reply> {
        let mut attempt = 0;
        loop {
            match self
                .client
                .call(service, method.clone(), path, query, body)
                .await
            {
                Ok(r) => return Ok(r),
                Err(e) => {
                    // A create is sent again here only when the cloud said it did nothing
                    // (409 locked, 429); after a 5xx, a timeout or a dropped connection its
                    // outcome is unknown and the caller looks it up first.
                    let refused = matches!(e.status(), Some(409 | 429));
                    // A full subnet is not freed within a few seconds: the reconcile retries
                    // it on its own backoff instead of sending the create again here.
                    let retry = e.is_retryable()
                        && !e.is_subnet_exhausted()
                        && (idempotent || refused)
                        && attempt + 1 < self.cfg.max_attempts;
                    if !retry {
                        return Err(e);
                    }
                    tracing::debug!(error = &e as &dyn std::error::Error, attempt, "retrying");
                    match (e.status(), lb) {
                        (Some(409), Some(id)) => {
                            self.wait_for(id, Instant::now(), false).await.map(|_| ())?;
                        }
                        _ => tokio::time::sleep(self.cfg.backoff.delay(attempt)).await,
                    }
                    attempt += 1;
                }
            }
        }
    }
}

impl Run<'_> {
    pub(super) async fn octavia(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Reply> {
        let lb = self.lb_id();
        self.ex
            .call(
                Service::Octavia,
                method,
                path,
                &[],
                body,
                idempotent,
                lb.as_deref(),
            )
            .await
    }

    pub(super) async fn neutron(
        &self,
        method: Method,
        path: &[&str],
        query: &[(&str, String)],
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Reply> {
        self.ex
            .call(
                Service::Neutron,
                method,
                path,
                query,
                body,
                idempotent,
                None,
            )
            .await
    }

    pub(super) async fn delete(
        &self,
        service: Service,
        path: &[&str],
        query: &[(&str, String)],
    ) -> Result<()> {
        let lb = self.lb_id();
        match self
            .ex
            .call(
                service,
                Method::DELETE,
                path,
                query,
                None,
                true,
                lb.as_deref(),
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The project sent with every create in noauth mode.
    pub(super) fn project(&self) -> Option<String> {
        self.ex.client.noauth_project().map(str::to_owned)
    }

    /// `PUT /v2/lbaas/<collection>/{id}` with the changed fields.
    pub(super) async fn update(
        &self,
        n: usize,
        op: &'static str,
        r: &ObjRef,
        kind: &str,
        collection: &str,
        changes: &Changes,
    ) -> Result<()> {
        let id = self.resolve(n, op, r)?;
        let body = json!({ kind: changes_body(changes) });
        self.octavia(Method::PUT, &["lbaas", collection, &id], Some(&body), true)
            .await?;
        Ok(())
    }

    /// `DELETE /v2/lbaas/<collection>/{id}` (404 = already gone); forgets the id.
    pub(super) async fn remove(
        &mut self,
        n: usize,
        op: &'static str,
        r: &ObjRef,
        collection: &str,
    ) -> Result<()> {
        let id = self.resolve(n, op, r)?;
        self.delete(Service::Octavia, &["lbaas", collection, &id], &[])
            .await?;
        self.ids.remove(&r.key);
        Ok(())
    }
}

fn changes_body(changes: &Changes) -> Value {
    Value::Object(
        changes
            .iter()
            .map(|(k, c)| (k.clone(), c.to.clone()))
            .collect(),
    )
}
