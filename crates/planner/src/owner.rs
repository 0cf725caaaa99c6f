//! Ownership: which cloud objects belong to which Service of which cluster, decided from what
//! the cloud reports (tags, the owner marker in a description, the name) and the Service's
//! identity. Every verdict is a pure function here, so the adapter only fetches and the
//! controller only reports.
//!
//! Two marks carry ownership:
//! - **Tags** ([`Tag`]): `kks-lb-cluster:<cluster-id>` and `kks-lb-service:<service-uid>`, set
//!   by the load balancer `POST` itself.
//! - **The owner marker** ([`marker`]): the same two tags written at the start of a floating
//!   IP's `description`, because Neutron 29 refuses `tags` in a floating IP `POST`. A floating
//!   IP is therefore owned from the call that creates it, and its tags are an ordinary
//!   attribute the planner repairs. On a cloud without tags (Octavia < 2.5) the marker also
//!   leads the load balancer's `description` and is what proves its ownership.
//!
//! When an object carries ownership tags, they decide ([`Marks::effective`]); the marker in
//! its description counts only while it has none (so retagging, e.g. by a Service recreated
//! under the same name, moves ownership).
//!
//! [`crate::standing`] judges objects against the live Services (orphans, kept addresses,
//! claims on an address).

use std::fmt;

/// Prefix of the cluster ownership tag.
pub const CLUSTER_TAG_PREFIX: &str = "kks-lb-cluster:";
/// Prefix of the Service ownership tag.
pub const SERVICE_TAG_PREFIX: &str = "kks-lb-service:";
/// Tag of a floating IP its Service keeps (`keep-floatingip`): reserved to that Service's
/// name after the Service is gone, and never collected as an orphan.
pub const KEEP_TAG: &str = "kks-lb-keep";

/// An ownership tag, parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tag {
    /// `kks-lb-cluster:<cluster-id>`.
    Cluster(String),
    /// `kks-lb-service:<service-uid>`.
    Service(String),
}

impl Tag {
    /// Parses an ownership tag; `None` for any other tag.
    pub fn parse(s: &str) -> Option<Tag> {
        if let Some(id) = s.strip_prefix(CLUSTER_TAG_PREFIX) {
            return (!id.is_empty()).then(|| Tag::Cluster(id.to_owned()));
        }
        s.strip_prefix(SERVICE_TAG_PREFIX)
            .filter(|uid| !uid.is_empty())
            .map(|uid| Tag::Service(uid.to_owned()))
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tag::Cluster(id) => write!(f, "{CLUSTER_TAG_PREFIX}{id}"),
            Tag::Service(uid) => write!(f, "{SERVICE_TAG_PREFIX}{uid}"),
        }
    }
}

/// The ownership marks found on one object: from its tags and from the marker at the start
/// of its description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Cluster ids named.
    pub clusters: Vec<String>,
    /// Service UIDs named.
    pub services: Vec<String>,
}

impl Marks {
    /// The marks of an object with `tags` and `description`.
    pub fn of(tags: &[String], description: &str) -> Marks {
        let mut marks = Marks::default();
        let from_description = description
            .split_whitespace()
            .map_while(Tag::parse)
            .collect::<Vec<_>>();
        for tag in tags
            .iter()
            .filter_map(|t| Tag::parse(t))
            .chain(from_description)
        {
            match tag {
                Tag::Cluster(id) if !marks.clusters.contains(&id) => marks.clusters.push(id),
                Tag::Service(uid) if !marks.services.contains(&uid) => marks.services.push(uid),
                _ => {}
            }
        }
        marks
    }

    /// The marks that decide ownership: the tags when any ownership tag is set (they are the
    /// attribute the planner repairs, e.g. after a recreated Service adopted the object),
    /// else the owner marker its description was created with.
    pub fn effective(tags: &[String], description: &str) -> Marks {
        if tags.iter().any(|t| Tag::parse(t).is_some()) {
            Marks::of(tags, "")
        } else {
            Marks::of(&[], description)
        }
    }

    /// Whether nothing marks the object as kks-lb's.
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty() && self.services.is_empty()
    }
}

/// The owner marker written at the start of a floating IP's description: the ownership tags
/// separated by spaces (`kks-lb-cluster:<id> kks-lb-service:<uid>`).
pub fn marker(cluster_tag: &str, service_tag: Option<&str>) -> String {
    match service_tag {
        Some(s) => format!("{cluster_tag} {s}"),
        None => cluster_tag.to_owned(),
    }
}

