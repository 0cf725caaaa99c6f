//! [`Poller`]: one list call per tick for every load balancer waiting to leave `PENDING_*`.
//!
//! Each wait used to poll its own load balancer (`GET /v2/lbaas/loadbalancers/{id}` with
//! backoff), so a thousand waits cost a thousand calls a second. The poller lists the
//! cluster's load balancers instead (`GET /v2/lbaas/loadbalancers?tags=<cluster tag>`,
//! paginated with `limit`/`marker` while Octavia returns a `next` link) and wakes every waiter
//! with its load balancer's status.
//!
//! # Guarantees
//! - At most one list (plus its pages) per tick, however many waiters. A tick is due at the
//!   youngest waiter's backoff (start 1 s, ×1.5, capped, jittered), so a new wait is answered
//!   as quickly as a per-load-balancer poll would be, and then runs only when its share of
//!   the call budget allows ([`Cadence`]): a lone waiter, or calls that leave room in the
//!   budget (`--os-api-qps`; always without one), are answered at once; while the budget is
//!   saturated (a node change across every load balancer), a tick waits until the other
//!   calls since the previous tick are [`Cadence::share`] (150) times its pages, so the
//!   lists take under 1 % of the budget.
//!   While anyone waits, ticks are never further apart than [`Cadence::ceiling`] (jittered).
//! - A load balancer the list does not show (deleted, or not tagged for the cluster, e.g. an
//!   adopted one) is confirmed with one `GET` of its own: 404 means gone. A waiter that knows
//!   its load balancer carries the listed tag ([`Poller::would_list`]: the observation its
//!   delete was planned from shows it) needs no confirmation: a complete list taken after the
//!   wait began that lacks it proves it gone.
//! - When the list itself is refused (400: Octavia older than 2.5 rejects `tags`), the poller
//!   stops listing for good and every waiter polls its own load balancer, as before. Other
//!   failed lists make every waiter poll its own load balancer for that tick only.
//! - A waiter that is dropped (cancelled) leaves; the background task stops when no waiter is
//!   left and starts again with the next one.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kks_lb_octavia_model::ProvisioningStatus;
use kks_lb_octavia_model::api::octavia::{LoadBalancerList, LoadBalancerResponse};
use rand::Rng;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::client::OpenStackClient;
use crate::error::{Error, Result, Service};
use crate::pacing::Backoff;

/// The largest page the poller asks for (Octavia's default `pagination_max_limit`).
pub const PAGE_LIMIT: usize = 1000;

/// Receives the poller's gauges and timings (the controller's metrics).
pub trait WaitRecorder: Send + Sync + fmt::Debug {
    /// How many load balancers are waiting on the cloud now.
    fn waiting(&self, count: usize);
    /// One wait ended after `waited`.
    fn waited(&self, waited: Duration);
}

/// A load balancer as a `GET` or a list shows it: what the drift check compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LbState {
    /// Provisioning status.
    pub provisioning: ProvisioningStatus,
    /// Operating status, as Octavia spells it.
    pub operating: String,
    /// `updated_at` (`None` until its first update). Octavia moves it on every mutation of
    /// the load balancer and of its children.
    pub updated_at: Option<String>,
}

impl LbState {
    /// The state of a listed load balancer.
    pub fn of(lb: &LoadBalancerResponse) -> Self {
        LbState {
            provisioning: lb.provisioning_status,
            operating: lb.operating_status.to_string(),
            updated_at: lb.updated_at.clone(),
        }
    }
}

/// What one tick saw of a load balancer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sighting {
    /// No tick yet.
    None,
    /// Its state (`None`: unreadable).
    Status(Option<LbState>),
    /// It does not exist.
    Gone,
    /// The list failed: the waiter reads its load balancer itself this time.
    PollYourself,
}

