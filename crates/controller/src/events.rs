//! Events on Services (`events.k8s.io/v1`, shown by `kubectl describe service`): the stable
//! [`Reason`]s of SPEC §6, and a [`Publisher`] that aggregates identical Events and does not
//! repeat unchanged warnings on every resync.
//!
//! Publishing is best effort: a failed Event is logged, never fails a reconcile.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;
use kube::Resource;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use tokio::time::Instant;

use crate::lock;
use crate::status::cut;

/// Events one kube-runtime `Recorder` publishes before a fresh one takes over (see
/// [`Publisher::with_recorder_limit`]): its cache then stays under ~2 MiB.
pub const EVENTS_PER_RECORDER: usize = 1000;

/// Longest Event note the API accepts.
const MAX_NOTE: usize = 1024;

/// The stable Event reasons. SPEC §6 lists the first twelve; most others pass through warnings
/// the annotation parser and the planner raise; `MembersDown`/`MembersRecovered` report
/// member health ([`crate::health`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// A plan with steps is about to run (or a stale `load-balancer-id` is replaced).
    EnsuringLoadBalancer,
    /// A new load balancer is ready.
    EnsuredLoadBalancer,
    /// An existing load balancer was changed.
    UpdatedLoadBalancer,
    /// The load balancer is being deleted.
    DeletingLoadBalancer,
    /// The load balancer is gone.
    DeletedLoadBalancer,
    /// An annotation or spec field breaks a rule; nothing changes in the cloud.
    InvalidAnnotation,
    /// An unknown `loadbalancer.openstack.org/` key.
    UnknownAnnotation,
    /// A platform-managed key was set; it is ignored.
    PlatformManagedAnnotation,
    /// A feature the cloud or kks-lb does not support was left out.
    FeatureUnsupported,
    /// `loadBalancerSourceRanges` cannot be applied on this cloud.
    SourceRangesIgnored,
    /// `load-balancer-id` names a load balancer kks-lb does not own.
    ForeignLoadBalancer,
    /// OpenStack refused or failed; carries the request id and status.
    LoadBalancerError,
    /// A key that is valid but has no effect (the legacy source-ranges annotation).
    AnnotationIgnored,
    /// Health monitor disabled with `externalTrafficPolicy: Local`.
    HealthMonitorDisabled,
    /// Ports without node ports get no members.
    NoNodePorts,
    /// A create-only field changed; only replacing the load balancer would apply it.
    ReplaceRequired,
    /// No port of the Service can be served by this cloud (e.g. only SCTP on Octavia
    /// < 2.23): no load balancer and no floating IP.
    NoServablePorts,
    /// Health checks fail on some members (published when the set of down members changes).
    MembersDown,
    /// Every health-checked member is up again.
    MembersRecovered,
    /// The cluster subnet has no free address for the VIP; names the subnet, its CIDR and
    /// its usage. Retried with backoff.
    SubnetExhausted,
}

impl Reason {
    /// The PascalCase reason.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::EnsuringLoadBalancer => "EnsuringLoadBalancer",
            Reason::EnsuredLoadBalancer => "EnsuredLoadBalancer",
            Reason::UpdatedLoadBalancer => "UpdatedLoadBalancer",
            Reason::DeletingLoadBalancer => "DeletingLoadBalancer",
            Reason::DeletedLoadBalancer => "DeletedLoadBalancer",
            Reason::InvalidAnnotation => "InvalidAnnotation",
            Reason::UnknownAnnotation => "UnknownAnnotation",
            Reason::PlatformManagedAnnotation => "PlatformManagedAnnotation",
            Reason::FeatureUnsupported => "FeatureUnsupported",
            Reason::SourceRangesIgnored => "SourceRangesIgnored",
            Reason::ForeignLoadBalancer => "ForeignLoadBalancer",
            Reason::LoadBalancerError => "LoadBalancerError",
            Reason::AnnotationIgnored => "AnnotationIgnored",
            Reason::HealthMonitorDisabled => "HealthMonitorDisabled",
            Reason::NoNodePorts => "NoNodePorts",
            Reason::ReplaceRequired => "ReplaceRequired",
            Reason::NoServablePorts => "NoServablePorts",
            Reason::MembersDown => "MembersDown",
            Reason::MembersRecovered => "MembersRecovered",
            Reason::SubnetExhausted => "SubnetExhausted",
        }
    }

    /// `Normal` for progress, `Warning` for anything the user should act on.
    pub const fn event_type(self) -> EventType {
        match self {
            Reason::EnsuringLoadBalancer
            | Reason::EnsuredLoadBalancer
            | Reason::UpdatedLoadBalancer
            | Reason::DeletingLoadBalancer
            | Reason::DeletedLoadBalancer
            | Reason::MembersRecovered => EventType::Normal,
            Reason::InvalidAnnotation
            | Reason::UnknownAnnotation
            | Reason::PlatformManagedAnnotation
            | Reason::FeatureUnsupported
            | Reason::SourceRangesIgnored
            | Reason::ForeignLoadBalancer
            | Reason::LoadBalancerError
            | Reason::AnnotationIgnored
            | Reason::HealthMonitorDisabled
            | Reason::NoNodePorts
            | Reason::ReplaceRequired
            | Reason::NoServablePorts
            | Reason::MembersDown
            | Reason::SubnetExhausted => EventType::Warning,
        }
    }

    /// The Event `action`: what the controller was doing.
    const fn action(self) -> &'static str {
        match self {
            Reason::EnsuringLoadBalancer
            | Reason::EnsuredLoadBalancer
            | Reason::UpdatedLoadBalancer
            | Reason::LoadBalancerError
            | Reason::SubnetExhausted => "EnsureLoadBalancer",
            Reason::DeletingLoadBalancer | Reason::DeletedLoadBalancer => "DeleteLoadBalancer",
            Reason::InvalidAnnotation
            | Reason::UnknownAnnotation
            | Reason::PlatformManagedAnnotation
            | Reason::AnnotationIgnored
            | Reason::HealthMonitorDisabled
            | Reason::NoNodePorts => "ParseService",
            Reason::FeatureUnsupported
            | Reason::SourceRangesIgnored
            | Reason::ReplaceRequired
            | Reason::NoServablePorts => "PlanLoadBalancer",
            Reason::ForeignLoadBalancer => "ObserveLoadBalancer",
            Reason::MembersDown | Reason::MembersRecovered => "CheckMembers",
        }
    }
}

