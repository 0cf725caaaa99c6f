//! Leader election against the Kubernetes API emulator, with short lease durations.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kks_lb_controller::leader::{LeaderElector, LeaderError, Leadership, LeaseConfig};
use kks_lb_testkit::kube_api::{Fault, KubeEmulator};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

const NAMESPACE: &str = "kube-system";
const NAME: &str = "kks-lb";
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kks-lb";

/// Generous bound for things that should happen within about a second; only a hang fails it.
const PATIENCE: Duration = Duration::from_secs(30);

async fn emulator() -> (KubeEmulator, kube::Client) {
    let emu = KubeEmulator::start().await.unwrap();
    let client = kube::Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap();
    (emu, client)
}

fn config(identity: &str, lease_ms: u64, renew_ms: u64, retry_ms: u64) -> LeaseConfig {
    LeaseConfig {
        namespace: NAMESPACE.into(),
        name: NAME.into(),
        identity: identity.into(),
        lease_duration: Duration::from_millis(lease_ms),
        renew_every: Duration::from_millis(renew_ms),
        retry_every: Duration::from_millis(retry_ms),
    }
}

/// Lease 1 s, renew every 200 ms, poll every 100 ms.
fn fast(client: &kube::Client, identity: &str) -> LeaderElector {
    LeaderElector::new(client.clone(), config(identity, 1000, 200, 100))
}

/// Like [`fast`], with a lease long enough that a loaded machine never lets it expire
/// between two renewals (for tests about what happens around one renewal).
fn fast_renewing_long_lease(client: &kube::Client, identity: &str) -> LeaderElector {
    LeaderElector::new(client.clone(), config(identity, 10_000, 200, 100))
}

fn lease(emu: &KubeEmulator) -> Lease {
    emu.get::<Lease>(Some(NAMESPACE), NAME)
        .unwrap()
        .expect("lease exists")
}

fn holder(emu: &KubeEmulator) -> Option<String> {
    lease(emu).spec.and_then(|s| s.holder_identity)
}

fn transitions(emu: &KubeEmulator) -> i32 {
    lease(emu)
        .spec
        .and_then(|s| s.lease_transitions)
        .unwrap_or_default()
}

/// Polls `done` every 20 ms until it holds; fails after [`PATIENCE`].
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        sleep(Duration::from_millis(20)).await;
    }
}

async fn acquire(elector: &LeaderElector) -> Leadership {
    timeout(PATIENCE, elector.acquire(&CancellationToken::new()))
        .await
        .expect("acquired in time")
        .expect("acquired")
}

#[tokio::test]
async fn first_replica_creates_the_lease_and_keeps_renewing_it() {
    let (emu, client) = emulator().await;
    let leadership = acquire(&fast(&client, "pod-a")).await;
    assert!(leadership.is_leader());

    let created = lease(&emu).spec.unwrap();
    assert_eq!(created.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(created.lease_duration_seconds, Some(1));
    assert_eq!(created.lease_transitions, Some(0));
    assert!(created.acquire_time.is_some());
    let first_renew = created.renew_time.clone().unwrap();

    emu.wait_for::<Lease>(Some(NAMESPACE), NAME, PATIENCE, |l| {
        l.and_then(|l| l.spec.as_ref())
            .and_then(|s| s.renew_time.as_ref())
            .is_some_and(|t| *t != first_renew)
    })
    .await
    .unwrap();
    let renewed = lease(&emu).spec.unwrap();
    assert_eq!(renewed.holder_identity.as_deref(), Some("pod-a"));
    assert_eq!(renewed.acquire_time, created.acquire_time);
    assert_eq!(renewed.lease_transitions, Some(0));
    assert!(leadership.is_leader());
}

#[tokio::test]
async fn second_replica_waits_while_the_leader_renews_until_shutdown() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast(&client, "pod-a")).await;

    let shutdown = CancellationToken::new();
    let follower = {
        let elector = fast(&client, "pod-b");
        let shutdown = shutdown.clone();
        tokio::spawn(async move { elector.acquire(&shutdown).await.map(drop) })
    };
    // Eight renewals span 1.6 s, longer than the 1 s lease: a follower ignoring them would
    // have taken over by then.
    let renewals_before = emu.count_requests("PUT", LEASE_PATH);
    wait_until("the leader renewed eight more times", || {
        emu.count_requests("PUT", LEASE_PATH) >= renewals_before + 8
    })
    .await;
    shutdown.cancel();

    let waited = follower.await.unwrap();
    assert!(
        matches!(waited, Err(LeaderError::Cancelled { .. })),
        "{waited:?}"
    );
    assert!(leader.is_leader());
    assert_eq!(holder(&emu).as_deref(), Some("pod-a"));
    assert_eq!(transitions(&emu), 0);
}