#[derive(Debug)]
struct Entry {
    tx: watch::Sender<(u64, Sighting)>,
    waiters: usize,
    /// Ticks this load balancer's youngest waiter has seen.
    ticks: u32,
    /// The last tick started when its youngest waiter joined: that tick's list may predate
    /// the mutation being waited for, so only later ticks answer.
    joined: u64,
    /// Every waiter knows it carries the listed tag: absent from a list means gone.
    listed: bool,
}

/// When a due tick may run: the poller's share of the call budget. See [`Cadence::allows`].
#[derive(Debug, Clone, PartialEq)]
pub struct Cadence {
    /// Once the calls made since the previous tick (by anyone, its own pages excluded) are
    /// at least `share` × the pages of the previous list, a tick may run: 150 keeps the lists
    /// under 1 % of the calls, with room for the first and the last tick of a fan-out.
    pub share: u64,
    /// At most this many waiting load balancers are answered at their backoff, whatever the
    /// traffic: a list costs no more than their own polls would.
    pub lone: usize,
    /// Without a call budget (`qps` 0), every due tick runs: a list delays no other call.
    /// (`false` only in tests, to pace by the share alone.)
    pub unlimited_is_free: bool,
    /// The longest time between two ticks while anyone waits (jittered like the backoff).
    pub ceiling: Duration,
}

impl Cadence {
    /// The default cadence for a wait backoff: share 150, a lone waiter, ceiling twice the
    /// backoff cap (10 s).
    pub fn of(backoff: &Backoff) -> Self {
        Cadence {
            share: 150,
            lone: 1,
            unlimited_is_free: true,
            ceiling: backoff.cap * 2,
        }
    }

    /// Whether a due tick may run now (the ceiling is checked by the poller itself):
    /// - at most [`Cadence::lone`] load balancers wait;
    /// - or the calls since the previous tick and this list's pages fit in the call budget
    ///   since then (`qps` × the time): the budget is not saturated, the list delays no
    ///   other call (always, without a budget, unless [`Cadence::unlimited_is_free`] is off);
    /// - or, the budget being saturated, the calls since the previous tick are at least
    ///   [`Cadence::share`] × its pages.
    pub fn allows(&self, pace: &Pace) -> bool {
        if pace.waiters <= self.lone {
            return true;
        }
        if pace.calls >= self.share.saturating_mul(pace.pages.max(1)) {
            return true;
        }
        if pace.qps <= 0.0 {
            return self.unlimited_is_free;
        }
        #[allow(clippy::cast_precision_loss)]
        let used = (pace.calls + pace.pages.max(1)) as f64;
        used <= pace.qps * pace.since_tick.as_secs_f64()
    }
}

/// What [`Cadence::allows`] decides on.
#[derive(Debug, Clone, PartialEq)]
pub struct Pace {
    /// Load balancers waiting.
    pub waiters: usize,
    /// Calls made since the previous tick (its own pages excluded).
    pub calls: u64,
    /// Pages of the previous tick's list (1 before the first).
    pub pages: u64,
    /// Time since the previous tick (since the poller started, before the first).
    pub since_tick: Duration,
    /// The call budget in calls per second (0: unlimited).
    pub qps: f64,
}

/// The previous tick, for the cadence.
#[derive(Debug, Clone, Copy)]
struct Mark {
    at: Instant,
    /// The client's call count right after it.
    calls: u64,
    pages: u64,
    /// This interval's ceiling (jittered).
    ceiling: Duration,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<String, Entry>,
    running: bool,
    /// The next tick is due; pulled earlier by a new waiter.
    next: Option<Instant>,
    seq: u64,
    mark: Option<Mark>,
}