impl From<kks_lb_annotations::WarningReason> for Reason {
    fn from(r: kks_lb_annotations::WarningReason) -> Self {
        use kks_lb_annotations::WarningReason as W;
        match r {
            W::UnknownAnnotation => Reason::UnknownAnnotation,
            W::PlatformManagedAnnotation => Reason::PlatformManagedAnnotation,
            W::FeatureUnsupported => Reason::FeatureUnsupported,
            W::AnnotationIgnored => Reason::AnnotationIgnored,
            W::HealthMonitorDisabled => Reason::HealthMonitorDisabled,
            W::NoNodePorts => Reason::NoNodePorts,
        }
    }
}

impl From<kks_lb_planner::WarningReason> for Reason {
    fn from(r: kks_lb_planner::WarningReason) -> Self {
        use kks_lb_planner::WarningReason as W;
        match r {
            W::FeatureUnsupported => Reason::FeatureUnsupported,
            W::SourceRangesIgnored => Reason::SourceRangesIgnored,
            W::ReplaceRequired => Reason::ReplaceRequired,
        }
    }
}

/// One Event to publish.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    /// The reason (and with it the type).
    pub reason: Reason,
    /// The message; cut to 1 KiB when published.
    pub message: String,
    /// What makes two Events "identical" for aggregation: Events with equal reason and series
    /// key are counted as one series. Usually the message; for errors, the message without
    /// the request id, so retries of one failure aggregate.
    pub series: String,
}

impl Note {
    /// A note whose series is its message.
    pub fn new(reason: Reason, message: impl Into<String>) -> Self {
        let message = message.into();
        Note {
            reason,
            series: message.clone(),
            message,
        }
    }

    /// A note aggregated under `series` instead of its message.
    pub fn in_series(
        reason: Reason,
        message: impl Into<String>,
        series: impl Into<String>,
    ) -> Self {
        Note {
            reason,
            message: message.into(),
            series: series.into(),
        }
    }

    /// The Event for the recorder. The recorder aggregates by (type, action, reason) and keeps
    /// the first note of a series, so the action carries a digest of the series key: different
    /// messages stay different Events, identical ones become one series with a count.
    fn event(&self) -> Event {
        let mut h = DefaultHasher::new();
        self.series.hash(&mut h);
        let digest = h.finish() & 0xffff_ffff;
        Event {
            type_: self.reason.event_type(),
            reason: self.reason.as_str().to_owned(),
            note: Some(cut(self.message.clone(), MAX_NOTE)),
            action: format!("{}-{digest:08x}", self.reason.action()),
            secondary: None,
        }
    }
}

/// Publishes Events on Services through one shared [`Recorder`] (which turns repeats into
/// series), and remembers the warnings last published per Service so that a resync that
/// finds nothing new stays quiet.
pub struct Publisher {
    client: kube::Client,
    reporter: Reporter,
    /// The recorder in use and how many Events it published (see [`Publisher::recorder`]).
    recorder: Mutex<(Recorder, usize)>,
    /// Events one recorder publishes before the next one takes over.
    per_recorder: usize,
    warned: Mutex<HashMap<ObjectRef<Service>, u64>>,
    /// For [`Publisher::publish_lasting`]: per Service, the digest of the lasting note and
    /// when it was last published (or first seen).
    lasting: Mutex<HashMap<ObjectRef<Service>, (u64, Instant)>>,
}

