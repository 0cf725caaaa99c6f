//! [`inventory`]: the load balancers and floating IPs of a cluster, each read with one list
//! call, and [`delete`] of one of them. Orphan collection and `kks-lb audit` judge them with
//! [`kks_lb_planner::standing`].
//!
//! [`rebuild`]: every load balancer of the cluster as [`crate::observe()`] would read it, from
//! list calls plus one status tree per load balancer, for a controller that starts (or gains
//! leadership) with load balancers already in the cloud; and the names of all the project's
//! load balancers, which prove that a Service's load balancer does not exist yet.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use kks_lb_octavia_model::api::neutron::{FloatingIp as NeutronFloatingIp, FloatingIpList};
use kks_lb_octavia_model::api::octavia::{
    HealthMonitorResponse, ListenerResponse, LoadBalancerList, LoadBalancerResponse, MemberStatus,
    PoolResponse, StatusRoot,
};
use kks_lb_octavia_model::{Member, ProvisioningStatus, Topology};
use kks_lb_planner::owner::{Ownership, ownership_of};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{OpenStackClient, Reply};
use crate::error::{Error, Result, Service};
use crate::poller::LbState;

/// The kind of a cloud object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// An Octavia load balancer.
    LoadBalancer,
    /// A Neutron floating IP.
    FloatingIp,
}

impl Kind {
    /// `loadbalancer` or `floatingip` (the metric label and the audit column).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::LoadBalancer => "loadbalancer",
            Kind::FloatingIp => "floatingip",
        }
    }
}

/// One load balancer or floating IP as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudObject {
    /// Its kind.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// The load balancer's name, or the floating IP's address.
    pub name: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its description.
    pub description: String,
    /// The load balancer's provisioning status, or the floating IP's status.
    pub status: String,
    /// The load balancer's VIP port, or the port the floating IP is bound to.
    pub port_id: Option<String>,
}

/// Which objects [`inventory`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only those tagged with the cluster tag (one filtered list call per kind): what
    /// orphan collection needs. Without tags on the cloud, load balancers are listed whole.
    Tagged,
    /// Every load balancer and floating IP of the project, to find also the ones that are
    /// ours by name only or someone else's (`kks-lb audit`).
    All,
}

