//! [`inventory`]: the load balancers and floating IPs of a cluster, each read with one list
//! call, and [`delete`] of one of them. Orphan collection and `kks-lb audit` judge them with
//! [`kks_lb_planner::standing`].

use kks_lb_octavia_model::api::neutron::FloatingIpList;
use kks_lb_octavia_model::api::octavia::LoadBalancerList;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{OpenStackClient, Reply};
use crate::error::{Error, Result, Service};

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
