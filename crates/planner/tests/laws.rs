//! The planner's laws, as proptest properties over arbitrary Services, nodes, configurations,
//! capabilities and observed topologies, 2,000 cases each (`PROPTEST_CASES` overrides).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use kks_lb_octavia_model::Topology;
use kks_lb_planner::{Capabilities, DeleteIntent, ObjKey, Plan, Step, adapt, plan, plan_delete};
use kks_lb_testkit::model::{Cloud, converged};
use kks_lb_testkit::strategies::{
    arb_capabilities, arb_desired, arb_observed, full_capabilities, observed_form,
};
use proptest::prelude::*;

/// The keys of every object that exists in a topology.
fn existing_keys(t: Option<&Topology>) -> BTreeSet<ObjKey> {
    let mut keys = BTreeSet::new();
    let Some(t) = t else { return keys };
    keys.insert(ObjKey::Loadbalancer);
    keys.insert(ObjKey::VipPort);
    if t.floatingip.is_some() {
        keys.insert(ObjKey::Floatingip);
    }
    for l in &t.loadbalancer.listeners {
        keys.insert(ObjKey::Listener(l.key()));
        if let Some(p) = &l.default_pool {
            keys.insert(ObjKey::Pool(l.key()));
            if p.healthmonitor.is_some() {
                keys.insert(ObjKey::Healthmonitor(l.key()));
            }
        }
    }
    for p in &t.loadbalancer.detached_pools {
        keys.extend(p.id.clone().map(ObjKey::DetachedPool));
    }
    keys
}

/// `o` with a pool no listener names, as an interrupted listener create leaves one.
fn with_detached_pool(o: Option<Topology>) -> Option<Topology> {
    o.map(|mut o| {
        let pool = o
            .loadbalancer
            .listeners
            .iter()
            .find_map(|l| l.default_pool.clone());
        if let Some(mut p) = pool {
            p.id = Some("pool-left-behind".into());
            p.members.clear();
            p.healthmonitor = None;
            o.loadbalancer.detached_pools.push(p);
        }
        o
    })
}

/// Walks the plan keeping the set of existing keys; fails on a reference to a missing object.
fn check_references(plan: &Plan, observed: Option<&Topology>) -> Result<(), TestCaseError> {
    let mut live = existing_keys(observed);
    for (i, step) in plan.steps.iter().enumerate() {
        for r in step.references() {
            prop_assert!(
                live.contains(&r.key),
                "step {i} {} refers to {} before it exists; live: {live:?}",
                step.op(),
                r.key
            );
        }
        if let Step::DeleteLoadbalancer { .. } = step {
            live.clear();
        }
        for k in step.removes() {
            live.remove(&k);
        }
        live.extend(step.creates());
    }
    Ok(())
}

