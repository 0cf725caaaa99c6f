//! `spec.ports` (protocols, duplicates, node ports) and the source ranges.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceSpec;

use super::cx::{Cx, IndexedPort, port_u16};
use crate::error::WarningReason;
use crate::keys::{self};
use crate::spec::{PortProtocol, PortSpec};
use crate::values::{Cidr, InvalidValue};

impl Cx<'_> {
    pub(super) fn ports(&mut self, s: &ServiceSpec) -> Vec<IndexedPort> {
        let list = s.ports.as_deref().unwrap_or_default();
        if list.is_empty() {
            self.err("spec.ports", "", "must list at least one port");
        }
        let mut seen: BTreeMap<(PortProtocol, u16), usize> = BTreeMap::new();
        let mut out = Vec::new();
        let mut without_node_port = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let protocol = match p.protocol.as_deref() {
                None => Some(PortProtocol::Tcp),
                Some(text) => match text.parse::<PortProtocol>() {
                    Ok(proto) => Some(proto),
                    Err(InvalidValue(rule)) => {
                        self.err(format!("spec.ports[{i}].protocol"), text, rule);
                        None
                    }
                },
            };
            let port = port_u16(p.port);
            if port.is_none() {
                self.err(
                    format!("spec.ports[{i}].port"),
                    p.port.to_string(),
                    "must be from 1 to 65535",
                );
            }
            let node_port = match p.node_port {
                None | Some(0) => None,
                Some(n) => {
                    let np = port_u16(n);
                    if np.is_none() {
                        self.err(
                            format!("spec.ports[{i}].nodePort"),
                            n.to_string(),
                            "must be from 1 to 65535",
                        );
                    }
                    np
                }
            };
            let (Some(protocol), Some(port)) = (protocol, port) else {
                continue;
            };
            if let Some(first) = seen.insert((protocol, port), i) {
                // Keep the first index for later duplicates too.
                seen.insert((protocol, port), first);
                self.err(
                    format!("spec.ports[{i}].port"),
                    port.to_string(),
                    format!(
                        "duplicates spec.ports[{first}] ({protocol}/{port}); each protocol and \
                         port pair may appear once"
                    ),
                );
                continue;
            }
            if node_port.is_none() && s.allocate_load_balancer_node_ports == Some(false) {
                without_node_port.push(format!("{protocol}/{port}"));
            }
            out.push(IndexedPort {
                index: i,
                spec: PortSpec {
                    name: p.name.clone().filter(|n| !n.is_empty()),
                    protocol,
                    port,
                    node_port,
                },
            });
        }
        if !without_node_port.is_empty() {
            self.warn(
                "spec.allocateLoadBalancerNodePorts",
                WarningReason::NoNodePorts,
                format!(
                    "node ports are not allocated, so the pools of {} get no members; set a \
                     nodePort or allocateLoadBalancerNodePorts: true",
                    without_node_port.join(", ")
                ),
            );
        }
        out
    }

    pub(super) fn source_ranges(&mut self, s: &ServiceSpec) -> Vec<ipnet::IpNet> {
        let field = s.load_balancer_source_ranges.as_deref().unwrap_or_default();
        let mut out = Vec::new();
        if !field.is_empty() {
            for (i, text) in field.iter().enumerate() {
                match text.trim().parse::<Cidr>() {
                    Ok(c) => out.push(c.0),
                    Err(InvalidValue(rule)) => {
                        self.err(format!("spec.loadBalancerSourceRanges[{i}]"), text, rule);
                    }
                }
            }
            if self.ann.contains_key(keys::SOURCE_RANGES) {
                self.warn(
                    keys::SOURCE_RANGES,
                    WarningReason::AnnotationIgnored,
                    "ignored because spec.loadBalancerSourceRanges is set; remove the annotation",
                );
            }
            return out;
        }
        let Some(raw) = self.ann.get(keys::SOURCE_RANGES) else {
            return out;
        };
        if raw.trim().is_empty() {
            return out;
        }
        for (i, entry) in raw.split(',').enumerate() {
            let entry = entry.trim();
            match entry.parse::<Cidr>() {
                Ok(c) => out.push(c.0),
                Err(InvalidValue(rule)) => {
                    let n = i + 1;
                    self.err(
                        keys::SOURCE_RANGES,
                        raw.as_str(),
                        format!("entry {n} ({entry:?}) {rule}"),
                    );
                }
            }
        }
        out
    }
}
