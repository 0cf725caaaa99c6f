//! Orphan collection: load balancers and floating IPs that carry this cluster's tag and a
//! Service UID that no longer exists (a Service deleted with its finalizer stripped, a
//! cluster restored from a backup) are deleted once they have been orphans for the grace
//! period (`--orphan-grace`, 0 disables).
//!
//! # Guarantees
//! - At most one sweep per `--resync` interval: two list calls to the cloud (filtered by the
//!   cluster tag), then one list of Services; never one read per load balancer.
//! - The cloud is listed before the Services, so a Service created during the sweep is seen.
//!   When the Service list fails, nothing is deleted.
//! - A load balancer named after a live Service (the Service recreated under the same
//!   namespace and name) is not an orphan: that Service adopts it with its VIP and floating
//!   IP. A floating IP kept by `keep-floatingip` ([`kks_lb_planner::KEEP_TAG`]) is never
//!   collected. Nothing marked for another cluster or unmarked is touched.
//! - An object is deleted only after it was seen as an orphan for the whole grace period
//!   by this leader (a new leader starts counting again), with a log line and
//!   `kks_lb_orphans_deleted_total{kind}`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kks_lb_adapter::inventory::{self, CloudObject, Kind, Scope};
use kks_lb_adapter::{CapabilitiesCache, OpenStackClient};
use kks_lb_planner::standing::{Live, Standing, floating_ip_standing, lb_standing};
use kks_lb_planner::{ClusterConfig, cluster_tag, lb_name};
use kube::api::{Api, ListParams};
use kube::{Client, ResourceExt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// The live Services of the cluster, for the verdicts: every Service counts (whatever its
/// type or class), so nothing a Service may still hold is ever collected.
pub fn live_of(services: &[Service], cluster_name: &str) -> Live {
    let mut live = Live::default();
    for s in services {
        if let Some(uid) = &s.metadata.uid {
            live.uids.insert(uid.clone());
        }
        let ns = s.namespace().unwrap_or_default();
        let name = s.name_any();
        live.lb_names.insert(lb_name(cluster_name, &ns, &name));
        live.services.insert(format!("{ns}/{name}"));
    }
    live
}

/// Where each object stands for `cluster`; objects that are none of its business are left
/// out. Load balancers are judged first: a floating IP bound to one of ours that is not an
/// orphan stands with it.
pub fn classify(
    objects: &[CloudObject],
    cluster: &ClusterConfig,
    live: &Live,
) -> Vec<(CloudObject, Standing)> {
    let mut out: Vec<(CloudObject, Standing)> = objects
        .iter()
        .filter(|o| o.kind == Kind::LoadBalancer)
        .filter_map(|o| {
            lb_standing(
                &cluster.cluster_id,
                &cluster.cluster_name,
                live,
                &o.name,
                &o.tags,
                &o.description,
            )
            .map(|s| (o.clone(), s))
        })
        .collect();
    let served: BTreeSet<String> = out
        .iter()
        .filter(|(_, s)| matches!(s, Standing::Ok | Standing::Unmarked))
        .filter_map(|(o, _)| o.port_id.clone())
        .collect();
    out.extend(
        objects
            .iter()
            .filter(|o| o.kind == Kind::FloatingIp)
            .filter_map(|o| {
                floating_ip_standing(
                    &cluster.cluster_id,
                    live,
                    &served,
                    &o.tags,
                    &o.description,
                    o.port_id.as_deref(),
                )
                .map(|s| (o.clone(), s))
            }),
    );
    out
}

/// Lists every Service of the cluster (one call).
///
/// # Errors
/// The API server's.
pub async fn list_services(client: &Client) -> Result<Vec<Service>, kube::Error> {
    Ok(Api::<Service>::all(client.clone())
        .list(&ListParams::default())
        .await?
        .items)
}

/// The orphan collector of one leadership term: when each orphan was first seen.
pub struct Collector {
    kube: Client,
    cloud: OpenStackClient,
    cluster: ClusterConfig,
    grace: Duration,
    metrics: Metrics,
    caps: CapabilitiesCache,
    first_seen: HashMap<(Kind, String), Instant>,
}

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collector")
            .field("cluster", &self.cluster)
            .field("grace", &self.grace)
            .field("orphans", &self.first_seen.len())
            .finish_non_exhaustive()
    }
}

impl Collector {
    /// A collector deleting orphans older than `grace`.
    pub fn new(
        kube: Client,
        cloud: OpenStackClient,
        cluster: ClusterConfig,
        grace: Duration,
        metrics: Metrics,
    ) -> Self {
        Collector {
            kube,
            cloud,
            cluster,
            grace,
            metrics,
            caps: CapabilitiesCache::default(),
            first_seen: HashMap::new(),
        }
    }

