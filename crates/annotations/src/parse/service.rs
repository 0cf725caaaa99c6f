//! The whole Service, key by key, into an [`LbSpec`].

use k8s_openapi::api::core::v1::{Service, ServiceSpec};

use super::cx::{Cx, IntVal, Val, int_u32, port_u16};
use crate::keys::{self};
use crate::spec::{
    Defaults, IpFamily, LbMethod, LbSpec, NodeSelector, PortSpec, ProxyProtocol, Timeouts,
};
use crate::values::{
    Address, ConnectionLimit, Flag, Hostname, InvalidValue, OpenStackName, Optional, TimeoutMs,
    Uuid,
};

impl Cx<'_> {
    pub(super) fn service(&mut self, svc: &Service, defaults: &Defaults) -> LbSpec {
        let namespace = svc
            .metadata
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let name = svc.metadata.name.clone().unwrap_or_default();
        if name.is_empty() {
            self.err("metadata.name", "", "must be set");
        }
        let no_spec = ServiceSpec::default();
        let s = svc.spec.as_ref().unwrap_or(&no_spec);

        match s.type_.as_deref() {
            Some("LoadBalancer") => {}
            Some(other) => self.err("spec.type", other, "must be LoadBalancer"),
            None => self.err(
                "spec.type",
                "",
                "must be LoadBalancer (unset means ClusterIP)",
            ),
        }
        let ports = self.ports(s);
        let source_ranges = self.source_ranges(s);
        let local = match s.external_traffic_policy.as_deref() {
            None | Some("Cluster") => false,
            Some("Local") => true,
            Some(other) => {
                self.err(
                    "spec.externalTrafficPolicy",
                    other,
                    "must be Cluster or Local",
                );
                false
            }
        };
        let health_check_node_port = match s.health_check_node_port {
            None | Some(0) => None,
            Some(n) if !local => {
                self.err(
                    "spec.healthCheckNodePort",
                    n.to_string(),
                    "may be set only with externalTrafficPolicy: Local",
                );
                None
            }
            Some(n) => {
                let port = port_u16(n);
                if port.is_none() {
                    self.err(
                        "spec.healthCheckNodePort",
                        n.to_string(),
                        "must be from 1 to 65535",
                    );
                }
                port
            }
        };
        let session_affinity_client_ip = match s.session_affinity.as_deref() {
            None | Some("None") => false,
            Some("ClientIP") => true,
            Some(other) => {
                self.err("spec.sessionAffinity", other, "must be None or ClientIP");
                false
            }
        };
        let load_balancer_ip = match s.load_balancer_ip.as_deref() {
            None | Some("") => None,
            Some(ip) => match ip.parse::<Address>() {
                Ok(a) => Some(a.0),
                Err(InvalidValue(rule)) => {
                    self.err("spec.loadBalancerIP", ip, rule);
                    None
                }
            },
        };
        let mut ip_family = IpFamily::default();
        for (i, fam) in s.ip_families.iter().flatten().enumerate() {
            match fam.parse::<IpFamily>() {
                Ok(f) if i == 0 => ip_family = f,
                Ok(_) => {}
                Err(InvalidValue(rule)) => self.err(format!("spec.ipFamilies[{i}]"), fam, rule),
            }
        }

        // Annotations, in TABLE order.
        let internal = self
            .get::<Flag>(keys::INTERNAL)
            .or(Flag(defaults.internal_lb))
            .0;
        let connection_limit = self
            .get::<ConnectionLimit>(keys::CONNECTION_LIMIT)
            .map_get(-1);
        let d = Timeouts::default();
        let timeouts = Timeouts {
            client_data: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_CLIENT_DATA)
                    .map_get(d.client_data.into()),
            ),
            member_connect: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_MEMBER_CONNECT)
                    .map_get(d.member_connect.into()),
            ),
            member_data: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_MEMBER_DATA)
                    .map_get(d.member_data.into()),
            ),
            tcp_inspect: int_u32(
                self.get::<TimeoutMs>(keys::TIMEOUT_TCP_INSPECT)
                    .map_get(d.tcp_inspect.into()),
            ),
        };
        let lb_method = self.get::<LbMethod>(keys::LB_METHOD).or(defaults.lb_method);
        let health_monitor = self.monitor(local, defaults);
        let xff = self.get::<Flag>(keys::X_FORWARDED_FOR);
        let proxy = self.get::<ProxyProtocol>(keys::PROXY_PROTOCOL);
        let hostname = self
            .get::<Optional<Hostname>>(keys::HOSTNAME)
            .or(Optional(None))
            .0
            .map(Hostname::into_string);
        let node_selector: NodeSelector = self
            .get(keys::NODE_SELECTOR)
            .or_else(|| defaults.node_selector.clone());
        let keep_floating_ip = self.get::<Flag>(keys::KEEP_FLOATING_IP).or(Flag(false)).0;
        // Platform-managed (an OpenStack resource id, like subnet-id): a user value is
        // ignored with a Warning and the configured flavor is used.
        let flavor_id = defaults.flavor_id.clone();
        let availability_zone = match self.get::<Optional<OpenStackName>>(keys::AVAILABILITY_ZONE) {
            Val::Given(Optional(v)) => v.map(OpenStackName::into_string),
            Val::Absent | Val::Invalid => defaults.availability_zone.clone(),
        };
        let load_balancer_id = self
            .get::<Optional<Uuid>>(keys::LOAD_BALANCER_ID)
            .or(Optional(None))
            .0;
        let _address = self.get::<Optional<Address>>(keys::LOAD_BALANCER_ADDRESS);

        self.other_keys();

        // Rules across keys.
        let x_forwarded_for = self.client_address_rules(xff, proxy, &ports);

        let mut ports: Vec<PortSpec> = ports.into_iter().map(|p| p.spec).collect();
        ports.sort_by_key(|p| (p.protocol, p.port));
        LbSpec {
            namespace,
            name,
            uid: svc.metadata.uid.clone().filter(|u| !u.is_empty()),
            internal,
            ports,
            connection_limit,
            timeouts,
            lb_method,
            health_monitor,
            x_forwarded_for: x_forwarded_for.0,
            proxy_protocol: x_forwarded_for.1,
            hostname,
            node_selector,
            keep_floating_ip,
            flavor_id,
            availability_zone,
            source_ranges,
            session_affinity_client_ip,
            external_traffic_policy_local: local,
            health_check_node_port,
            load_balancer_ip,
            ip_family,
            load_balancer_class: s.load_balancer_class.clone().filter(|c| !c.is_empty()),
            load_balancer_id: load_balancer_id.map(Uuid::into_string),
        }
    }
}
