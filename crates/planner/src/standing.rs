//! Standing of cloud objects against the live Services of a cluster: which load balancers and
//! floating IPs are orphans (their Service is gone), which a recreated Service adopts, which
//! are ours by name only or someone else's, and whether a Service may claim an existing
//! floating IP. Pure verdicts: the controller's orphan collection and `kks-lb audit` fetch
//! the lists and act on them.

use std::collections::BTreeSet;
use std::fmt;

use crate::owner::{CLUSTER_TAG_PREFIX, KEEP_TAG, Marks};

/// What the cluster has now: the UIDs, load balancer names and `namespace/name` of every
/// Service of type LoadBalancer that kks-lb handles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// Service UIDs.
    pub uids: BTreeSet<String>,
    /// Load balancer names ([`crate::lb_name`]) of the live Services.
    pub lb_names: BTreeSet<String>,
    /// `namespace/name` of the live Services.
    pub services: BTreeSet<String>,
}

/// Where a cloud object stands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Standing {
    /// Marked for this cluster and held by a live Service (or by the Service recreated under
    /// the same name, which adopts it).
    Ok,
    /// A floating IP kept by `keep-floatingip`, reserved to its Service's name.
    Kept,
    /// Marked for this cluster, its Service gone and no Service of its name left: to collect.
    Orphan,
    /// Named after this cluster's scheme but carrying no ownership mark (ours by name only,
    /// e.g. created by OCCM or on a cloud without tags).
    Unmarked,
    /// Named after this cluster's scheme but marked for another cluster.
    Foreign,
}

impl Standing {
    /// The lower-case word of `kks-lb audit`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Standing::Ok => "ok",
            Standing::Kept => "kept",
            Standing::Orphan => "orphan",
            Standing::Unmarked => "unmarked",
            Standing::Foreign => "foreign",
        }
    }

    /// Whether someone should look at it (`kks-lb audit` exits 1).
    pub fn needs_attention(&self) -> bool {
        matches!(
            self,
            Standing::Orphan | Standing::Unmarked | Standing::Foreign
        )
    }
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `namespace/name` a kks-lb description names (`… Kubernetes Service <ns>/<name> …`).
pub fn service_ref(description: &str) -> Option<&str> {
    let (_, rest) = description.split_once("Kubernetes Service ")?;
    rest.split_whitespace().next().filter(|r| r.contains('/'))
}

/// The prefix of every load balancer name of the cluster named `cluster_name`.
pub fn lb_name_prefix(cluster_name: &str) -> String {
    format!("kube_service_{cluster_name}_")
}

/// Where a load balancer stands for the cluster `cluster_id` (named `cluster_name`), given
/// the live Services; `None` when it is none of this cluster's business (another name
/// scheme and not marked for this cluster).
pub fn lb_standing(
    cluster_id: &str,
    cluster_name: &str,
    live: &Live,
    name: &str,
    tags: &[String],
    description: &str,
) -> Option<Standing> {
    let marks = Marks::effective(tags, description);
    let by_name = name.starts_with(&lb_name_prefix(cluster_name));
    if marks.clusters.iter().any(|c| c == cluster_id) {
        let held =
            marks.services.iter().any(|s| live.uids.contains(s)) || live.lb_names.contains(name);
        return Some(if held { Standing::Ok } else { Standing::Orphan });
    }
    if !by_name {
        return None;
    }
    Some(if marks.clusters.is_empty() {
        Standing::Unmarked
    } else {
        Standing::Foreign
    })
}

/// Where a floating IP stands for the cluster `cluster_id`: `served_ports` are the VIP ports
/// of this cluster's load balancers that are not orphans. `None` when it is not marked for
/// this cluster and not bound to one of those load balancers.
pub fn floating_ip_standing(
    cluster_id: &str,
    live: &Live,
    served_ports: &BTreeSet<String>,
    tags: &[String],
    description: &str,
    port_id: Option<&str>,
) -> Option<Standing> {
    let marks = Marks::effective(tags, description);
    let bound_to_ours = port_id.is_some_and(|p| served_ports.contains(p));
    if !marks.clusters.iter().any(|c| c == cluster_id) {
        return bound_to_ours.then_some(Standing::Ok);
    }
    if tags.iter().any(|t| t == KEEP_TAG) {
        return Some(Standing::Kept);
    }
    let held = marks.services.iter().any(|s| live.uids.contains(s))
        || bound_to_ours
        || service_ref(description).is_some_and(|r| live.services.contains(r));
    Some(if held { Standing::Ok } else { Standing::Orphan })
}