#[tokio::test]
async fn release_hands_the_lease_over_without_waiting_for_expiry() {
    let (emu, client) = emulator().await;
    // A 30 s lease: the follower can only get it within the test's bound through release.
    let slow = |id: &str| LeaderElector::new(client.clone(), config(id, 30_000, 1_000, 100));
    let leader = acquire(&slow("pod-a")).await;

    let follower = {
        let elector = slow("pod-b");
        tokio::spawn(async move { elector.acquire(&CancellationToken::new()).await })
    };
    let reads_before = emu.count_requests("GET", LEASE_PATH);
    wait_until("the follower has read the lease", || {
        emu.count_requests("GET", LEASE_PATH) > reads_before
    })
    .await;
    assert!(!follower.is_finished());

    leader.release().await.unwrap();
    let new_leader = timeout(Duration::from_secs(10), follower)
        .await
        .expect("hand-over well under the 30 s lease duration")
        .unwrap()
        .unwrap();

    assert!(new_leader.is_leader());
    let spec = lease(&emu).spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(spec.lease_transitions, Some(1));
}

#[tokio::test]
async fn release_leaves_a_lease_taken_by_another_holder_alone() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast(&client, "pod-a")).await;
    emu.edit::<Lease>(Some(NAMESPACE), NAME, |l| {
        l.spec.as_mut().unwrap().holder_identity = Some("pod-z".into());
    })
    .unwrap();

    leader.release().await.unwrap();
    assert_eq!(holder(&emu).as_deref(), Some("pod-z"));
}

#[tokio::test]
async fn killed_leader_is_replaced_only_after_the_lease_expires() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast(&client, "pod-a")).await;
    let acquired_first = lease(&emu).spec.unwrap().acquire_time;

    let started = Instant::now();
    let follower = {
        let elector = fast(&client, "pod-b");
        tokio::spawn(async move { elector.acquire(&CancellationToken::new()).await })
    };
    // Killed: renewal stops, nothing is released.
    drop(leader);

    let new_leader = timeout(PATIENCE, follower).await.unwrap().unwrap().unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "took over after {:?}, before the 1 s lease could expire",
        started.elapsed()
    );
    assert!(new_leader.is_leader());
    let spec = lease(&emu).spec.unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("pod-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_ne!(spec.acquire_time, acquired_first);
}

#[tokio::test]
async fn conflict_on_renewal_is_resolved_by_rereading_the_lease() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast_renewing_long_lease(&client, "pod-a")).await;

    emu.clear_audit_log();
    emu.inject(Fault::error("PUT", LEASE_PATH, 409).times(1));
    wait_until("a renewal succeeded after the conflict", || {
        let log = emu.audit_log();
        let Some(conflict) = log
            .iter()
            .position(|e| e.method == "PUT" && e.status == 409)
        else {
            return false;
        };
        log[conflict..]
            .iter()
            .any(|e| e.method == "PUT" && e.status == 200)
    })
    .await;

    let log = emu.audit_log();
    let conflict = log
        .iter()
        .position(|e| e.method == "PUT" && e.status == 409)
        .unwrap();
    assert_eq!(log[conflict + 1].method, "GET", "re-read after the 409");
    assert!(leader.is_leader());
    assert_eq!(holder(&emu).as_deref(), Some("pod-a"));
    assert_eq!(transitions(&emu), 0);
}

#[tokio::test]
async fn leader_steps_down_when_another_holder_took_the_lease() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast(&client, "pod-a")).await;
    emu.edit::<Lease>(Some(NAMESPACE), NAME, |l| {
        l.spec.as_mut().unwrap().holder_identity = Some("pod-z".into());
    })
    .unwrap();

    timeout(PATIENCE, leader.lost())
        .await
        .expect("loss noticed");
    assert!(!leader.is_leader());
    assert_eq!(holder(&emu).as_deref(), Some("pod-z"));
}

#[tokio::test]
async fn leader_steps_down_when_renewals_keep_failing() {
    let (emu, client) = emulator().await;
    let leader = acquire(&fast(&client, "pod-a")).await;
    emu.inject(Fault::error("PUT", LEASE_PATH, 500));

    timeout(PATIENCE, leader.lost())
        .await
        .expect("loss noticed");
    assert!(!leader.is_leader());
    // The lease still names the old leader; followers take it once it expires.
    assert_eq!(holder(&emu).as_deref(), Some("pod-a"));
}