    /// Sweeps every `every` until `stop` fires; does nothing when the grace is zero.
    pub async fn run(mut self, every: Duration, stop: CancellationToken) {
        if self.grace.is_zero() {
            tracing::info!("orphan collection disabled (--orphan-grace 0)");
            return;
        }
        loop {
            let deleted = self.sweep().await;
            tracing::debug!(deleted, "orphan sweep done");
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// One sweep: list, judge, delete the orphans past their grace. Returns how many objects
    /// it deleted. Failures are logged; the next sweep tries again.
    pub async fn sweep(&mut self) -> usize {
        let tags = match self.caps.get(&self.cloud, &self.cluster.provider).await {
            Ok(c) => c.tags(),
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "orphan sweep: cannot discover capabilities"
                );
                return 0;
            }
        };
        let tag = cluster_tag(&self.cluster.cluster_id);
        let objects = match inventory::inventory(&self.cloud, &tag, tags, Scope::Tagged).await {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "orphan sweep: cannot list the cloud"
                );
                return 0;
            }
        };
        let services = match list_services(&self.kube).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    "orphan sweep: cannot list Services; deleting nothing"
                );
                return 0;
            }
        };
        let live = live_of(&services, &self.cluster.cluster_name);
        let now = Instant::now();
        let orphans: BTreeMap<(Kind, String), CloudObject> =
            classify(&objects, &self.cluster, &live)
                .into_iter()
                .filter(|(_, s)| *s == Standing::Orphan)
                .map(|(o, _)| ((o.kind, o.id.clone()), o))
                .collect();
        self.first_seen.retain(|k, _| orphans.contains_key(k));
        let mut deleted = 0;
        // Floating IPs first: a load balancer's cascade delete frees its VIP port, and the
        // address bound to it is judged with it.
        let mut due: Vec<&CloudObject> = orphans
            .iter()
            .filter(|(k, _)| {
                let first = *self.first_seen.entry((*k).clone()).or_insert(now);
                now.duration_since(first) >= self.grace
            })
            .map(|(_, o)| o)
            .collect();
        due.sort_by_key(|o| o.kind == Kind::LoadBalancer);
        for o in due {
            match inventory::delete(&self.cloud, o).await {
                Ok(()) => {
                    tracing::info!(
                        kind = o.kind.as_str(),
                        id = %o.id,
                        name = %o.name,
                        description = %o.description,
                        grace = ?self.grace,
                        "deleted an orphan: its Service no longer exists"
                    );
                    self.metrics.orphan_deleted(o.kind.as_str());
                    self.first_seen.remove(&(o.kind, o.id.clone()));
                    deleted += 1;
                }
                Err(e) => tracing::warn!(
                    error = &e as &dyn std::error::Error,
                    kind = o.kind.as_str(),
                    id = %o.id,
                    "cannot delete an orphan; the next sweep tries again"
                ),
            }
        }
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn svc(ns: &str, name: &str, uid: &str) -> Service {
        Service {
            metadata: ObjectMeta {
                namespace: Some(ns.into()),
                name: Some(name.into()),
                uid: Some(uid.into()),
                ..ObjectMeta::default()
            },
            ..Service::default()
        }
    }

    fn cluster() -> ClusterConfig {
        ClusterConfig {
            cluster_name: "kks".into(),
            cluster_id: "c1".into(),
            subnet_id: None,
            network_id: None,
            member_subnet_id: None,
            floating_network_id: None,
            provider: "amphora".into(),
        }
    }

    fn lb(id: &str, name: &str, uid: &str, port: &str) -> CloudObject {
        CloudObject {
            kind: Kind::LoadBalancer,
            id: id.into(),
            name: name.into(),
            tags: vec![
                name.into(),
                "kks-lb-cluster:c1".into(),
                format!("kks-lb-service:{uid}"),
            ],
            description: String::new(),
            status: "ACTIVE".into(),
            port_id: Some(port.into()),
        }
    }

    fn fip(id: &str, uid: &str, port: Option<&str>, ns_name: &str) -> CloudObject {
        CloudObject {
            kind: Kind::FloatingIp,
            id: id.into(),
            name: "203.0.113.9".into(),
            tags: vec!["kks-lb-cluster:c1".into(), format!("kks-lb-service:{uid}")],
            description: format!(
                "kks-lb-cluster:c1 kks-lb-service:{uid} Floating IP for Kubernetes Service {ns_name} in cluster kks"
            ),
            status: "ACTIVE".into(),
            port_id: port.map(str::to_owned),
        }
    }

    #[test]
    fn the_objects_of_a_gone_service_are_orphans_and_a_recreated_name_keeps_its_own() {
        let objects = vec![
            lb("lb-gone", "kube_service_kks_a_web", "u-gone", "p1"),
            fip("f-gone", "u-gone", Some("p1"), "a/web"),
            lb("lb-old", "kube_service_kks_b_api", "u-old", "p2"),
            fip("f-old", "u-old", Some("p2"), "b/api"),
            lb("lb-live", "kube_service_kks_c_db", "u-live", "p3"),
        ];
        // b/api was recreated (new UID), c/db is live, a/web is gone.
        let live = live_of(&[svc("b", "api", "u-new"), svc("c", "db", "u-live")], "kks");
        let verdicts: BTreeMap<String, Standing> = classify(&objects, &cluster(), &live)
            .into_iter()
            .map(|(o, s)| (o.id, s))
            .collect();
        assert_eq!(verdicts["lb-gone"], Standing::Orphan);
        assert_eq!(verdicts["f-gone"], Standing::Orphan);
        assert_eq!(verdicts["lb-old"], Standing::Ok, "adopted by the new b/api");
        assert_eq!(verdicts["f-old"], Standing::Ok);
        assert_eq!(verdicts["lb-live"], Standing::Ok);
    }
}
