//! Nodes, Services and Events: the kinds kks-lb tests seed and read most.

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::events::v1::Event;
use serde_json::{Value, json};

use super::KubeEmulator;
use crate::kube_api::error::EmulatorError;
use crate::kube_api::resources::ResourceType;
use crate::kube_api::store::now_time;

impl KubeEmulator {
    /// Adds a Ready Node with an `InternalIP` address, a hostname label and an OpenStack
    /// `providerID`.
    pub fn add_node(&self, name: &str, internal_ip: &str) -> Result<Node, EmulatorError> {
        let now = now_time();
        let node = json!({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                },
            },
            "spec": { "providerID": format!("openstack:///{}", uuid::Uuid::new_v4()) },
            "status": {
                "addresses": [
                    { "type": "InternalIP", "address": internal_ip },
                    { "type": "Hostname", "address": name },
                ],
                "conditions": [{
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kubelet is posting ready status",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }],
            },
        });
        let out = self.create_value(ResourceType::NODES, None, node)?;
        Ok(serde_json::from_value(out)?)
    }

    /// Removes a Node; returns whether it existed.
    pub fn remove_node(&self, name: &str) -> Result<bool, EmulatorError> {
        self.delete_value(ResourceType::NODES, None, name)
    }

    /// Sets (`Some`) or removes (`None`) a label on a Node.
    pub fn label_node(
        &self,
        name: &str,
        key: &str,
        value: Option<&str>,
    ) -> Result<Node, EmulatorError> {
        let out = self.edit_value(ResourceType::NODES, None, name, |node| {
            let Some(meta) = node.get_mut("metadata").and_then(Value::as_object_mut) else {
                return;
            };
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(labels) = labels.as_object_mut() {
                match value {
                    Some(v) => {
                        labels.insert(key.to_string(), v.into());
                    }
                    None => {
                        labels.remove(key);
                    }
                }
            }
        })?;
        Ok(serde_json::from_value(out)?)
    }

    /// Sets a Node's `Ready` condition.
    pub fn set_node_ready(&self, name: &str, ready: bool) -> Result<Node, EmulatorError> {
        let now = now_time();
        let out = self.edit_value(ResourceType::NODES, None, name, |node| {
            let cond = json!({
                "type": "Ready",
                "status": if ready { "True" } else { "False" },
                "reason": if ready { "KubeletReady" } else { "KubeletNotReady" },
                "lastHeartbeatTime": now,
                "lastTransitionTime": now,
            });
            let Some(status) = node.get_mut("status").and_then(Value::as_object_mut) else {
                return;
            };
            let conditions = status.entry("conditions").or_insert_with(|| json!([]));
            if let Some(list) = conditions.as_array_mut() {
                list.retain(|c| c["type"] != "Ready");
                list.push(cond);
            }
        })?;
        Ok(serde_json::from_value(out)?)
    }

    /// Creates a Service (status kept as given; defaults and NodePorts allocated).
    pub fn create_service(&self, svc: &Service) -> Result<Service, EmulatorError> {
        self.create(svc)
    }

    /// Gets a Service.
    pub fn get_service(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<Service>, EmulatorError> {
        self.get(Some(namespace), name)
    }

    /// Edits a Service in place (spec, metadata and status).
    pub fn edit_service(
        &self,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Service),
    ) -> Result<Service, EmulatorError> {
        self.edit(Some(namespace), name, edit)
    }

    /// events.k8s.io/v1 Events (which include core/v1 Events), in one namespace or all.
    pub fn events(&self, namespace: Option<&str>) -> Result<Vec<Event>, EmulatorError> {
        self.list(namespace)
    }

    /// Events whose `regarding` object has this name, in one namespace.
    pub fn events_for(&self, namespace: &str, name: &str) -> Result<Vec<Event>, EmulatorError> {
        Ok(self
            .events(Some(namespace))?
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .collect())
    }
}
