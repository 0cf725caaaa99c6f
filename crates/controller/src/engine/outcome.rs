//! What one pass of the engine decided: data for the caller to write to Kubernetes.

use std::time::Duration;

use crate::events::{Note, Reason};
use crate::health::MemberHealth;
use crate::status::{IngressUpdate, MembersCondition, MembersKey, Readiness};

use super::Error;

/// Warnings of one pass (parser and planner warnings, invalid annotations), published with
/// the [`Publisher`](crate::events::Publisher)'s rule: only when they differ from the set
/// published last time for the Service, or when `force` is set (the pass changes the cloud).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warnings {
    /// The notes, in order.
    pub notes: Vec<Note>,
    /// Publish even when unchanged.
    pub force: bool,
}

/// What to write to the Service's status.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum StatusUpdate {
    /// Nothing.
    #[default]
    Keep,
    /// The ingress and the `LoadBalancerReady` condition (written only where they differ).
    Set {
        /// `status.loadBalancer.ingress`.
        ingress: IngressUpdate,
        /// The `LoadBalancerReady` condition.
        readiness: Readiness,
    },
    /// The Service is released (it stopped being a LoadBalancer Service of this class, and
    /// its load balancer is gone): clear the ingress, the condition, the
    /// `load-balancer-id`/`-address` annotations and the finalizer.
    Release,
}

/// The `load-balancer-id` and `load-balancer-address` annotations to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbAnnotations {
    /// The load balancer's id.
    pub load_balancer_id: String,
    /// The address the Service is reached at; `None` leaves the annotation as it is.
    pub address: Option<String>,
}

/// The health of the load balancer's members, when this pass knows it: what the
/// `LoadBalancerMembersHealthy` condition, the `MembersDown`/`MembersRecovered` Events and
/// the `kks_lb_members` gauge come from (see [`crate::health`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembersHealth {
    /// Per node and state.
    pub health: MemberHealth,
    /// The condition to write beside `LoadBalancerReady`.
    pub condition: MembersCondition,
}

/// The provisioning status of the Service's load balancer, for the
/// `kks_lb_load_balancers{status}` gauge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Provisioning {
    /// Unchanged.
    #[default]
    Unchanged,
    /// The load balancer is in this provisioning status.
    Is(String),
    /// The Service has no load balancer.
    Gone,
}

/// The result of one pass of the [`Engine`](super::Engine): everything to write to
/// Kubernetes, in the order to write it (warnings, Events, annotations, status), and when
/// to run again. Nothing in it has been written yet.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Warnings to publish (see [`Warnings`]).
    pub warnings: Option<Warnings>,
    /// Events to publish, in order.
    pub events: Vec<Note>,
    /// Annotations to set.
    pub annotations: Option<LbAnnotations>,
    /// The status to write.
    pub status: StatusUpdate,
    /// The members' health, written with the status (`None`: unknown this pass, the
    /// condition stays as it is).
    pub health: Option<MembersHealth>,
    /// The load balancer's provisioning status.
    pub provisioning: Provisioning,
    /// Run again after this long (the drift check); `None` waits for a change. Ignored when
    /// `error` is set: the caller backs off.
    pub requeue: Option<Duration>,
    /// The members the load balancer has (to recognise node changes that matter).
    pub members: MembersKey,
    /// The Service is no longer the engine's (deleted or released): forget it.
    pub forget: bool,
    /// The pass failed; the Events and status above already report it.
    pub error: Option<Error>,
}

impl Outcome {
    /// An outcome that only sets the status.
    pub(crate) fn status(ingress: IngressUpdate, readiness: Readiness) -> Self {
        Outcome {
            status: StatusUpdate::Set { ingress, readiness },
            ..Outcome::default()
        }
    }

    /// A failed pass: a `LoadBalancerError` Event for cloud failures (with the OpenStack
    /// status and request id), and, while the Service wants a load balancer (`ensuring`), a
    /// False `LoadBalancerReady` condition saying why.
    pub(crate) fn failed(err: Error, ensuring: bool, members: MembersKey) -> Self {
        // The adapter's message names the call, the OpenStack status and the request id.
        let message = err.to_string();
        // Retries of one failure differ only in the request id: one series.
        let series = match err.cloud() {
            Some(cloud) => format!("{} {:?}", cloud.reason(), cloud.status()),
            None => message.clone(),
        };
        Outcome::reported(
            err,
            ensuring,
            members,
            Reason::LoadBalancerError,
            message,
            series,
        )
    }