/// How to recognise a Service's load balancer and decide whether kks-lb may touch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The load balancer name (`kube_service_<cluster>_<namespace>_<service>`).
    pub name: String,
    /// The cluster tag every load balancer of this cluster carries.
    pub cluster_tag: String,
    /// The Service's tag, when the Service has a UID.
    pub service_tag: Option<String>,
    /// The `load-balancer-id` annotation, if set.
    pub id: Option<String>,
    /// Adopt an untagged load balancer of exactly this name (migration from OCCM).
    pub adopt_untagged: bool,
    /// Whether the cloud has tags (Octavia >= 2.5); without them ownership is by name.
    pub tags_supported: bool,
}

impl Ownership {
    /// The owner marker of this Service's floating IPs.
    pub fn marker(&self) -> String {
        marker(&self.cluster_tag, self.service_tag.as_deref())
    }

    fn cluster_id(&self) -> &str {
        self.cluster_tag
            .strip_prefix(CLUSTER_TAG_PREFIX)
            .unwrap_or(&self.cluster_tag)
    }

    fn service_uid(&self) -> Option<&str> {
        self.service_tag
            .as_deref()
            .map(|s| s.strip_prefix(SERVICE_TAG_PREFIX).unwrap_or(s))
    }

    /// Whether a floating IP is this Service's: marked (tags or description) for this cluster
    /// and not for another Service.
    pub fn owns_floating_ip(&self, tags: &[String], description: &str) -> bool {
        let marks = Marks::effective(tags, description);
        marks.clusters.iter().any(|c| c == self.cluster_id())
            && marks
                .services
                .iter()
                .all(|s| self.service_uid().is_none_or(|own| own == s))
    }
}

