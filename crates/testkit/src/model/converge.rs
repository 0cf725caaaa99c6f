//! Whether a model's topology is what the desired topology asks for.

use kks_lb_octavia_model::{LoadBalancer, Topology};

/// Whether `actual` is what `desired` asks for: equal up to ids and statuses, where a floating
/// IP is compared by presence and by the address the Service requested (if any), and the
/// create-only fields (`flavor_id`, `availability_zone`, `vip_address`) are not compared.
pub fn converged(desired: &Topology, actual: Option<&Topology>) -> bool {
    let Some(actual) = actual else { return false };
    comparable(desired) == comparable(actual)
        && match (&desired.floatingip, &actual.floatingip) {
            (None, None) => true,
            (Some(d), Some(a)) => match &d.floating_ip_address {
                Some(_) => d.floating_ip_address == a.floating_ip_address,
                // One of ours carries the ownership tags (a marked one gets them repaired).
                None => {
                    let mut tags = a.tags.clone();
                    tags.sort();
                    !kks_lb_planner::floating_ip_is_ours(&actual.loadbalancer, a) || tags == d.tags
                }
            },
            _ => false,
        }
}

fn comparable(t: &Topology) -> Topology {
    let mut t = t.without_observed_fields();
    t.normalize();
    t.floatingip = None;
    t.keep_floatingip = false;
    let lb: &mut LoadBalancer = &mut t.loadbalancer;
    lb.flavor_id = None;
    lb.availability_zone = None;
    lb.vip_address = None;
    // The cloud reports the network of the VIP subnet too; only the subnet was asked for.
    if lb.vip_subnet_id.is_some() {
        lb.vip_network_id = None;
    }
    for l in &mut lb.listeners {
        if let Some(p) = &mut l.default_pool {
            for m in &mut p.members {
                m.id = None;
            }
        }
    }
    t
}