/// Shared polling of load balancers that wait to leave `PENDING_*`. See the module docs.
#[derive(Debug)]
pub struct Poller {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: OpenStackClient,
    backoff: Backoff,
    cadence: Mutex<Cadence>,
    filter: Vec<(&'static str, String)>,
    state: Mutex<State>,
    wake: Notify,
    /// The list was refused: waiters poll their own load balancer.
    unsupported: AtomicBool,
    recorder: Mutex<Option<Arc<dyn WaitRecorder>>>,
    /// List calls made (pages included).
    lists: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// One waiter's registration; leaving (drop) unregisters it.
pub(crate) struct Waiter {
    inner: Arc<Inner>,
    id: String,
    rx: watch::Receiver<(u64, Sighting)>,
}

impl Poller {
    /// A poller listing load balancers with the tag `tag` (the cluster tag); `None` lists
    /// every load balancer of the project.
    pub fn new(client: OpenStackClient, backoff: Backoff, tag: Option<String>) -> Self {
        let filter = tag.map(|t| vec![("tags", t)]).unwrap_or_default();
        Poller {
            inner: Arc::new(Inner {
                client,
                cadence: Mutex::new(Cadence::of(&backoff)),
                backoff,
                filter,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                unsupported: AtomicBool::new(false),
                recorder: Mutex::new(None),
                lists: AtomicU64::new(0),
            }),
        }
    }

    /// Paces the ticks with `cadence` instead of [`Cadence::of`] the backoff.
    pub fn set_cadence(&self, cadence: Cadence) {
        *lock(&self.inner.cadence) = cadence;
    }

    /// Reports waits to `recorder`.
    pub fn set_recorder(&self, recorder: Arc<dyn WaitRecorder>) {
        *lock(&self.inner.recorder) = Some(recorder);
    }

    /// How many list calls (pages included) the poller has made.
    pub fn list_calls(&self) -> u64 {
        self.inner.lists.load(Ordering::SeqCst)
    }

    /// How many load balancers are waited for now.
    pub fn waiting(&self) -> usize {
        lock(&self.inner.state).entries.len()
    }

    /// Whether waits are answered by the shared list (false once the list was refused and
    /// waiters poll on their own).
    pub fn is_listing(&self) -> bool {
        !self.inner.unsupported.load(Ordering::SeqCst)
    }

    pub(crate) fn recorder(&self) -> Option<Arc<dyn WaitRecorder>> {
        lock(&self.inner.recorder).clone()
    }

    /// Whether a load balancer with `tags` is in every list this poller takes while it
    /// exists: it carries the listed tag, or the poller lists every load balancer.
    pub fn would_list(&self, tags: &[String]) -> bool {
        self.inner
            .filter
            .first()
            .is_none_or(|(_, t)| tags.contains(t))
    }

    /// Registers a wait for `id`; `None` when the poller does not list (the caller polls).
    /// `listed`: the caller knows `id` is in every list while it exists
    /// ([`Poller::would_list`]), so a list without it answers [`Sighting::Gone`] with no
    /// `GET` of its own.
    pub(crate) fn join(&self, id: &str, listed: bool) -> Option<Waiter> {
        if self.inner.unsupported.load(Ordering::SeqCst) {
            return None;
        }
        let (rx, count, spawn) = {
            let mut st = lock(&self.inner.state);
            let first = self.inner.backoff.delay(0);
            let seq = st.seq;
            let rx = match st.entries.get_mut(id) {
                Some(e) => {
                    e.waiters += 1;
                    e.ticks = 0;
                    e.joined = seq;
                    e.listed &= listed;
                    e.tx.subscribe()
                }
                None => {
                    let (tx, rx) = watch::channel((0, Sighting::None));
                    st.entries.insert(
                        id.to_owned(),
                        Entry {
                            tx,
                            waiters: 1,
                            ticks: 0,
                            joined: seq,
                            listed,
                        },
                    );
                    rx
                }
            };
            let due = Instant::now() + first;
            st.next = Some(st.next.map_or(due, |n| n.min(due)));
            let spawn = !st.running;
            st.running = true;
            (rx, st.entries.len(), spawn)
        };
        if let Some(r) = self.recorder() {
            r.waiting(count);
        }
        if spawn {
            let inner = Arc::clone(&self.inner);
            tokio::spawn(async move { inner.run().await });
        } else {
            self.inner.wake.notify_one();
        }
        Some(Waiter {
            inner: Arc::clone(&self.inner),
            id: id.to_owned(),
            rx,
        })
    }
}

impl Waiter {
    /// The next tick's sighting (after the one last seen).
    pub(crate) async fn next(&mut self) -> Sighting {
        match self.rx.changed().await {
            Ok(()) => self.rx.borrow_and_update().1.clone(),
            // The poller stopped (cannot happen while registered): poll yourself.
            Err(_) => Sighting::PollYourself,
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let count = {
            let mut st = lock(&self.inner.state);
            if let Some(e) = st.entries.get_mut(&self.id) {
                e.waiters = e.waiters.saturating_sub(1);
                if e.waiters == 0 {
                    st.entries.remove(&self.id);
                }
            }
            st.entries.len()
        };
        if let Some(r) = lock(&self.inner.recorder).clone() {
            r.waiting(count);
        }
    }
}

impl Inner {
    /// The background task: tick while anyone waits.
    async fn run(self: Arc<Self>) {
        lock(&self.state).mark = Some(self.mark(0));
        loop {
            let (due, waiters, mark) = {
                let mut st = lock(&self.state);
                if st.entries.is_empty() {
                    st.running = false;
                    st.next = None;
                    st.mark = None;
                    return;
                }
                let due = *st.next.get_or_insert_with(Instant::now);
                let mark = *st.mark.get_or_insert_with(|| self.mark(0));
                (due, st.entries.len(), mark)
            };
            let now = Instant::now();
            if now < due {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = self.wake.notified() => { continue; }
                }
                continue;
            }
            let since_tick = now.saturating_duration_since(mark.at);
            let cadence = lock(&self.cadence).clone();
            let pace = Pace {
                waiters,
                calls: self.client.calls_made().saturating_sub(mark.calls),
                pages: mark.pages,
                since_tick,
                qps: self.client.rate_limit(),
            };
            if since_tick < mark.ceiling && !cadence.allows(&pace) {
                // Look again shortly (a timer, no call), or at the ceiling.
                let step = (self.backoff.start / 4).max(Duration::from_millis(1));
                let again = now + step.min(mark.ceiling - since_tick);
                tokio::select! {
                    () = tokio::time::sleep_until(again) => {}
                    () = self.wake.notified() => {}
                }
                continue;
            }
            let pages = self.tick().await;
            let mut st = lock(&self.state);
            st.mark = Some(self.mark(pages));
            let youngest = st.entries.values().map(|e| e.ticks).min().unwrap_or(0);
            st.next = Some(Instant::now() + self.backoff.delay(youngest));
        }
    }

    /// The mark of a tick that just made `pages` list calls.
    fn mark(&self, pages: u64) -> Mark {
        let ceiling = lock(&self.cadence).ceiling;
        let j = self.backoff.jitter.clamp(0.0, 1.0);
        let f = if j > 0.0 {
            rand::rng().random_range((1.0 - j)..=(1.0 + j))
        } else {
            1.0
        };
        Mark {
            at: Instant::now(),
            calls: self.client.calls_made(),
            pages: pages.max(1),
            ceiling: ceiling.mul_f64(f),
        }
    }

    /// One tick; returns the list calls it made.
    async fn tick(&self) -> u64 {
        let (seq, ids) = {
            let mut st = lock(&self.state);
            st.seq += 1;
            let seq = st.seq;
            let ids: Vec<(String, bool)> = st
                .entries
                .iter()
                .map(|(id, e)| (id.clone(), e.listed))
                .collect();
            (seq, ids)
        };
        if ids.is_empty() {
            return 0;
        }
        let (listed, pages) = self.list().await;
        let seen: HashMap<String, Sighting> = match listed {
            Ok(statuses) => {
                let mut seen = HashMap::new();
                for (id, listed) in ids {
                    let s = match statuses.get(&id) {
                        Some(s) => Sighting::Status(Some(s.clone())),
                        None if listed => Sighting::Gone,
                        None => self.confirm(&id).await,
                    };
                    seen.insert(id, s);
                }
                seen
            }
            Err(e) => {
                if e.status() == Some(400) {
                    tracing::warn!(
                        error = &e as &dyn std::error::Error,
                        "the load balancer list refuses the tag filter; polling each load balancer"
                    );
                    self.unsupported.store(true, Ordering::SeqCst);
                } else {
                    tracing::debug!(error = &e as &dyn std::error::Error, "poll list failed");
                }
                ids.into_iter()
                    .map(|(id, _)| (id, Sighting::PollYourself))
                    .collect()
            }
        };
        let mut st = lock(&self.state);
        for (id, s) in seen {
            if let Some(e) = st.entries.get_mut(&id).filter(|e| e.joined < seq) {
                e.ticks = e.ticks.saturating_add(1);
                e.tx.send_replace((seq, s));
            }
        }
        pages
    }

    /// Every listed load balancer's state, and the pages it took.
    async fn list(&self) -> (Result<HashMap<String, LbState>>, u64) {
        let tag = self.filter.first().map(|(_, t)| t.as_str());
        let (listed, pages) = list_pages(&self.client, tag).await;
        self.lists.fetch_add(pages, Ordering::SeqCst);
        let statuses = listed.map(|lbs| {
            lbs.into_iter()
                .map(|lb| (lb.id.clone(), LbState::of(&lb)))
                .collect()
        });
        (statuses, pages)
    }

    /// A load balancer the list did not show: one `GET` says whether it is gone.
    async fn confirm(&self, id: &str) -> Sighting {
        match self
            .client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "loadbalancers", id],
                &[],
                None,
            )
            .await
        {
            Ok(r) => Sighting::Status(status_of(&r.body)),
            Err(e) if e.is_not_found() => Sighting::Gone,
            Err(_) => Sighting::PollYourself,
        }
    }
}