/// Whether a load balancer is ours under `owner`, or why not.
///
/// Its marks are its tags, or on a cloud without tags (Octavia < 2.5) the owner marker that
/// leads its `description`. Marked for this cluster and no other Service: ours. Marked for
/// this cluster and another Service while named after this Service: the load balancer of a
/// deleted predecessor of the same namespace and name, adopted. Unmarked: ours only with
/// `--adopt-untagged` and exactly this Service's name.
///
/// # Errors
/// The reason it is not ours, in words for an Event.
pub fn ownership_of(
    owner: &Ownership,
    name: &str,
    tags: &[String],
    description: &str,
) -> Result<(), String> {
    let (marks, mark) = if owner.tags_supported {
        (Marks::of(tags, ""), "tag")
    } else {
        (
            Marks::of(&[], description),
            "owner marker (the cloud has no tags)",
        )
    };
    if marks.clusters.iter().any(|c| c == owner.cluster_id()) {
        let other_service = marks
            .services
            .iter()
            .find(|s| owner.service_uid().is_some_and(|own| own != *s));
        return match other_service {
            // The load balancer of a deleted Service of the same namespace and name (its
            // finalizer stripped): two Services never hold one name at once, so its owner is
            // gone and the Service recreated under that name takes it over, VIP and all.
            Some(_) if name == owner.name => Ok(()),
            Some(s) => Err(format!(
                "it belongs to another Service ({SERVICE_TAG_PREFIX}{s})"
            )),
            None => Ok(()),
        };
    }
    let other_cluster = !marks.clusters.is_empty();
    if owner.adopt_untagged && name == owner.name && !other_cluster {
        return Ok(());
    }
    if other_cluster {
        return Err(format!("it carries another cluster's {mark}"));
    }
    let hint = if name == owner.name {
        " (an unmarked load balancer of this name: set --adopt-untagged to adopt it)"
    } else {
        ""
    };
    if owner.tags_supported {
        Err(format!(
            "it lacks the cluster tag {}{hint}",
            owner.cluster_tag
        ))
    } else {
        Err(format!(
            "its description does not start with the owner marker {} and the cloud has no tags{hint}",
            owner.cluster_tag
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Ownership {
        Ownership {
            name: "kube_service_kks_ns_web".into(),
            cluster_tag: "kks-lb-cluster:c1".into(),
            service_tag: Some("kks-lb-service:u1".into()),
            id: None,
            adopt_untagged: false,
            tags_supported: true,
        }
    }

    #[test]
    fn tags_parse_and_print_back() {
        for s in ["kks-lb-cluster:c1", "kks-lb-service:u-2"] {
            assert_eq!(Tag::parse(s).map(|t| t.to_string()).as_deref(), Some(s));
        }
        assert_eq!(Tag::parse("kks-lb-cluster:"), None);
        assert_eq!(Tag::parse("kube_service_x"), None);
    }

    #[test]
    fn a_load_balancer_with_our_cluster_tag_is_ours() {
        let tags = vec![
            "kks-lb-cluster:c1".to_owned(),
            "kks-lb-service:u1".to_owned(),
        ];
        assert_eq!(ownership_of(&owner(), "anything", &tags, ""), Ok(()));
    }

    #[test]
    fn another_cluster_another_service_or_no_tags_are_foreign() {
        let other_cluster = vec!["kks-lb-cluster:c2".to_owned()];
        assert!(
            ownership_of(&owner(), "kube_service_kks_ns_web", &other_cluster, "")
                .unwrap_err()
                .contains("another cluster")
        );
        let other_service = vec![
            "kks-lb-cluster:c1".to_owned(),
            "kks-lb-service:u2".to_owned(),
        ];
        assert!(
            ownership_of(&owner(), "x", &other_service, "")
                .unwrap_err()
                .contains("another Service")
        );
        assert_eq!(
            ownership_of(&owner(), "kube_service_kks_ns_web", &other_service, ""),
            Ok(()),
            "the load balancer of a deleted predecessor of the same name is adopted"
        );
        let untagged = ownership_of(&owner(), "kube_service_kks_ns_web", &[], "").unwrap_err();
        assert!(untagged.contains("--adopt-untagged"), "{untagged}");
    }

    #[test]
    fn an_untagged_occm_load_balancer_is_adopted_only_when_asked_and_only_by_exact_name() {
        let mut o = owner();
        o.adopt_untagged = true;
        assert_eq!(ownership_of(&o, "kube_service_kks_ns_web", &[], ""), Ok(()));
        assert!(ownership_of(&o, "kube_service_kks_ns_other", &[], "").is_err());
        assert!(
            ownership_of(
                &o,
                "kube_service_kks_ns_web",
                &["kks-lb-cluster:c2".to_owned()],
                ""
            )
            .is_err()
        );
    }

    #[test]
    fn without_tags_ownership_is_proven_by_the_marker_leading_the_description() {
        let mut o = owner();
        o.tags_supported = false;
        let marked = format!("{} Kubernetes Service ns/web in cluster kks", o.marker());
        assert_eq!(
            ownership_of(&o, "kube_service_kks_ns_web", &[], &marked),
            Ok(())
        );
        assert_eq!(
            ownership_of(&o, "renamed", &[], &marked),
            Ok(()),
            "found by id"
        );
        let unmarked = ownership_of(&o, "kube_service_kks_ns_web", &[], "OCCM").unwrap_err();
        assert!(unmarked.contains("--adopt-untagged"), "{unmarked}");
        assert!(
            ownership_of(&o, "kube_service_kks_ns_web", &[], "x kks-lb-cluster:c1").is_err(),
            "the marker must lead"
        );
        assert!(
            ownership_of(&o, "kube_service_kks_ns_web", &[], "kks-lb-cluster:c2 y")
                .unwrap_err()
                .contains("another cluster")
        );
        let other = "kks-lb-cluster:c1 kks-lb-service:u2 Kubernetes Service ns/api";
        assert!(ownership_of(&o, "kube_service_kks_ns_api", &[], other).is_err());
        assert_eq!(
            ownership_of(&o, "kube_service_kks_ns_web", &[], other),
            Ok(()),
            "a predecessor of the same name"
        );
        o.adopt_untagged = true;
        assert_eq!(
            ownership_of(&o, "kube_service_kks_ns_web", &[], "OCCM"),
            Ok(())
        );
    }

    #[test]
    fn a_floating_ip_is_ours_by_its_tags_or_by_the_marker_in_its_description() {
        let o = owner();
        let described = format!("{} Floating IP for Kubernetes Service ns/web", o.marker());
        assert!(o.owns_floating_ip(&[], &described), "marker only");
        assert!(o.owns_floating_ip(
            &["kks-lb-cluster:c1".into(), "kks-lb-service:u1".into()],
            ""
        ));
        assert!(
            !o.owns_floating_ip(&[], "Floating IP for kks-lb-cluster:c1"),
            "marker must lead"
        );
        assert!(!o.owns_floating_ip(&[], "kks-lb-cluster:c2 kks-lb-service:u1"));
        assert!(!o.owns_floating_ip(&[], "kks-lb-cluster:c1 kks-lb-service:u9"));
        assert!(!o.owns_floating_ip(&[], ""));
    }
}