#[tokio::test]
async fn forbidden_lease_read_fails_acquire_instead_of_retrying() {
    let (emu, client) = emulator().await;
    emu.inject(Fault::error("GET", LEASE_PATH, 403));

    let err = fast(&client, "pod-a")
        .acquire(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, LeaderError::Read { .. }), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn invalid_timing_is_rejected_before_any_request() {
    let (emu, client) = emulator().await;
    emu.clear_audit_log();
    let elector = LeaderElector::new(client, config("pod-a", 1000, 900, 100));

    let err = elector
        .acquire(&CancellationToken::new())
        .await
        .unwrap_err();
    assert!(matches!(err, LeaderError::InvalidConfig { .. }), "{err:?}");
    assert_eq!(emu.count_requests("*", "leases"), 0);
}

/// While the leader's renewal hangs in the API server, a follower takes over after the lease
/// expires; by then the old leader must already have stopped believing it leads.
#[tokio::test]
async fn stalled_renewal_ends_leadership_before_a_follower_takes_over() {
    let (emu, client) = emulator().await;
    // Lease 2 s, renew every 300 ms, poll every 100 ms.
    let leader = acquire(&LeaderElector::new(
        client.clone(),
        config("pod-a", 2000, 300, 100),
    ))
    .await;
    let follower = {
        let elector = LeaderElector::new(client.clone(), config("pod-b", 2000, 300, 100));
        tokio::spawn(async move { elector.acquire(&CancellationToken::new()).await })
    };

    emu.inject(Fault::latency("PUT", LEASE_PATH, Duration::from_secs(4)).times(1));
    let new_leader = timeout(PATIENCE, follower).await.unwrap().unwrap().unwrap();

    assert!(new_leader.is_leader());
    assert!(
        !leader.is_leader(),
        "the old leader still believed it led when the follower took over"
    );
    assert_eq!(holder(&emu).as_deref(), Some("pod-b"));
}

/// Three replicas compete for several seconds while leaders release, get killed, or lose
/// renewals to injected latency and errors. Whenever a replica acquires, no other live
/// [`Leadership`] may report `is_leader()`, and a shared counter of replicas acting as
/// leader (incremented after acquire, decremented when they stop) never exceeds one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_two_leaders_at_once() {
    let (emu, client) = emulator().await;
    let acting = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let terms = Arc::new(AtomicUsize::new(0));
    let leaders: Arc<Mutex<HashSet<&str>>> = Arc::default();
    let live: Arc<Mutex<Vec<Arc<Leadership>>>> = Arc::default();
    let stop = CancellationToken::new();

    let mut replicas = Vec::new();
    for (n, identity) in ["pod-a", "pod-b", "pod-c"].into_iter().enumerate() {
        // Lease 2 s, renew every 300 ms, poll every 100 ms.
        let elector = LeaderElector::new(client.clone(), config(identity, 2000, 300, 100));
        let (acting, overlaps, terms, leaders, live, stop) = (
            Arc::clone(&acting),
            Arc::clone(&overlaps),
            Arc::clone(&terms),
            Arc::clone(&leaders),
            Arc::clone(&live),
            stop.clone(),
        );
        replicas.push(tokio::spawn(async move {
            let mut round = n;
            loop {
                let leadership = match elector.acquire(&stop).await {
                    Ok(l) => Arc::new(l),
                    Err(LeaderError::Cancelled { .. }) => return,
                    Err(err) => panic!("{identity}: {err}"),
                };
                {
                    let mut live = live.lock().unwrap();
                    if live.iter().any(|other| other.is_leader()) {
                        overlaps.fetch_add(1, Ordering::SeqCst);
                    }
                    live.push(Arc::clone(&leadership));
                }
                if acting.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                terms.fetch_add(1, Ordering::SeqCst);
                leaders.lock().unwrap().insert(identity);
                // Some terms outlast the lease, so stalled renewals hit a live leader.
                let hold = Duration::from_millis(100 + rand::random_range(0..2900));
                tokio::select! {
                    () = leadership.lost() => {}
                    () = sleep(hold) => {}
                    () = stop.cancelled() => {}
                }
                acting.fetch_sub(1, Ordering::SeqCst);
                live.lock()
                    .unwrap()
                    .retain(|l| !Arc::ptr_eq(l, &leadership));
                let leadership = Arc::into_inner(leadership).unwrap();
                round += 1;
                // Stay away a while, as a restarting replica would, so others get a turn:
                // after a release they take over at once, after a kill once the lease expires.
                let away = if round % 3 == 0 {
                    drop(leadership); // killed
                    Duration::from_millis(2500)
                } else {
                    let _ = leadership.release().await;
                    Duration::from_millis(300)
                };
                tokio::select! {
                    () = sleep(away) => {}
                    () = stop.cancelled() => return,
                }
            }
        }));
    }

    // Chaos: now and then stall, fail or conflict a lease write.
    for i in 0..12 {
        sleep(Duration::from_millis(700)).await;
        match i % 3 {
            0 => {
                emu.inject(Fault::latency("PUT", LEASE_PATH, Duration::from_millis(3000)).times(1))
            }
            1 => emu.inject(Fault::error("PUT", LEASE_PATH, 500).times(3)),
            _ => emu.inject(Fault::error("PUT", LEASE_PATH, 409).times(1)),
        }
    }
    sleep(Duration::from_millis(500)).await;
    stop.cancel();
    for replica in replicas {
        timeout(PATIENCE, replica).await.unwrap().unwrap();
    }

    assert_eq!(
        overlaps.load(Ordering::SeqCst),
        0,
        "two replicas led at once"
    );
    assert!(
        terms.load(Ordering::SeqCst) >= 3,
        "only {} leadership terms: the run did not exercise hand-overs",
        terms.load(Ordering::SeqCst)
    );
    let leaders = leaders.lock().unwrap().len();
    assert!(leaders >= 2, "only {leaders} replica ever led");
    assert!(transitions(&emu) >= 1);
}