    /// A failed pass reported as `reason` with `message`, aggregated under `series`: an
    /// Event, and while ensuring a False `LoadBalancerReady` condition with that reason. Only
    /// load-balancer errors are reported (see [`Error::is_load_balancer_error`]).
    pub(crate) fn reported(
        err: Error,
        ensuring: bool,
        members: MembersKey,
        reason: Reason,
        message: String,
        series: String,
    ) -> Self {
        let mut out = Outcome {
            members,
            ..Outcome::default()
        };
        if err.is_load_balancer_error() {
            out.events
                .push(Note::in_series(reason, message.clone(), series));
            if ensuring {
                out.status = StatusUpdate::Set {
                    ingress: IngressUpdate::Keep,
                    readiness: Readiness::pending(reason.as_str(), message),
                };
            }
        }
        out.error = Some(err);
        out
    }

    /// This outcome followed by `later`: Events and warnings of both in order, the later
    /// status, annotations, provisioning, requeue and error where it sets them.
    #[must_use]
    pub fn then(mut self, later: Outcome) -> Outcome {
        self.events.extend(later.events);
        self.warnings = match (self.warnings, later.warnings) {
            (Some(mut a), Some(b)) => {
                a.notes.extend(b.notes);
                a.force |= b.force;
                Some(a)
            }
            (a, b) => b.or(a),
        };
        if later.annotations.is_some() {
            self.annotations = later.annotations;
        }
        if later.status != StatusUpdate::Keep {
            self.status = later.status;
        }
        if later.health.is_some() {
            self.health = later.health;
        }
        if later.provisioning != Provisioning::Unchanged {
            self.provisioning = later.provisioning;
        }
        self.requeue = later.requeue;
        self.members = later.members;
        self.forget |= later.forget;
        if later.error.is_some() {
            self.error = later.error;
        }
        self
    }

    /// Whether the pass failed.
    pub fn is_err(&self) -> bool {
        self.error.is_some()
    }

    /// The `LoadBalancerReady` condition this outcome sets, if any.
    pub fn readiness(&self) -> Option<&Readiness> {
        match &self.status {
            StatusUpdate::Set { readiness, .. } => Some(readiness),
            StatusUpdate::Keep | StatusUpdate::Release => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_outcome_keeps_earlier_events_and_overrides_the_status() {
        let first = Outcome {
            events: vec![Note::new(Reason::EnsuringLoadBalancer, "creating")],
            ..Outcome::status(
                IngressUpdate::Keep,
                Readiness::pending("EnsuringLoadBalancer", "creating"),
            )
        };
        let second = Outcome {
            events: vec![Note::new(Reason::EnsuredLoadBalancer, "created")],
            requeue: Some(Duration::from_secs(600)),
            ..Outcome::status(
                IngressUpdate::Keep,
                Readiness::ready("EnsuredLoadBalancer", "serves"),
            )
        };
        let both = first.then(second);
        let reasons: Vec<Reason> = both.events.iter().map(|n| n.reason).collect();
        assert_eq!(
            reasons,
            [Reason::EnsuringLoadBalancer, Reason::EnsuredLoadBalancer]
        );
        assert_eq!(both.readiness().map(|r| r.ready), Some(true));
        assert_eq!(both.requeue, Some(Duration::from_secs(600)));
        assert!(!both.is_err());
    }

    #[test]
    fn a_failed_pass_reports_the_cloud_error_and_sets_the_condition_only_while_ensuring() {
        let err = || Error::Errored {
            lb: "lb-1".into(),
            id: "id-1".into(),
            replaced: false,
        };
        let ensuring = Outcome::failed(err(), true, MembersKey::NONE);
        assert_eq!(ensuring.events.len(), 1);
        assert_eq!(ensuring.events[0].reason, Reason::LoadBalancerError);
        assert_eq!(
            ensuring.readiness().map(|r| (r.ready, r.reason)),
            Some((false, "LoadBalancerError"))
        );
        assert!(ensuring.is_err());
        let removing = Outcome::failed(err(), false, MembersKey::NONE);
        assert_eq!(removing.status, StatusUpdate::Keep);
        assert_eq!(removing.events.len(), 1);
        let quiet = Outcome::failed(
            Error::MissingId { lb: "lb-1".into() },
            true,
            MembersKey::NONE,
        );
        assert!(quiet.events.is_empty() && quiet.status == StatusUpdate::Keep && quiet.is_err());
    }
}