/// Whether the Service whose floating IP would carry `want_tags` and `want_description` may
/// take the existing floating IP with `tags` and `description` (its `loadBalancerIP`):
/// an unmarked address is the user's to hand out; a marked one only when it is this
/// Service's, or was kept by the deleted Service of the same `namespace/name`.
///
/// # Errors
/// Why not, in words for an Event.
pub fn may_claim(
    want_tags: &[String],
    want_description: &str,
    tags: &[String],
    description: &str,
) -> Result<(), String> {
    let found = Marks::effective(tags, description);
    if found.is_empty() {
        return Ok(());
    }
    let ours = Marks::of(want_tags, want_description);
    if let Some(c) = found.clusters.iter().find(|c| !ours.clusters.contains(c)) {
        return Err(format!(
            "it belongs to another cluster ({CLUSTER_TAG_PREFIX}{c})"
        ));
    }
    let foreign: Vec<&String> = found
        .services
        .iter()
        .filter(|s| !ours.services.contains(s))
        .collect();
    if foreign.is_empty() {
        return Ok(());
    }
    let same_name =
        service_ref(description).is_some_and(|r| service_ref(want_description) == Some(r));
    if same_name {
        return Ok(());
    }
    let kept = if tags.iter().any(|t| t == KEEP_TAG) {
        " and kept by it (keep-floatingip)"
    } else {
        ""
    };
    Err(format!(
        "it is reserved to another Service{} ({}){kept}",
        service_ref(description)
            .map(|r| format!(" {r}"))
            .unwrap_or_default(),
        foreign
            .iter()
            .map(|s| format!("{}{s}", crate::owner::SERVICE_TAG_PREFIX))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn live(uids: &[&str], names: &[&str], refs: &[&str]) -> Live {
        Live {
            uids: uids.iter().map(|s| (*s).to_owned()).collect(),
            lb_names: names.iter().map(|s| (*s).to_owned()).collect(),
            services: refs.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn tags(uid: &str) -> Vec<String> {
        vec![
            "kube_service_kks_ns_web".into(),
            "kks-lb-cluster:c1".into(),
            format!("kks-lb-service:{uid}"),
        ]
    }

    const LB: &str = "kube_service_kks_ns_web";

    #[test]
    fn a_load_balancer_of_a_live_service_is_ok_and_of_a_gone_one_an_orphan() {
        let l = live(&["u1"], &[LB], &["ns/web"]);
        assert_eq!(
            lb_standing("c1", "kks", &l, LB, &tags("u1"), ""),
            Some(Standing::Ok)
        );
        assert_eq!(
            lb_standing("c1", "kks", &live(&[], &[], &[]), LB, &tags("u1"), ""),
            Some(Standing::Orphan)
        );
    }

    #[test]
    fn the_predecessor_of_a_recreated_service_is_not_an_orphan() {
        // ns/web was deleted with its finalizer stripped and created again (new UID u2).
        let l = live(&["u2"], &[LB], &["ns/web"]);
        assert_eq!(
            lb_standing("c1", "kks", &l, LB, &tags("u1"), ""),
            Some(Standing::Ok)
        );
    }

    #[test]
    fn unmarked_foreign_and_unrelated_load_balancers() {
        let l = live(&[], &[], &[]);
        assert_eq!(
            lb_standing("c1", "kks", &l, LB, &[], ""),
            Some(Standing::Unmarked)
        );
        assert_eq!(
            lb_standing("c1", "kks", &l, LB, &["kks-lb-cluster:c2".into()], ""),
            Some(Standing::Foreign)
        );
        assert_eq!(lb_standing("c1", "kks", &l, "my-own-lb", &[], ""), None);
        assert_eq!(
            lb_standing("c1", "kks", &l, "kube_service_other_ns_web", &[], ""),
            None
        );
    }

    #[test]
    fn without_tags_the_description_marker_decides() {
        let l = live(&[], &[], &[]);
        let d = "kks-lb-cluster:c1 kks-lb-service:u1 Kubernetes Service ns/web in cluster kks";
        assert_eq!(
            lb_standing("c1", "kks", &l, LB, &[], d),
            Some(Standing::Orphan)
        );
    }

    #[test]
    fn floating_ips_kept_bound_to_ours_or_named_after_a_live_service_are_not_orphans() {
        let d = "kks-lb-cluster:c1 kks-lb-service:u1 Floating IP for Kubernetes Service ns/web in cluster kks";
        let none = live(&[], &[], &[]);
        let ports: BTreeSet<String> = ["vip1".to_owned()].into();
        let fip_tags = vec!["kks-lb-cluster:c1".to_owned(), "kks-lb-service:u1".into()];
        assert_eq!(
            floating_ip_standing("c1", &none, &BTreeSet::new(), &fip_tags, d, None),
            Some(Standing::Orphan)
        );
        let mut kept = fip_tags.clone();
        kept.push(KEEP_TAG.into());
        assert_eq!(
            floating_ip_standing("c1", &none, &BTreeSet::new(), &kept, d, None),
            Some(Standing::Kept)
        );
        assert_eq!(
            floating_ip_standing("c1", &none, &ports, &fip_tags, d, Some("vip1")),
            Some(Standing::Ok)
        );
        assert_eq!(
            floating_ip_standing(
                "c1",
                &live(&["u9"], &[], &["ns/web"]),
                &ports,
                &fip_tags,
                d,
                None
            ),
            Some(Standing::Ok),
            "recreated under the same name"
        );
        assert_eq!(
            floating_ip_standing("c1", &none, &ports, &[], "user's", Some("vip1")),
            Some(Standing::Ok),
            "an unmarked loadBalancerIP bound to our load balancer"
        );
        assert_eq!(
            floating_ip_standing("c1", &none, &ports, &[], "user's", Some("vm")),
            None
        );
    }

    #[test]
    fn claims() {
        let mine_d = "kks-lb-cluster:c1 kks-lb-service:b1 Floating IP for Kubernetes Service b/web in cluster kks";
        let mine_t = vec!["kks-lb-cluster:c1".to_owned(), "kks-lb-service:b1".into()];
        assert_eq!(
            may_claim(&mine_t, mine_d, &[], "the user's address"),
            Ok(())
        );
        assert_eq!(may_claim(&mine_t, mine_d, &mine_t, mine_d), Ok(()));
        let a_d = "kks-lb-cluster:c1 kks-lb-service:a1 Floating IP for Kubernetes Service a/web in cluster kks";
        let a_t = vec![
            "kks-lb-cluster:c1".to_owned(),
            KEEP_TAG.into(),
            "kks-lb-service:a1".into(),
        ];
        let refused = may_claim(&mine_t, mine_d, &a_t, a_d).unwrap_err();
        assert!(refused.contains("a/web"), "{refused}");
        assert!(refused.contains("keep-floatingip"), "{refused}");
        // The Service a/web recreated (new UID a2) gets its kept address back.
        let a2_d = "kks-lb-cluster:c1 kks-lb-service:a2 Floating IP for Kubernetes Service a/web in cluster kks";
        let a2_t = vec!["kks-lb-cluster:c1".to_owned(), "kks-lb-service:a2".into()];
        assert_eq!(may_claim(&a2_t, a2_d, &a_t, a_d), Ok(()));
        let other_cluster = vec!["kks-lb-cluster:c2".to_owned()];
        assert!(
            may_claim(&mine_t, mine_d, &other_cluster, "")
                .unwrap_err()
                .contains("another cluster")
        );
    }

    proptest! {
        /// An object whose Service is live is never collected, whatever else is live.
        #[test]
        fn a_live_service_s_objects_are_never_orphans(
            uid in "[a-z0-9]{1,8}",
            others in proptest::collection::btree_set("[a-z0-9]{1,8}", 0..4),
            name in "kube_service_kks_[a-z]{1,5}_[a-z]{1,5}",
            keep in any::<bool>(),
            port in proptest::option::of("[a-z]{1,4}"),
        ) {
            let mut l = Live { uids: others, ..Live::default() };
            l.uids.insert(uid.clone());
            let t = vec!["kks-lb-cluster:c1".to_owned(), format!("kks-lb-service:{uid}")];
            prop_assert_eq!(lb_standing("c1", "kks", &l, &name, &t, ""), Some(Standing::Ok));
            let mut ft = t.clone();
            if keep { ft.push(KEEP_TAG.to_owned()); }
            let s = floating_ip_standing("c1", &l, &BTreeSet::new(), &ft, "", port.as_deref());
            prop_assert!(matches!(s, Some(Standing::Ok | Standing::Kept)));
        }

        /// Nothing marked for another cluster is ever an orphan of this one, nor claimable.
        #[test]
        fn another_cluster_s_objects_are_never_collected_or_claimed(
            uid in "[a-z0-9]{1,8}",
            name in "[a-z_]{1,30}",
            desc in ".{0,40}",
        ) {
            let t = vec!["kks-lb-cluster:c2".to_owned(), format!("kks-lb-service:{uid}")];
            let l = Live::default();
            prop_assert_ne!(lb_standing("c1", "kks", &l, &name, &t, &desc), Some(Standing::Orphan));
            prop_assert_ne!(
                floating_ip_standing("c1", &l, &BTreeSet::new(), &t, &desc, None),
                Some(Standing::Orphan)
            );
            let mine = vec!["kks-lb-cluster:c1".to_owned(), "kks-lb-service:me".into()];
            prop_assert!(may_claim(&mine, "kks-lb-cluster:c1 kks-lb-service:me", &t, &desc).is_err());
        }

        /// An address marked for another Service of another name is never claimable.
        #[test]
        fn another_service_s_address_is_never_claimed(
            a in "[a-z]{1,6}", b in "[a-z]{1,6}", keep in any::<bool>(),
        ) {
            prop_assume!(a != b);
            let desc = |n: &str| format!(
                "kks-lb-cluster:c1 kks-lb-service:{n} Floating IP for Kubernetes Service ns/{n} in cluster kks"
            );
            let mut theirs = vec!["kks-lb-cluster:c1".to_owned(), format!("kks-lb-service:{a}")];
            if keep { theirs.push(KEEP_TAG.to_owned()); }
            let mine = vec!["kks-lb-cluster:c1".to_owned(), format!("kks-lb-service:{b}")];
            prop_assert!(may_claim(&mine, &desc(&b), &theirs, &desc(&a)).is_err());
        }
    }
}
