//! Lenient readings for removal. A Service being deleted, or one that stopped being a
//! LoadBalancer Service, may carry annotations [`crate::parse`] refuses; its load balancer
//! must still go. These read only what a removal needs, and where a value does not parse
//! they take the side that can be undone.

use k8s_openapi::api::core::v1::Service;

use crate::keys;
use crate::values::{Flag, Uuid};

fn annotation<'a>(svc: &'a Service, key: &str) -> Option<&'a str> {
    svc.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(key))
        .map(String::as_str)
}

/// `keep-floatingip` as written. A value that does not parse keeps the address: detaching
/// one the user wanted released can be undone, releasing one they wanted kept cannot.
pub fn keep_floating_ip(svc: &Service) -> bool {
    match annotation(svc, keys::KEEP_FLOATING_IP).map(str::parse::<Flag>) {
        None => false,
        Some(Ok(Flag(keep))) => keep,
        Some(Err(_)) => true,
    }
}

/// Whether the Service is internal (no floating IP): the annotation, else `default` (the
/// configured `internal-lb`). A value that does not parse counts as external, so a floating
/// IP of ours is still looked for and released.
pub fn internal(svc: &Service, default: bool) -> bool {
    match annotation(svc, keys::INTERNAL).map(str::parse::<Flag>) {
        None => default,
        Some(Ok(Flag(internal))) => internal,
        Some(Err(_)) => false,
    }
}

/// `load-balancer-id`, when it is a UUID; anything else is ignored and the load balancer is
/// found by name.
pub fn load_balancer_id(svc: &Service) -> Option<String> {
    annotation(svc, keys::LOAD_BALANCER_ID)
        .and_then(|v| v.parse::<Uuid>().ok())
        .map(Uuid::into_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn with(key: &str, value: Option<&str>) -> Service {
        let mut svc = Service::default();
        if let Some(v) = value {
            svc.metadata.annotations = Some(BTreeMap::from([(key.to_owned(), v.to_owned())]));
        }
        svc
    }

    #[test]
    fn an_unparsable_keep_floatingip_keeps_the_address() {
        let k = keys::KEEP_FLOATING_IP;
        assert!(!keep_floating_ip(&with(k, None)));
        assert!(!keep_floating_ip(&with(k, Some("false"))));
        assert!(keep_floating_ip(&with(k, Some("TRUE"))));
        assert!(keep_floating_ip(&with(k, Some("yes please"))));
    }

    #[test]
    fn an_unparsable_internal_flag_counts_as_external() {
        let k = keys::INTERNAL;
        assert!(internal(&with(k, None), true), "the configured default");
        assert!(!internal(&with(k, None), false));
        assert!(internal(&with(k, Some("true")), false));
        assert!(!internal(&with(k, Some("maybe")), true));
    }

    #[test]
    fn only_a_uuid_load_balancer_id_is_used() {
        let k = keys::LOAD_BALANCER_ID;
        let id = "8e8958dd-dba8-4b15-87d9-efd010b37e15";
        assert_eq!(load_balancer_id(&with(k, Some(id))).as_deref(), Some(id));
        assert_eq!(load_balancer_id(&with(k, Some("lb-1; drop"))), None);
        assert_eq!(load_balancer_id(&with(k, None)), None);
    }
}
