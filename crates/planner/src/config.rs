//! Inputs of the planner besides the Service: the cluster's configuration and the cloud's
//! capabilities.

use serde::{Deserialize, Serialize};

/// What the planner needs to know about the cluster and its cloud configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// `--cluster-name`; part of every load balancer name (OCCM's scheme).
    pub cluster_name: String,
    /// `--cluster-id` (default: the UID of the `kube-system` namespace); part of the cluster tag.
    pub cluster_id: String,
    /// `[LoadBalancer] subnet-id`: the VIP subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_id: Option<String>,
    /// `[LoadBalancer] network-id`: the VIP network when no subnet is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_id: Option<String>,
    /// `[LoadBalancer] member-subnet-id`: the members' subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub member_subnet_id: Option<String>,
    /// `[LoadBalancer] floating-network-id`: where floating IPs come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floating_network_id: Option<String>,
    /// `[LoadBalancer] lb-provider` (default `amphora`).
    pub provider: String,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            cluster_name: "kubernetes".to_owned(),
            cluster_id: "kubernetes".to_owned(),
            subnet_id: None,
            network_id: None,
            member_subnet_id: None,
            floating_network_id: None,
            provider: "amphora".to_owned(),
        }
    }
}

/// The tag every load balancer and floating IP of a cluster carries.
pub fn cluster_tag(cluster_id: &str) -> String {
    format!("kks-lb-cluster:{cluster_id}")
}

/// The tag every load balancer and floating IP of one Service carries.
pub fn service_tag(service_uid: &str) -> String {
    format!("kks-lb-service:{service_uid}")
}

pub use kks_lb_octavia_model::api::octavia::{ApiVersion, InvalidApiVersion};

/// What the cloud supports, discovered by the adapter and handed to the planner as data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The maximum Octavia API version.
    pub api_version: ApiVersion,
    /// The provider driver load balancers are created with (`amphora`, `ovn`, ...).
    pub provider: String,
}

impl Default for Capabilities {
    /// A current Octavia (2.30, the version of Octavia 19) with the amphora provider.
    fn default() -> Self {
        Capabilities {
            api_version: ApiVersion::v2(30),
            provider: "amphora".to_owned(),
        }
    }
}

impl Capabilities {
    fn at_least(&self, minor: u32) -> bool {
        self.api_version >= ApiVersion::v2(minor)
    }

    /// Whether the provider is OVN, which refuses most layer-7 and timeout features.
    pub fn is_ovn(&self) -> bool {
        self.provider.eq_ignore_ascii_case("ovn")
    }

    /// Listener timeouts (Octavia >= 2.1, not `ovn`).
    pub fn listener_timeouts(&self) -> bool {
        self.at_least(1) && !self.is_ovn()
    }

    /// Tags on load balancers and their children (Octavia >= 2.5).
    pub fn tags(&self) -> bool {
        self.at_least(5)
    }

    /// `flavor_id` (Octavia >= 2.6, not `ovn`).
    pub fn flavors(&self) -> bool {
        self.at_least(6) && !self.is_ovn()
    }

    /// Listener `allowed_cidrs` (Octavia >= 2.12, not `ovn`).
    pub fn allowed_cidrs(&self) -> bool {
        self.at_least(12) && !self.is_ovn()
    }

    /// `availability_zone` (Octavia >= 2.14, not `ovn`).
    pub fn availability_zones(&self) -> bool {
        self.at_least(14) && !self.is_ovn()
    }

    /// SCTP listeners and pools (Octavia >= 2.23).
    pub fn sctp(&self) -> bool {
        self.at_least(23)
    }

    /// Layer-7 listeners (HTTP, X-Forwarded-For): not on `ovn`.
    pub fn http(&self) -> bool {
        !self.is_ovn()
    }

    /// Whether the provider accepts a balancing algorithm.
    pub fn algorithm(&self, algorithm: kks_lb_octavia_model::LbAlgorithm) -> bool {
        self.algorithms().contains(&algorithm)
    }

    /// The balancing algorithms the provider accepts.
    pub fn algorithms(&self) -> &'static [kks_lb_octavia_model::LbAlgorithm] {
        use kks_lb_octavia_model::LbAlgorithm as A;
        if self.is_ovn() {
            &[A::SourceIpPort, A::SourceIp]
        } else {
            A::ALL
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse_and_order_numerically() {
        assert_eq!("2.12".parse::<ApiVersion>(), Ok(ApiVersion::v2(12)));
        assert_eq!("v2.5".parse::<ApiVersion>(), Ok(ApiVersion::v2(5)));
        assert!(
            ApiVersion::v2(9) < ApiVersion::v2(12),
            "2.9 is older than 2.12"
        );
        assert_eq!("2".parse::<ApiVersion>(), Ok(ApiVersion::v2(0)));
        assert!("two.one".parse::<ApiVersion>().is_err());
    }

    #[test]
    fn capability_thresholds_follow_the_octavia_api_versions() {
        let caps = |minor, provider: &str| Capabilities {
            api_version: ApiVersion::v2(minor),
            provider: provider.into(),
        };
        assert!(!caps(11, "amphora").allowed_cidrs());
        assert!(caps(12, "amphora").allowed_cidrs());
        assert!(!caps(30, "ovn").allowed_cidrs());
        assert!(!caps(4, "amphora").tags());
        assert!(caps(5, "amphora").tags());
        assert!(!caps(22, "amphora").sctp());
        assert!(caps(23, "ovn").sctp());
        assert!(!caps(30, "ovn").listener_timeouts());
        assert!(!caps(13, "amphora").availability_zones());
        use kks_lb_octavia_model::LbAlgorithm as A;
        assert!(!caps(30, "ovn").algorithm(A::RoundRobin));
        assert!(caps(30, "ovn").algorithm(A::SourceIpPort));
        assert!(caps(30, "amphora").algorithm(A::LeastConnections));
    }
}