/// Every load balancer of the project tagged `tag` (all of them with `None`): one
/// `GET /v2/lbaas/loadbalancers?tags=<tag>&limit=1000` per page, following Octavia's `next`
/// links with `marker`.
///
/// # Errors
/// API and decode errors of any page.
pub async fn list_loadbalancers(
    client: &OpenStackClient,
    tag: Option<&str>,
) -> Result<Vec<LoadBalancerResponse>> {
    list_pages(client, tag).await.0
}

/// [`list_loadbalancers`], and how many calls it made.
async fn list_pages(
    client: &OpenStackClient,
    tag: Option<&str>,
) -> (Result<Vec<LoadBalancerResponse>>, u64) {
    let mut pages = 0;
    let result = list_counted(client, tag, &mut pages).await;
    (result, pages)
}

async fn list_counted(
    client: &OpenStackClient,
    tag: Option<&str>,
    pages: &mut u64,
) -> Result<Vec<LoadBalancerResponse>> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        *pages += 1;
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(t) = tag {
            query.push(("tags", t.to_owned()));
        }
        query.push(("limit", PAGE_LIMIT.to_string()));
        if let Some(m) = &marker {
            query.push(("marker", m.clone()));
        }
        let reply = client
            .call(
                Service::Octavia,
                Method::GET,
                &["lbaas", "loadbalancers"],
                &query,
                None,
            )
            .await?;
        let page: LoadBalancerList =
            serde_json::from_value(reply.body).map_err(|e| Error::Decode {
                what: "load balancer list".into(),
                message: e.to_string(),
            })?;
        let more = page.loadbalancers_links.iter().any(|l| l.rel == "next");
        marker = page.loadbalancers.last().map(|lb| lb.id.clone());
        out.extend(page.loadbalancers);
        if !more || marker.is_none() {
            return Ok(out);
        }
    }
}

/// The state in a `{"loadbalancer": {...}}` body (`None` without a readable provisioning
/// status).
pub(crate) fn status_of(body: &Value) -> Option<LbState> {
    let lb = body.get("loadbalancer")?;
    let provisioning = lb
        .get("provisioning_status")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<ProvisioningStatus>().ok())?;
    Some(LbState {
        provisioning,
        operating: lb
            .get("operating_status")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        updated_at: lb
            .get("updated_at")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}