fn decode<T: DeserializeOwned>(what: &str, reply: Reply) -> Result<T> {
    serde_json::from_value(reply.body).map_err(|e| Error::Decode {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

/// Lists the load balancers and floating IPs of the project: with [`Scope::Tagged`] those
/// marked for `cluster_tag` (load balancers by a tag-filtered list when Octavia has tags,
/// `tags_supported`; floating IPs by their tags or owner marker), with [`Scope::All`] all of
/// them. Two calls.
///
/// # Errors
/// API and decode errors.
pub async fn inventory(
    client: &OpenStackClient,
    cluster_tag: &str,
    tags_supported: bool,
    scope: Scope,
) -> Result<Vec<CloudObject>> {
    let by_tag = [("tags", cluster_tag.to_owned())];
    let lb_query: &[(&str, String)] = if scope == Scope::Tagged && tags_supported {
        &by_tag
    } else {
        &[]
    };
    let lbs: LoadBalancerList = decode(
        "load balancer list",
        client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "loadbalancers"],
                lb_query,
                None,
            )
            .await?,
    )?;
    // Floating IPs are listed whole and kept when their tags or the owner marker leading
    // their description name the cluster: one whose tagging call never ran is marked only,
    // and Neutron filters descriptions by exact value.
    let mut fips: FloatingIpList = decode(
        "floating IP list",
        client
            .call(Service::Neutron, Method::GET, &["floatingips"], &[], None)
            .await?,
    )?;
    if scope == Scope::Tagged {
        let cluster = kks_lb_planner::Tag::parse(cluster_tag);
        fips.floatingips.retain(|f| {
            let marks = kks_lb_planner::owner::Marks::of(&f.tags, &f.description);
            matches!(&cluster, Some(kks_lb_planner::Tag::Cluster(id)) if marks.clusters.contains(id))
        });
    }
    let mut out: Vec<CloudObject> = lbs
        .loadbalancers
        .into_iter()
        .filter(|lb| lb.provisioning_status != kks_lb_octavia_model::ProvisioningStatus::Deleted)
        .map(|lb| CloudObject {
            kind: Kind::LoadBalancer,
            id: lb.id,
            name: lb.name,
            tags: lb.tags,
            description: lb.description,
            status: lb.provisioning_status.to_string(),
            port_id: lb.vip_port_id,
        })
        .collect();
    out.extend(fips.floatingips.into_iter().map(|f| CloudObject {
        kind: Kind::FloatingIp,
        id: f.id,
        name: f.floating_ip_address,
        tags: f.tags,
        description: f.description,
        status: f.status,
        port_id: f.port_id,
    }));
    Ok(out)
}

/// Deletes one object: a load balancer with its whole tree (`cascade=true`), or a floating
/// IP. One already gone counts as deleted.
///
/// # Errors
/// API errors (a load balancer in PENDING_* answers 409; the next sweep tries again).
pub async fn delete(client: &OpenStackClient, object: &CloudObject) -> Result<()> {
    let result = match object.kind {
        Kind::LoadBalancer => {
            client
                .call(
                    Service::Octavia,
                    Method::DELETE,
                    &["lbaas", "loadbalancers", &object.id],
                    &[("cascade", "true".to_owned())],
                    None,
                )
                .await
        }
        Kind::FloatingIp => {
            client
                .call(
                    Service::Neutron,
                    Method::DELETE,
                    &["floatingips", &object.id],
                    &[],
                    None,
                )
                .await
        }
    };
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}

/// Every list page of `GET <path>` (`limit`/`marker`, following the `<key>_links` `next`
/// link), the items under `key`.
async fn list_all<T: DeserializeOwned>(
    client: &OpenStackClient,
    service: Service,
    path: &[&str],
    key: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let mut query: Vec<(&str, String)> = Vec::new();
        if service == Service::Octavia {
            query.push(("limit", LIST_PAGE.to_string()));
        }
        if let Some(m) = &marker {
            query.push(("marker", m.clone()));
        }
        let mut reply = client
            .call(service, Method::GET, path, &query, None)
            .await?;
        let items = reply
            .body
            .get_mut(key)
            .map(serde_json::Value::take)
            .unwrap_or_default();
        let page: Vec<serde_json::Value> =
            serde_json::from_value(items).map_err(|e| Error::Decode {
                what: format!("{key} list"),
                message: e.to_string(),
            })?;
        let more = reply
            .body
            .get(format!("{key}_links"))
            .and_then(serde_json::Value::as_array)
            .is_some_and(|links| {
                links
                    .iter()
                    .any(|l| l.get("rel").and_then(serde_json::Value::as_str) == Some("next"))
            });
        marker = page
            .last()
            .and_then(|v| v.get("id"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        for v in page {
            out.push(serde_json::from_value(v).map_err(|e| Error::Decode {
                what: format!("{key} list"),
                message: e.to_string(),
            })?);
        }
        if !more || marker.is_none() {
            return Ok(out);
        }
    }
}

/// One of the cluster's load balancers as [`rebuild`] read it.
#[derive(Debug, Clone)]
struct RebuiltTree {
    /// The tree without its floating IP; members carry what the status tree shows
    /// (see [`Rebuilt::take`] for the rest).
    topology: Topology,
    state: LbState,
    tags: Vec<String>,
    description: String,
}

/// The cluster's load balancers rebuilt from list calls, for a controller that starts (or
/// gains leadership) with load balancers already in the cloud: what [`crate::observe()`] would
/// read of each, at a fraction of the calls. See [`rebuild`].
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// The name of every load balancer of the project (any owner).
    names: HashSet<String>,
    trees: Vec<RebuiltTree>,
    floatingips: Vec<NeutronFloatingIp>,
}

/// Reads every load balancer of the project with list calls, and the cluster's ones (marked
/// with `cluster_tag`) as trees:
/// `GET /v2/lbaas/loadbalancers`, `/listeners`, `/pools`, `/healthmonitors` (each paginated,
/// the whole project), `GET /v2.0/floatingips` once, and one
/// `GET /v2/lbaas/loadbalancers/{id}/status` per load balancer of the cluster for its
/// members: N + 5 calls (plus a page per 1,000 objects) instead of about six per load balancer.
///
/// The status tree gives each member's id, name, address, port and statuses, not its
/// `weight`, `subnet_id` or `monitor_port`: [`Rebuilt::take`] takes those from the desired
/// topology (as kks-lb wrote them). A load balancer in `PENDING_*`, whose status tree cannot be
/// read, or whose tree lacks a pool a listener names, is left out: its Service observes it
/// as usual.
///
/// # Errors
/// API and decode errors of the list calls.
pub async fn rebuild(client: &OpenStackClient, cluster_tag: &str) -> Result<Rebuilt> {
    let lbs = crate::poller::list_loadbalancers(client, None).await?;
    let cluster = kks_lb_planner::Tag::parse(cluster_tag);
    let ours = |lb: &LoadBalancerResponse| {
        let marks = kks_lb_planner::owner::Marks::of(&lb.tags, &lb.description);
        matches!(&cluster, Some(kks_lb_planner::Tag::Cluster(id)) if marks.clusters.contains(id))
    };
    let names: HashSet<String> = lbs
        .iter()
        .filter(|lb| lb.provisioning_status != ProvisioningStatus::Deleted)
        .map(|lb| lb.name.clone())
        .collect();
    let ours: Vec<LoadBalancerResponse> = lbs
        .into_iter()
        .filter(|lb| ours(lb) && !lb.provisioning_status.is_pending())
        .filter(|lb| lb.provisioning_status != ProvisioningStatus::Deleted)
        .collect();
    if ours.is_empty() {
        return Ok(Rebuilt {
            names,
            trees: Vec::new(),
            floatingips: Vec::new(),
        });
    }
    let listeners: Vec<ListenerResponse> = list_all(
        client,
        Service::Octavia,
        &["lbaas", "listeners"],
        "listeners",
    )
    .await?;
    let pools: Vec<PoolResponse> =
        list_all(client, Service::Octavia, &["lbaas", "pools"], "pools").await?;
    let monitors: Vec<HealthMonitorResponse> = list_all(
        client,
        Service::Octavia,
        &["lbaas", "healthmonitors"],
        "healthmonitors",
    )
    .await?;
    let floatingips: Vec<NeutronFloatingIp> =
        list_all(client, Service::Neutron, &["floatingips"], "floatingips").await?;
    let monitors: BTreeMap<String, HealthMonitorResponse> =
        monitors.into_iter().map(|m| (m.id.clone(), m)).collect();
    let mut listeners_of: HashMap<String, Vec<ListenerResponse>> = HashMap::new();
    for l in listeners {
        if let Some(lb) = l.loadbalancers.as_ref().and_then(|v| v.first()) {
            listeners_of.entry(lb.id.clone()).or_default().push(l);
        }
    }
    let mut pools_of: HashMap<String, Vec<PoolResponse>> = HashMap::new();
    for p in pools {
        if let Some(lb) = p.links.loadbalancers.first() {
            pools_of.entry(lb.id.clone()).or_default().push(p);
        }
    }
    let ids: Vec<String> = ours.iter().map(|lb| lb.id.clone()).collect();
    let mut ours: HashMap<String, LoadBalancerResponse> =
        ours.into_iter().map(|lb| (lb.id.clone(), lb)).collect();
    // Each tree is assembled as its status tree arrives, so the status trees are never all
    // held at once (1,000 of them are ~15 MiB).
    let mut trees = Vec::new();
    let mut statuses = futures::stream::iter(ids)
        .map(|id| async move {
            let status = client
                .call(
                    Service::Octavia,
                    Method::GET,
                    &["lbaas", "loadbalancers", &id, "status"],
                    &[],
                    None,
                )
                .await
                .ok()
                .and_then(|r| serde_json::from_value::<StatusRoot>(r.body).ok());
            (id, status)
        })
        .buffer_unordered(STATUS_READS);
    while let Some((id, status)) = statuses.next().await {
        let (Some(status), Some(lb)) = (status, ours.remove(&id)) else {
            continue;
        };
        let listeners = listeners_of.remove(&lb.id).unwrap_or_default();
        let pools = pools_of.remove(&lb.id).unwrap_or_default();
        if let Some(tree) = assemble_tree(lb, listeners, pools, &monitors, status) {
            trees.push(tree);
        }
    }
    Ok(Rebuilt {
        names,
        trees,
        floatingips,
    })
}

/// One load balancer's tree from its lists and its status tree; `None` when a pool a listener
/// names is missing from the status tree or lists other members (it is then observed as usual).
fn assemble_tree(
    lb: LoadBalancerResponse,
    listeners: Vec<ListenerResponse>,
    pools: Vec<PoolResponse>,
    monitors: &BTreeMap<String, HealthMonitorResponse>,
    status: StatusRoot,
) -> Option<RebuiltTree> {
    let mut members: BTreeMap<String, Vec<Member>> = BTreeMap::new();
    for ps in status
        .statuses
        .loadbalancer
        .listeners
        .into_iter()
        .flat_map(|l| l.pools)
    {
        members.insert(
            ps.id.clone(),
            ps.members.into_iter().map(member_of).collect(),
        );
    }
    // Every pool a listener names must be in the status tree, with the members the
    // pool lists; else this load balancer is observed as usual.
    let complete = listeners
        .iter()
        .filter_map(|l| l.default_pool_id.as_ref())
        .all(|pid| {
            let listed = pools.iter().find(|p| &p.id == pid);
            match (listed, members.get(pid)) {
                (Some(p), Some(ms)) => {
                    let mut a: Vec<&str> = p.members.iter().map(|m| m.id.as_str()).collect();
                    let mut b: Vec<&str> = ms.iter().filter_map(|m| m.id.as_deref()).collect();
                    a.sort_unstable();
                    b.sort_unstable();
                    a == b
                }
                _ => false,
            }
        });
    if !complete {
        return None;
    }
    let state = LbState::of(&lb);
    let tags = lb.tags.clone();
    let description = lb.description.clone();
    let topology = crate::observe::assemble(lb, listeners, pools, monitors, members, None);
    Some(RebuiltTree {
        topology,
        state,
        tags,
        description,
    })
}

/// Items per page of the Octavia lists [`inventory`] and [`rebuild`] read. A page is decoded
/// whole, and a pool lists its members' ids: 2,000 pools of 50 members in pages of 1,000 made
/// a ~20 MiB spike in the controller's memory at start-up; pages of 250 cost 6 more calls
/// there (1,020 → 1,032 calls for a restart with 1,000 load balancers).
const LIST_PAGE: usize = 250;

/// Status trees read at once by [`rebuild`] (the token bucket still paces them).
const STATUS_READS: usize = 16;

fn member_of(m: MemberStatus) -> Member {
    Member {
        id: Some(m.id),
        name: m.name,
        address: m.address,
        protocol_port: m.protocol_port,
        subnet_id: None,
        weight: 1,
        monitor_port: None,
        provisioning_status: Some(m.provisioning_status),
        operating_status: Some(m.operating_status),
    }
}

impl Rebuilt {
    /// Whether a load balancer of this name existed (any owner, any state) when it was listed.
    pub fn has_name(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// How many trees are left to take.
    pub fn trees(&self) -> usize {
        self.trees.len()
    }

    /// Takes the observation of `owner`'s load balancer, as [`crate::observe_stamped`] would
    /// read it for a Service that wants `desired` (and, without a bound floating IP, an
    /// unbound one described `fip_description`): by the `load-balancer-id` when there is
    /// one, else by name, only if ours ([`ownership_of`]); `None` leaves the Service to
    /// observe as usual. Each tree is taken once.
    ///
    /// Members take `weight`, `subnet_id` and `monitor_port` (not in the status tree) from
    /// the desired member of the same address and port of the same listener: what kks-lb
    /// wrote. A change of those three made outside kks-lb, or asked for while no controller
    /// ran, is not seen until the load balancer is read again.
    pub fn take(
        &mut self,
        owner: &Ownership,
        fip_description: Option<&str>,
        desired: &Topology,
    ) -> Option<(Topology, LbState)> {
        let i = self.trees.iter().position(|t| {
            let lb = &t.topology.loadbalancer;
            let named = match &owner.id {
                Some(id) => lb.id.as_ref() == Some(id),
                None => lb.name == owner.name,
            };
            named && ownership_of(owner, &lb.name, &t.tags, &t.description).is_ok()
        })?;
        let tree = self.trees.swap_remove(i);
        let mut t = tree.topology;
        if let Some(port) = t.loadbalancer.vip_port_id.as_deref() {
            let bound = self
                .floatingips
                .iter()
                .find(|f| f.port_id.as_deref() == Some(port));
            let found = bound.or_else(|| {
                fip_description.and_then(|d| {
                    self.floatingips
                        .iter()
                        .find(|f| f.description == d && f.port_id.is_none())
                })
            });
            t.floatingip = found.cloned().map(crate::observe::floating_ip_of);
        }
        for l in &mut t.loadbalancer.listeners {
            let key = l.key();
            let Some(pool) = l.default_pool.as_mut() else {
                continue;
            };
            let want = desired
                .loadbalancer
                .listeners
                .iter()
                .find(|d| d.key() == key)
                .and_then(|d| d.default_pool.as_ref());
            for m in &mut pool.members {
                if let Some(d) = want.and_then(|p| {
                    p.members
                        .iter()
                        .find(|d| d.address == m.address && d.protocol_port == m.protocol_port)
                }) {
                    m.weight = d.weight;
                    m.subnet_id.clone_from(&d.subnet_id);
                    m.monitor_port = d.monitor_port;
                }
            }
        }
        t.normalize();
        Some((t, tree.state))
    }
}
