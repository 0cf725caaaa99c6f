//! The cluster subnet's capacity as the controller sees it: recognising a create that failed
//! because the subnet is full ([`is_subnet_exhausted`]), the `SubnetExhausted` message that
//! names the subnet, its CIDR and usage ([`exhausted_message`]), and the
//! `kks_lb_subnet_addresses` gauge ([`gauge_loop`], refreshed once per resync interval).
//!
//! A one-off usage read (`kks_lb_adapter::capacity`) costs two or three Neutron calls; it
//! happens when a create met a full subnet. The gauge keeps one `UsageWatch`, so after its
//! first read it costs one Neutron call per resync interval (plus the subnet's own record
//! once an hour), whatever the number of Services.

use std::time::Duration;

use kks_lb_adapter::{OpenStackClient, SubnetRef, SubnetUsage, UsageWatch};
use kks_lb_planner::ClusterConfig;
use tokio_util::sync::CancellationToken;

use crate::engine::Error;
use crate::metrics::Metrics;

/// Whether a pass of the engine failed because the cluster subnet has no free address.
pub fn is_subnet_exhausted(err: &Error) -> bool {
    err.cloud()
        .is_some_and(kks_lb_adapter::Error::is_subnet_exhausted)
}

/// The subnet the VIPs come from: `subnet-id`, else `network-id`.
pub fn subnet_ref(cluster: &ClusterConfig) -> Option<SubnetRef> {
    match (&cluster.subnet_id, &cluster.network_id) {
        (Some(s), _) => Some(SubnetRef::Subnet(s.clone())),
        (None, Some(n)) => Some(SubnetRef::Network(n.clone())),
        (None, None) => None,
    }
}

/// Reads the cluster subnet's usage and records it in the gauge.
///
/// # Errors
/// No subnet or network is configured, or the read failed.
pub async fn read(
    client: &OpenStackClient,
    cluster: &ClusterConfig,
    metrics: &Metrics,
) -> Result<SubnetUsage, String> {
    let subnet =
        subnet_ref(cluster).ok_or_else(|| "no subnet-id or network-id is configured".to_owned())?;
    read_with(&mut UsageWatch::new(subnet), client, metrics).await
}

async fn read_with(
    watch: &mut UsageWatch,
    client: &OpenStackClient,
    metrics: &Metrics,
) -> Result<SubnetUsage, String> {
    let usage = watch.read(client).await.map_err(|e| e.to_string())?;
    metrics.set_subnet_addresses(&usage.subnet_id, usage.used, usage.total);
    Ok(usage)
}

/// The `SubnetExhausted` Event and condition message for load balancer `lb`: the subnet, its
/// CIDR and usage (or why the usage could not be read, with the network the cloud named),
/// what each load balancer costs and what to do.
pub fn exhausted_message(
    lb: &str,
    usage: Result<&SubnetUsage, &str>,
    network: Option<&str>,
) -> String {
    let head = format!("no free address in the cluster subnet for the VIP of load balancer {lb}");
    let tail = "each load balancer, internal or external, takes one address of the cluster \
                subnet; delete unused load balancers or ports, or give the cluster a larger \
                subnet (`kks-lb capacity` shows who uses it); retrying with backoff";
    match usage {
        Ok(u) => {
            let name = if u.subnet_name.is_empty() {
                u.subnet_id.clone()
            } else {
                format!("{} ({})", u.subnet_name, u.subnet_id)
            };
            format!(
                "{head}: subnet {name} {} has {} of {} addresses in use, {} free (counted from \
                 {}); {tail}",
                u.cidr,
                u.used,
                u.total,
                u.free(),
                u.source.as_str()
            )
        }
        Err(why) => format!(
            "{head}: network {} has no address left (its usage could not be read: {why}); {tail}",
            network.unwrap_or("of the cluster subnet")
        ),
    }
}

/// Refreshes the `kks_lb_subnet_addresses` gauge now and then every `every` until `stop`.
/// A failed read is logged at debug level (the next one tries again).
pub async fn gauge_loop(
    client: OpenStackClient,
    cluster: ClusterConfig,
    metrics: Metrics,
    every: Duration,
    stop: CancellationToken,
) {
    let Some(subnet) = subnet_ref(&cluster) else {
        return;
    };
    // One Neutron call per read after the first (see `UsageWatch`).
    let mut watch = UsageWatch::new(subnet);
    loop {
        if let Err(why) = read_with(&mut watch, &client, &metrics).await {
            tracing::debug!(error = %why, "cannot read the cluster subnet's usage");
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kks_lb_adapter::UsageSource;

    fn usage(used: u64) -> SubnetUsage {
        SubnetUsage {
            subnet_id: "9f1c".into(),
            subnet_name: "kks-cluster-subnet".into(),
            network_id: "n1".into(),
            cidr: "10.0.0.0/29".into(),
            total: 5,
            used,
            source: UsageSource::NetworkIpAvailability,
        }
    }

    #[test]
    fn the_message_names_subnet_cidr_and_usage() {
        let m = exhausted_message("kube_service_kks_shop_web", Ok(&usage(5)), Some("n1"));
        assert!(m.contains("kube_service_kks_shop_web"), "{m}");
        assert!(
            m.contains("subnet kks-cluster-subnet (9f1c) 10.0.0.0/29"),
            "{m}"
        );
        assert!(m.contains("5 of 5 addresses in use, 0 free"), "{m}");
        assert!(m.contains("network-ip-availability"), "{m}");
        assert!(m.contains("retrying with backoff"), "{m}");
    }

    #[test]
    fn without_a_usage_the_message_names_the_network_and_why() {
        let m = exhausted_message("lb", Err("403 Forbidden"), Some("n1"));
        assert!(m.contains("network n1 has no address left"), "{m}");
        assert!(m.contains("403 Forbidden"), "{m}");
    }

    #[test]
    fn the_subnet_comes_from_subnet_id_else_network_id() {
        let mut c = ClusterConfig {
            cluster_name: "kks".into(),
            cluster_id: "c".into(),
            subnet_id: Some("s".into()),
            network_id: Some("n".into()),
            member_subnet_id: None,
            floating_network_id: None,
            provider: "amphora".into(),
        };
        assert_eq!(subnet_ref(&c), Some(SubnetRef::Subnet("s".into())));
        c.subnet_id = None;
        assert_eq!(subnet_ref(&c), Some(SubnetRef::Network("n".into())));
        c.network_id = None;
        assert_eq!(subnet_ref(&c), None);
    }
}
