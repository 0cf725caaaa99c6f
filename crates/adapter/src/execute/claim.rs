//! Claims on existing floating IPs (the Service's `loadBalancerIP`, a kept address taken
//! back): marks checked, then bound with Neutron's revision check so a lost race is
//! reported instead of moving an attached address.

use kks_lb_octavia_model::FloatingIp;
use reqwest::Method;
use serde_json::{Value, json};

use super::{Run, str_at};
use crate::error::{Error, Result, Service};

/// A floating IP found free to bind, with the revision it was read at.
#[derive(Debug)]
pub(super) struct FreeAddress {
    pub(super) id: String,
    pub(super) revision: Option<u64>,
}

impl Run<'_> {
    /// Binds the free address `free` to `port` with Neutron's revision check
    /// (`If-Match: revision_number=N`, N as read): a claim that lost a race gets 412 and is
    /// reported, the address stays where the winner bound it. Retryable failures are sent
    /// again with the same revision; a 412 after one of them is checked against the
    /// address's binding now (our earlier attempt may have landed).
    ///
    /// # Errors
    /// [`Error::FloatingIpReserved`] when another claim won, API errors.
    pub(super) async fn claim_address(
        &self,
        address: &str,
        free: &FreeAddress,
        port: &str,
    ) -> Result<()> {
        let body = json!({ "floatingip": { "port_id": port } });
        let mut headers = Vec::new();
        if let Some(rev) = free.revision {
            headers.push(("If-Match", format!("revision_number={rev}")));
        }
        let mut attempt = 0;
        loop {
            match self
                .ex
                .client
                .call_with_headers(
                    Service::Neutron,
                    Method::PUT,
                    &["floatingips", &free.id],
                    &[],
                    Some(&body),
                    &headers,
                )
                .await
            {
                Err(e) if e.status() == Some(412) => {
                    let now = self.lookup_address(address).await?;
                    if now.as_ref().and_then(|f| str_at(f, "/port_id")) == Some(port) {
                        return Ok(());
                    }
                    return Err(Error::FloatingIpReserved {
                        address: address.to_owned(),
                        why: "another claim changed it between our read and our bind (revision check failed)"
                            .to_owned(),
                    });
                }
                Err(e) if e.is_retryable() && attempt + 1 < self.ex.cfg.max_attempts => {
                    tokio::time::sleep(self.ex.cfg.backoff.delay(attempt)).await;
                    attempt += 1;
                }
                Err(e) => return Err(e),
                Ok(_) => return Ok(()),
            }
        }
    }

    /// The project's floating IP `address`, as Neutron lists it.
    pub(super) async fn lookup_address(&self, address: &str) -> Result<Option<Value>> {
        let r = self
            .neutron(
                Method::GET,
                &["floatingips"],
                &[("floating_ip_address", address.to_owned())],
                None,
                true,
            )
            .await?;
        Ok(r.body
            .get("floatingips")
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned())
    }

    /// The project's floating IP `address` when it is free for this Service to bind to
    /// `port` (`want` carries the Service's owner marks); `None` when it is bound to `port`
    /// already.
    ///
    /// # Errors
    /// [`Error::FloatingIpNotFound`], [`Error::FloatingIpInUse`] (bound elsewhere),
    /// [`Error::FloatingIpReserved`] (marked for another Service or cluster).
    pub(super) async fn free_address(
        &self,
        address: &str,
        port: &str,
        want: &FloatingIp,
    ) -> Result<Option<FreeAddress>> {
        let Some(fip) = self.lookup_address(address).await? else {
            return Err(Error::FloatingIpNotFound {
                address: address.to_owned(),
            });
        };
        match str_at(&fip, "/port_id") {
            Some(p) if p == port => Ok(None),
            Some(p) => Err(Error::FloatingIpInUse {
                address: address.to_owned(),
                port_id: p.to_owned(),
            }),
            None => {
                let tags: Vec<String> = fip
                    .get("tags")
                    .and_then(|t| serde_json::from_value(t.clone()).ok())
                    .unwrap_or_default();
                let description = str_at(&fip, "/description").unwrap_or_default();
                kks_lb_planner::may_claim(&want.tags, &want.description, &tags, description)
                    .map_err(|why| Error::FloatingIpReserved {
                        address: address.to_owned(),
                        why,
                    })?;
                Ok(Some(FreeAddress {
                    id: str_at(&fip, "/id").unwrap_or_default().to_owned(),
                    revision: fip.get("revision_number").and_then(Value::as_u64),
                }))
            }
        }
    }
}