fn apply(observed: Option<&Topology>, plan: &Plan) -> Cloud {
    let mut cloud = Cloud::new(observed);
    if let Err(e) = cloud.apply(plan) {
        panic!("the model refused the plan: {e}\nplan: {plan:#?}");
    }
    cloud
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn planning_a_topology_against_itself_is_empty(d in arb_desired(), caps in arb_capabilities()) {
        let (effective, _) = adapt(&d, &caps);
        let observed = observed_form(&effective);
        let p = plan(&d, Some(&observed), &caps);
        prop_assert!(p.is_empty(), "expected no steps, got {:#?}", p.steps);
    }

    #[test]
    fn applying_the_plan_to_the_observed_topology_yields_the_desired_one(
        d in arb_desired(),
        o in arb_observed(),
        caps in arb_capabilities(),
    ) {
        // A cloud holds only what it supports: an Octavia 2.0 has no tags to report.
        let o = with_detached_pool(o.map(|o| adapt(&o, &caps).0));
        let p = plan(&d, o.as_ref(), &caps);
        prop_assume!(p.errors.is_empty(), "the cloud cannot do this Service at all");
        let cloud = apply(o.as_ref(), &p);
        let (effective, _) = adapt(&d, &caps);
        prop_assert!(
            converged(&effective, cloud.topology.as_ref()),
            "not converged\nwanted: {effective:#?}\ngot: {:#?}\nplan: {p:#?}",
            cloud.topology
        );
        // And once there, nothing more to do.
        let again = plan(&d, cloud.topology.as_ref(), &caps);
        prop_assert!(again.is_empty(), "second plan not empty: {:#?}", again.steps);
    }

    #[test]
    fn equal_inputs_give_byte_equal_plans(d in arb_desired(), o in arb_observed()) {
        let caps = full_capabilities();
        let a = serde_json::to_vec(&plan(&d, o.as_ref(), &caps)).unwrap();
        let b = serde_json::to_vec(&plan(&d.clone(), o.clone().as_ref(), &caps.clone())).unwrap();
        prop_assert_eq!(&a, &b);
        // The order in which the cloud lists children does not matter.
        if let Some(mut shuffled) = o.clone() {
            shuffled.loadbalancer.listeners.reverse();
            for l in &mut shuffled.loadbalancer.listeners {
                if let Some(p) = &mut l.default_pool {
                    p.members.reverse();
                }
            }
            let c = serde_json::to_vec(&plan(&d, Some(&shuffled), &caps)).unwrap();
            prop_assert_eq!(&a, &c);
        }
    }

    #[test]
    fn no_step_references_an_object_before_it_exists(
        d in arb_desired(),
        o in arb_observed(),
        caps in arb_capabilities(),
    ) {
        let o = with_detached_pool(o);
        let p = plan(&d, o.as_ref(), &caps);
        check_references(&p, o.as_ref())?;
        if let Some(o) = &o {
            check_references(&plan_delete(o, DeleteIntent::default()), Some(o))?;
        }
    }

    #[test]
    fn deletes_go_child_first(d in arb_desired(), o in arb_observed()) {
        let p = plan(&d, o.as_ref(), &full_capabilities());
        let mut deleted = BTreeSet::new();
        for step in &p.steps {
            match step {
                Step::DeleteListener { listener } => {
                    let k = listener.key.listener_key().unwrap();
                    let pool = ObjKey::Pool(k);
                    let had_pool = o.as_ref().is_some_and(|o| existing_keys(Some(o)).contains(&pool));
                    prop_assert!(!had_pool || deleted.contains(&pool),
                        "listener {} deleted before its pool", listener.key);
                    deleted.insert(listener.key.clone());
                }
                Step::DeletePool { pool } => {
                    if let Some(k) = pool.key.listener_key() {
                        prop_assert!(!deleted.contains(&ObjKey::Listener(k)), "pool {} deleted after its listener", pool.key);
                    }
                    deleted.insert(pool.key.clone());
                }
                Step::DeleteHealthmonitor { healthmonitor } => {
                    let k = healthmonitor.key.listener_key().unwrap();
                    prop_assert!(!deleted.contains(&ObjKey::Pool(k)), "monitor deleted after its pool");
                }
                _ => {}
            }
        }
    }

    #[test]
    fn a_plan_the_cloud_cannot_do_has_errors_and_no_steps(d in arb_desired(), o in arb_observed(), caps in arb_capabilities()) {
        let p = plan(&d, o.as_ref(), &caps);
        prop_assert!(p.errors.is_empty() || p.steps.is_empty());
        let refused = d.loadbalancer.listeners.iter()
            .filter(|l| l.protocol != kks_lb_octavia_model::Protocol::Sctp || caps.sctp())
            .filter_map(|l| l.default_pool.as_ref())
            .any(|pool| !caps.algorithm(pool.lb_algorithm));
        prop_assert_eq!(refused, !p.errors.is_empty(), "errors: {:?}", p.errors);
    }

    #[test]
    fn every_step_is_one_openstack_call(d in arb_desired(), o in arb_observed(), caps in arb_capabilities()) {
        // Creates on a live load balancer never nest children: members and monitors are
        // steps of their own.
        let p = plan(&d, with_detached_pool(o).as_ref(), &caps);
        for s in &p.steps {
            match s {
                Step::CreatePool { pool, .. } => prop_assert!(pool.members.is_empty() && pool.healthmonitor.is_none()),
                Step::CreateListener { listener, .. } => prop_assert!(listener.default_pool.is_none()),
                Step::CreateFloatingip { floatingip, .. } => prop_assert!(floatingip.tags.is_empty()),
                _ => {}
            }
            let (method, path) = s.call();
            prop_assert!(matches!(method, "POST" | "PUT" | "DELETE") && path.starts_with("/v2"));
        }
    }

    #[test]
    fn a_missing_load_balancer_is_exactly_one_create_step(d in arb_desired(), caps in arb_capabilities()) {
        let p = plan(&d, None, &caps);
        prop_assume!(p.errors.is_empty(), "the cloud cannot do this Service at all");
        let octavia: Vec<_> = p.steps.iter().filter(|s| s.locks_loadbalancer()).collect();
        prop_assert_eq!(octavia.len(), 1);
        prop_assert!(matches!(octavia[0], Step::CreateLoadbalancer { .. }), "not a create: {:?}", octavia[0].op());
        // An external Service adds its floating IP: the address it names, or a new one and
        // its tags (Neutron takes no tags in the POST).
        let fip_steps = p.steps.len() - 1;
        let expected = d.floatingip.as_ref().map_or(0, |f| {
            if f.floating_ip_address.is_some() { 1 } else { 1 + usize::from(!f.tags.is_empty()) }
        });
        prop_assert_eq!(fip_steps, expected);
    }

    #[test]
    fn member_changes_are_one_batch_replace_per_pool(d in arb_desired(), o in arb_observed()) {
        let p = plan(&d, o.as_ref(), &full_capabilities());
        let mut per_pool: BTreeMap<&ObjKey, usize> = BTreeMap::new();
        for step in &p.steps {
            if let Step::ReplaceMembers { pool, .. } = step {
                *per_pool.entry(&pool.key).or_default() += 1;
            }
        }
        prop_assert!(per_pool.values().all(|&n| n == 1), "{per_pool:?}");
    }

    #[test]
    fn a_protocol_change_never_leaves_two_listeners_on_one_port(d in arb_desired(), o in arb_observed()) {
        // The model refuses a listener on a port in use; applying must succeed step by step.
        let p = plan(&d, o.as_ref(), &full_capabilities());
        let mut cloud = Cloud::new(o.as_ref());
        for (i, step) in p.steps.iter().enumerate() {
            cloud.apply_step(i, step).map_err(|e| TestCaseError::fail(e.to_string()))?;
        }
    }

    #[test]
    fn unsupported_fields_are_never_sent(d in arb_desired(), o in arb_observed(), caps in arb_capabilities()) {
        let p = plan(&d, o.as_ref(), &caps);
        let json = serde_json::to_string(&p.steps).unwrap();
        if !caps.allowed_cidrs() {
            prop_assert!(!json.contains("\"allowed_cidrs\":["), "allowed_cidrs sent to {caps:?}");
        }
        if !caps.listener_timeouts() {
            prop_assert!(!json.contains("\"timeout_client_data\":"), "timeouts sent to {caps:?}");
        }
        if !caps.sctp() {
            prop_assert!(!json.contains("\"protocol\":\"SCTP\""), "SCTP sent to {caps:?}");
        }
        if !caps.tags() {
            // No tags reach Octavia; the owner marker travels at the start of the load
            // balancer's description instead.
            prop_assert!(p.steps.iter().all(|s| matches!(s, Step::CreateFloatingip { .. } | Step::TagFloatingip { .. } | Step::AssociateFloatingip { .. } | Step::DeleteFloatingip { .. } | Step::DisassociateFloatingip { .. }) || !serde_json::to_string(s).unwrap().contains("\"tags\":[\"")),
                "tags sent to Octavia {caps:?}");
            for s in &p.steps {
                if let Step::CreateLoadbalancer { loadbalancer } = s
                    && d.loadbalancer.tags.iter().any(|t| t.starts_with("kks-lb-cluster:"))
                {
                    prop_assert!(loadbalancer.description.starts_with("kks-lb-cluster:"), "no owner marker: {:?}", loadbalancer.description);
                }
            }
        }
    }
}

#[test]
fn capabilities_default_to_a_current_amphora_octavia() {
    let caps = Capabilities::default();
    assert!(caps.allowed_cidrs() && caps.tags() && caps.sctp() && caps.listener_timeouts());
}
