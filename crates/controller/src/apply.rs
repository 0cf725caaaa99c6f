//! Writes an engine [`Outcome`] to Kubernetes: Events, the `load-balancer-id`/`-address`
//! annotations and the Service's status, each only where it differs.
//!
//! The kks-lb controller applies every outcome through an [`Applier`]; an embedding
//! controller can do the same, or write the outcome its own way.

use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};

use crate::engine::{Outcome, StatusUpdate};
use crate::events::Publisher;
use crate::status::{
    annotated, annotations_patch, members_condition, release_metadata_patch, release_status_patch,
    status_patch, with_members_condition,
};

/// A write to the Service failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A patch was refused or did not arrive.
    #[error("cannot patch the {what} of the Service: {source}")]
    Patch {
        /// `status`, `annotations` or `metadata`.
        what: &'static str,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// The Service has no name (never from the API server).
    #[error("the Service has no name")]
    Unnamed,
}

/// What applying an outcome wrote.
#[derive(Debug, Clone, Default)]
pub struct Applied {
    /// The Service as the annotation write leaves it, computed locally from the object the
    /// outcome was made for (not the API's answer, which may carry someone else's newer
    /// change); `None` when no annotation was written.
    pub annotated: Option<Service>,
}

/// Applies outcomes with one field manager and one Event [`Publisher`].
pub struct Applier {
    client: Client,
    events: Publisher,
    field_manager: String,
}

impl std::fmt::Debug for Applier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Applier")
            .field("field_manager", &self.field_manager)
            .finish_non_exhaustive()
    }
}

impl Applier {
    /// An applier writing as `field_manager` and publishing through `events`.
    pub fn new(client: Client, events: Publisher, field_manager: impl Into<String>) -> Self {
        Applier {
            client,
            events,
            field_manager: field_manager.into(),
        }
    }

    /// The Event publisher (to forget a Service that is gone).
    pub fn events(&self) -> &Publisher {
        &self.events
    }

    /// Writes `outcome` for `svc`, in order: warnings (when changed or forced), Events,
    /// annotations, status with the members' condition and then its `MembersDown` /
    /// `MembersRecovered` Event when it changed (or, for a release, the status then the annotations and the
    /// finalizer in one write guarded by the `resourceVersion`). Publishing Events is best
    /// effort; a failed patch stops the writes.
    ///
    /// # Errors
    /// A patch failed.
    pub async fn apply(&self, svc: &Service, outcome: &Outcome) -> Result<Applied, Error> {
        if let Some(w) = &outcome.warnings {
            self.events.publish_warnings(svc, &w.notes, w.force).await;
        }
        for note in &outcome.events {
            self.events.publish(svc, note).await;
        }
        let mut applied = Applied::default();
        let current = match &outcome.annotations {
            Some(a) => match annotations_patch(svc, &a.load_balancer_id, a.address.as_deref()) {
                Some(patch) => {
                    applied.annotated =
                        Some(annotated(svc, &a.load_balancer_id, a.address.as_deref()));
                    self.patch_metadata(svc, "annotations", &patch).await?
                }
                None => svc.clone(),
            },
            None => svc.clone(),
        };
        match &outcome.status {
            StatusUpdate::Keep => {}
            StatusUpdate::Set { ingress, readiness } => {
                let now = k8s_openapi::jiff::Timestamp::now();
                let mut patch = status_patch(&current, ingress, readiness, now);
                if let Some(h) = &outcome.health {
                    patch = with_members_condition(patch, &current, &h.condition, now);
                }
                if let Some(patch) = patch {
                    self.patch_status(&current, &patch).await?;
                }
                if let Some(h) = &outcome.health {
                    crate::health::publish(
                        &self.events,
                        svc,
                        members_condition(&current),
                        &h.condition,
                    )
                    .await;
                }
            }
            StatusUpdate::Release => {
                let released = match release_status_patch(&current) {
                    Some(patch) => self.patch_status(&current, &patch).await?,
                    None => current,
                };
                if let Some(patch) = release_metadata_patch(&released) {
                    self.patch_metadata(&released, "metadata", &patch).await?;
                }
            }
        }
        Ok(applied)
    }

    fn api(&self, svc: &Service) -> Api<Service> {
        Api::namespaced(self.client.clone(), &svc.namespace().unwrap_or_default())
    }

    /// Patches `/status` with a strategic merge patch; returns the updated Service.
    async fn patch_status(
        &self,
        svc: &Service,
        patch: &serde_json::Value,
    ) -> Result<Service, Error> {
        let name = svc.metadata.name.as_deref().ok_or(Error::Unnamed)?;
        self.api(svc)
            .patch_status(
                name,
                &PatchParams::apply(&self.field_manager),
                &Patch::Strategic(patch),
            )
            .await
            .map_err(|source| Error::Patch {
                what: "status",
                source,
            })
    }

    /// Patches the Service's metadata with a merge patch; returns the updated Service.
    async fn patch_metadata(
        &self,
        svc: &Service,
        what: &'static str,
        patch: &serde_json::Value,
    ) -> Result<Service, Error> {
        let name = svc.metadata.name.as_deref().ok_or(Error::Unnamed)?;
        self.api(svc)
            .patch(
                name,
                &PatchParams::apply(&self.field_manager),
                &Patch::Merge(patch),
            )
            .await
            .map_err(|source| Error::Patch { what, source })
    }
}