/// Whether [`Publisher::publish_lasting`] publishes: `last` is what it recorded for the
/// Service (digest, when), `digest` the note's. Returns the decision and what to record.
///
/// A `changed` note is published at once. An unchanged one is published again once `every`
/// has passed since it was last published; one never seen (a restarted controller) only
/// starts the clock.
pub fn lasting_due(
    last: Option<(u64, Instant)>,
    digest: u64,
    changed: bool,
    now: Instant,
    every: Duration,
) -> (bool, (u64, Instant)) {
    match last {
        _ if changed => (true, (digest, now)),
        Some((d, at)) if d == digest => {
            if now.saturating_duration_since(at) >= every {
                (true, (digest, now))
            } else {
                (false, (d, at))
            }
        }
        Some(_) | None => (false, (digest, now)),
    }
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher reporting as `controller`/`instance`.
    pub fn new(client: kube::Client, controller: &str, instance: &str) -> Self {
        Self::with_recorder_limit(client, controller, instance, EVENTS_PER_RECORDER)
    }

    /// [`Publisher::new`] with a fresh recorder after every `per_recorder` Events.
    pub fn with_recorder_limit(
        client: kube::Client,
        controller: &str,
        instance: &str,
        per_recorder: usize,
    ) -> Self {
        let reporter = Reporter {
            controller: controller.to_owned(),
            instance: Some(instance.to_owned()),
        };
        Publisher {
            recorder: Mutex::new((Recorder::new(client.clone(), reporter.clone()), 0)),
            client,
            reporter,
            per_recorder: per_recorder.max(1),
            warned: Mutex::new(HashMap::new()),
            lasting: Mutex::new(HashMap::new()),
        }
    }

    /// The recorder for the next Event.
    ///
    /// kube-runtime's `Recorder` keeps every Event it published for six minutes, so that a
    /// repeat within that time counts in the first one's series instead of making a new Event,
    /// and its table never shrinks: a burst (a node add across 1,000 Services publishes 2,000
    /// Events) would keep ~1.3 KiB per Event for the life of the process. A recorder therefore
    /// publishes at most `per_recorder` Events, then a fresh one takes over; a repeat of an
    /// Event published by the previous recorder starts a new Event instead of a series.
    fn recorder(&self) -> Recorder {
        let mut current = lock(&self.recorder);
        if current.1 >= self.per_recorder {
            *current = (Recorder::new(self.client.clone(), self.reporter.clone()), 0);
        }
        current.1 += 1;
        current.0.clone()
    }

    /// Publishes one Event on `svc` (best effort).
    pub async fn publish(&self, svc: &Service, note: &Note) {
        let reference = svc.object_ref(&());
        let recorder = self.recorder();
        if let Err(e) = recorder.publish(&note.event(), &reference).await {
            tracing::warn!(
                error = &e as &dyn std::error::Error,
                reason = note.reason.as_str(),
                "cannot publish Event"
            );
        }
    }

    /// Publishes `notes` (the warnings of one reconcile) unless they equal the set published
    /// last time for this Service and `force` is false. Reconciles that change the cloud pass
    /// `force`, so the warnings accompany every real change; resyncs that find nothing new
    /// publish nothing.
    pub async fn publish_warnings(&self, svc: &Service, notes: &[Note], force: bool) {
        let key = ObjectRef::from_obj(svc);
        let mut h = DefaultHasher::new();
        notes.hash(&mut h);
        let digest = h.finish();
        let unchanged = {
            let mut warned = lock(&self.warned);
            warned.insert(key, digest) == Some(digest)
        };
        if unchanged && !force {
            return;
        }
        for note in notes {
            self.publish(svc, note).await;
        }
    }

    /// Publishes a note about a state that lasts (members down): at once when `changed`, and
    /// again every `every` while it stays the same, so that `kubectl describe` keeps showing
    /// it after older Events expire (one hour by default). See [`lasting_due`].
    pub async fn publish_lasting(
        &self,
        svc: &Service,
        note: &Note,
        changed: bool,
        every: Duration,
    ) {
        let key = ObjectRef::from_obj(svc);
        let mut h = DefaultHasher::new();
        note.hash(&mut h);
        let digest = h.finish();
        let publish = {
            let mut lasting = lock(&self.lasting);
            let (publish, record) = lasting_due(
                lasting.get(&key).copied(),
                digest,
                changed,
                Instant::now(),
                every,
            );
            lasting.insert(key, record);
            publish
        };
        if publish {
            self.publish(svc, note).await;
        }
    }

    /// Ends a lasting state of a Service: nothing more is republished.
    pub fn end_lasting(&self, svc: &ObjectRef<Service>) {
        let mut lasting = lock(&self.lasting);
        lasting.remove(svc);
    }

    /// Forgets what was published for a Service (it is gone or no longer ours).
    pub fn forget(&self, svc: &ObjectRef<Service>) {
        let mut warned = lock(&self.warned);
        warned.remove(svc);
        drop(warned);
        self.end_lasting(svc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_reasons_are_stable_pascal_case_names() {
        let spec = [
            (Reason::EnsuringLoadBalancer, "EnsuringLoadBalancer"),
            (Reason::EnsuredLoadBalancer, "EnsuredLoadBalancer"),
            (Reason::UpdatedLoadBalancer, "UpdatedLoadBalancer"),
            (Reason::DeletingLoadBalancer, "DeletingLoadBalancer"),
            (Reason::DeletedLoadBalancer, "DeletedLoadBalancer"),
            (Reason::InvalidAnnotation, "InvalidAnnotation"),
            (Reason::UnknownAnnotation, "UnknownAnnotation"),
            (
                Reason::PlatformManagedAnnotation,
                "PlatformManagedAnnotation",
            ),
            (Reason::FeatureUnsupported, "FeatureUnsupported"),
            (Reason::SourceRangesIgnored, "SourceRangesIgnored"),
            (Reason::ForeignLoadBalancer, "ForeignLoadBalancer"),
            (Reason::LoadBalancerError, "LoadBalancerError"),
        ];
        for (reason, name) in spec {
            assert_eq!(reason.as_str(), name);
        }
        assert_eq!(Reason::EnsuredLoadBalancer.event_type(), EventType::Normal);
        assert_eq!(Reason::MembersDown.as_str(), "MembersDown");
        assert_eq!(Reason::MembersDown.event_type(), EventType::Warning);
        assert_eq!(Reason::MembersRecovered.as_str(), "MembersRecovered");
        assert_eq!(Reason::MembersRecovered.event_type(), EventType::Normal);
        assert_eq!(Reason::ForeignLoadBalancer.event_type(), EventType::Warning);
    }

    #[test]
    fn parser_and_planner_warnings_keep_their_reason_names() {
        for w in kks_lb_annotations::WarningReason::ALL {
            assert_eq!(Reason::from(w).as_str(), w.as_str());
        }
        for w in [
            kks_lb_planner::WarningReason::FeatureUnsupported,
            kks_lb_planner::WarningReason::SourceRangesIgnored,
            kks_lb_planner::WarningReason::ReplaceRequired,
        ] {
            assert_eq!(Reason::from(w).as_str(), w.as_str());
        }
    }

    #[test]
    fn identical_notes_share_an_action_and_different_ones_do_not() {
        let a = Note::new(Reason::InvalidAnnotation, "k=v: must be x");
        let b = Note::new(Reason::InvalidAnnotation, "k=w: must be x");
        assert_eq!(a.event().action, a.clone().event().action);
        assert_ne!(a.event().action, b.event().action);
        assert!(a.event().action.starts_with("ParseService-"));
        let e1 = Note::in_series(
            Reason::LoadBalancerError,
            "failed (request id req-1)",
            "failed",
        );
        let e2 = Note::in_series(
            Reason::LoadBalancerError,
            "failed (request id req-2)",
            "failed",
        );
        assert_eq!(e1.event().action, e2.event().action, "retries aggregate");
    }

    #[test]
    fn lasting_notes_repeat_only_after_the_interval_and_a_restart_only_starts_the_clock() {
        let t0 = Instant::now();
        let every = Duration::from_secs(1800);
        let later = |s: u64| t0 + Duration::from_secs(s);
        // A change publishes at once.
        assert_eq!(lasting_due(None, 1, true, t0, every), (true, (1, t0)));
        // The same state: nothing until the interval has passed, then once more.
        assert_eq!(
            lasting_due(Some((1, t0)), 1, false, later(600), every),
            (false, (1, t0))
        );
        assert_eq!(
            lasting_due(Some((1, t0)), 1, false, later(1800), every),
            (true, (1, later(1800)))
        );
        // Never seen (a restart) or another note without a change flag: start the clock.
        assert_eq!(
            lasting_due(None, 1, false, later(5), every),
            (false, (1, later(5)))
        );
        assert_eq!(
            lasting_due(Some((2, t0)), 1, false, later(5), every),
            (false, (1, later(5)))
        );
    }

    #[test]
    fn notes_are_cut_to_the_api_limit() {
        let n = Note::new(Reason::LoadBalancerError, "é".repeat(2000));
        let note = n.event().note.unwrap();
        assert!(note.len() <= MAX_NOTE);
        assert!(note.len() > MAX_NOTE - 2);
    }
}
