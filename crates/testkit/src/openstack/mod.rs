//! An in-process OpenStack emulator: Keystone v3, Octavia v2 and Neutron over HTTP on
//! `127.0.0.1`, with Octavia's provisioning state machine, fault injection and accounting.
//!
//! ```no_run
//! # async fn demo() -> Result<(), kks_lb_testkit::openstack::EmulatorError> {
//! use kks_lb_testkit::openstack::{EmulatorConfig, OpenStackEmulator};
//! let cloud = OpenStackEmulator::start(EmulatorConfig::default()).await?;
//! println!("OS_AUTH_URL={}", cloud.auth_url());
//! let fx = cloud.fixture();
//! println!("subnet-id={} floating-network-id={}", fx.cluster_subnet_id, fx.external_network_id);
//! # Ok(()) }
//! ```
//!
//! Layout of the server (all on one port):
//! - Keystone: `GET /` (300), `GET /v3`, `POST|GET|DELETE /v3/auth/tokens`. The catalog lists
//!   `load-balancer` at `{url}/load-balancer` and `network` at `{url}/network`.
//! - Octavia: `GET {url}/load-balancer/` version document (max version configurable, default
//!   v2.30 like the real one), resources under `{url}/load-balancer/v2/lbaas/...` and the
//!   `/v2.0` alias.
//! - Neutron: `GET {url}/network/` and `{url}/network/v2.0/{networks,subnets,ports,floatingips}`.
//! - Control API: `{url}/_emulator/...`, JSON, outside authentication, faults and accounting:
//!   fault rules, one-shot faults and counters, accounting, the leak report, provisioning
//!   delays and member health for tools outside the Rust process (`docs/emulator.md`).
//!
//! Time is tokio time: with `tokio::time::pause` a test advances the clock to move load
//! balancers out of `PENDING_*` and to expire tokens, deterministically. Ids, MACs and fault
//! decisions come from generators seeded by [`EmulatorConfig::seed`].

mod accounting;
mod clock;
mod config;
mod control;
mod error;
mod faults;
mod health;
mod keystone;
mod net;
mod neutron;
mod octavia;
mod oneshot;
mod query;
mod server;
mod state;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;

use kks_lb_octavia_model::ProvisioningStatus;
use kks_lb_octavia_model::api::octavia::ApiVersion;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use accounting::{
    Call, DetachedPool, LeakReport, LeakedResource, SERVICE_TAG_PREFIX, Snapshot, SubnetUsage,
};
pub use config::{
    AuthMode, Credentials, EmulatorConfig, Fixture, FlavorSpec, ProviderSpec, ProvisioningDelays,
    QuotaLimits,
};
pub use error::EmulatorError;
pub use faults::{FaultId, FaultRule, Service};
pub use health::MemberHealth;
pub(crate) use oneshot::{Arm, Progress, Shot, is_mutating, shoot};
pub use oneshot::{ArmedFault, CallCounter, CallMatcher, FaultKind, Fired, OneShotFault, Reply};
pub(crate) use server::error_body;

use state::{Shared, State, Urls};

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct OpenStackEmulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    fixture: Fixture,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl OpenStackEmulator {
    /// Binds `config.listen`, creates the fixture and serves in a background task.
    ///
    /// # Errors
    /// [`EmulatorError::Bind`] when the address cannot be bound, [`EmulatorError::Cidr`] for
    /// an invalid subnet CIDR in the configuration.
    pub async fn start(config: EmulatorConfig) -> Result<Self, EmulatorError> {
        let listen = config.listen;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: listen,
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind {
                addr: listen,
                source,
            })?;
        let state = State::new(config)?;
        let fixture = state.fixture.clone();
        let shared = Arc::new(Shared::new(state, Urls::new(format!("http://{addr}"))));
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, server::app(shared.clone()), rx));
        Ok(OpenStackEmulator {
            shared,
            addr,
            fixture,
            shutdown,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> &str {
        &self.shared.urls.base
    }

    /// Keystone v3 auth URL (`OS_AUTH_URL`), `{url}/v3`.
    pub fn auth_url(&self) -> &str {
        &self.shared.urls.auth
    }

    /// The Octavia endpoint of the catalog, `{url}/load-balancer`.
    pub fn octavia_url(&self) -> &str {
        &self.shared.urls.octavia
    }

    /// The Neutron endpoint of the catalog, `{url}/network`.
    pub fn neutron_url(&self) -> &str {
        &self.shared.urls.neutron
    }

    /// Ids and credentials of the pre-created project, networks and subnets.
    pub fn fixture(&self) -> &Fixture {
        &self.fixture
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        self.shared.write(f)
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.shared.read(f)
    }

    fn gate<T>(&self, f: impl FnOnce(&mut state::Gate) -> T) -> T {
        f(&mut self.shared.gate())
    }

    // -----------------------------------------------------------------------------------------
    // Fault controls
    // -----------------------------------------------------------------------------------------

    /// Adds a per-endpoint fault rule.
    pub fn add_fault(&self, rule: FaultRule) -> FaultId {
        self.gate(|g| g.faults.add(rule))
    }

    /// Removes a rule, one-shot fault or counter. Removing a crash-after-commit fault closes
    /// the connection it holds.
    pub fn remove_fault(&self, id: FaultId) {
        self.gate(|g| g.faults.remove(id));
    }

    /// Arms a one-shot fault: the `nth` call matching `fault.matcher` from now (counted from
    /// 0) fails before commit, commits then fails, or commits and is never answered (see
    /// [`FaultKind`]). The handle tells how many matching calls it has seen and resolves when
    /// it acts. A one-shot fault acting on a call takes precedence over [`FaultRule`]s.
    ///
    /// ```no_run
    /// # async fn demo(cloud: &kks_lb_testkit::openstack::OpenStackEmulator) {
    /// use kks_lb_testkit::openstack::{CallMatcher, OneShotFault, Reply, Service};
    /// // The third Octavia write from now is applied, then answered 504.
    /// let fault = cloud.arm_fault(OneShotFault::commit_then_fail(
    ///     CallMatcher::mutating().on(Service::Octavia),
    ///     2,
    ///     Reply::Status(504),
    /// ));
    /// // ... run the client ...
    /// let call = fault.fired().await;
    /// # }
    /// ```
    pub fn arm_fault(&self, fault: OneShotFault) -> ArmedFault {
        let (id, progress) =
            self.gate(|g| g.faults.arm(fault.matcher, Some((fault.nth, fault.kind))));
        ArmedFault { id, progress }
    }

    /// Counts the calls matching `matcher` from now on, without acting on them: run an
    /// operation fault-free, read [`CallCounter::seen`] = N, then arm one-shot faults at
    /// `0..N`.
    pub fn count_calls(&self, matcher: CallMatcher) -> CallCounter {
        let (id, progress) = self.gate(|g| g.faults.arm(matcher, None));
        CallCounter { id, progress }
    }

    /// Removes every rule, one-shot fault and counter, and every load-balancer fault (stuck,
    /// fail-next). Connections held by crash-after-commit faults are closed.
    pub fn clear_faults(&self) {
        self.gate(|g| g.faults.clear());
        self.with(|st| {
            st.lb_faults.clear();
            st.recompute_due();
        });
    }

    /// While `stuck`, no load balancer leaves `PENDING_*`; clearing it lets due operations
    /// complete on the next request.
    pub fn set_stuck_pending(&self, stuck: bool) {
        self.with(|st| {
            st.lb_faults.stuck_all = stuck;
            st.recompute_due();
        });
    }

    /// Holds (or releases) one load balancer in its `PENDING_*` state.
    pub fn stick_load_balancer(&self, lb_id: &str, stuck: bool) {
        self.with(|st| {
            if stuck {
                st.lb_faults.stuck.insert(lb_id.to_owned());
            } else {
                st.lb_faults.stuck.remove(lb_id);
            }
            st.recompute_due();
        });
    }

    /// The next `n` load balancer creates end in `ERROR` instead of `ACTIVE`.
    pub fn fail_next_creates(&self, n: u32) {
        self.with(|st| st.lb_faults.fail_creates = n);
    }

    /// The next `n` updates (LB PUT or any child change) end in `ERROR`.
    pub fn fail_next_updates(&self, n: u32) {
        self.with(|st| st.lb_faults.fail_updates = n);
    }

    /// Invalidates every issued token: the next call with one answers 401.
    pub fn revoke_tokens(&self) {
        self.with(|st| st.tokens.clear());
    }

    // -----------------------------------------------------------------------------------------
    // Runtime settings
    // -----------------------------------------------------------------------------------------

    /// Sets a project's quotas.
    pub fn set_quota(&self, project_id: &str, limits: QuotaLimits) {
        self.with(|st| st.quotas.insert(project_id.to_owned(), limits));
    }

    /// Changes the provisioning delays of later operations.
    pub fn set_delays(&self, delays: ProvisioningDelays) {
        self.with(|st| st.cfg.delays = delays);
    }

    /// Changes the maximum API version (what `GET /` reports and which fields are accepted).
    pub fn set_max_api_version(&self, version: ApiVersion) {
        self.with(|st| st.cfg.max_api_version = version);
    }

    /// What the health monitors report for the members at `address` (a node's address, in
    /// every pool that has a monitor); `None` makes them `ONLINE` again. Pools, listeners and
    /// load balancers roll their operating status up at once (see [`MemberHealth`]); no
    /// provisioning status or `updated_at` moves.
    pub fn set_member_health(&self, address: &str, health: Option<MemberHealth>) {
        self.with(|st| st.set_member_health(address, health.map(MemberHealth::operating_status)));
    }

    // -----------------------------------------------------------------------------------------
    // Accounting and inspection
    // -----------------------------------------------------------------------------------------

    /// Calls counted by (service, method, path template, status).
    pub fn calls(&self) -> BTreeMap<Call, u64> {
        self.gate(|g| g.accounting.counts())
    }

    /// Every call in arrival order.
    pub fn call_log(&self) -> Vec<Call> {
        self.gate(|g| g.accounting.log())
    }

    /// Calls of `method` on `path` (service-relative template, e.g.
    /// `/v2/lbaas/loadbalancers/{id}`), any status.
    pub fn call_count(&self, method: &str, path: &str) -> u64 {
        self.gate(|g| g.accounting.count(method, path, None))
    }

    /// Calls of `method` on `path` answered with `status` (0 = dropped connection).
    pub fn call_count_with_status(&self, method: &str, path: &str, status: u16) -> u64 {
        self.gate(|g| g.accounting.count(method, path, Some(status)))
    }

    /// Clears counters and the log.
    pub fn reset_calls(&self) {
        self.gate(|g| g.accounting.reset());
    }

    /// The whole cloud, settled at the current (tokio) time.
    pub fn snapshot(&self) -> Snapshot {
        self.read(State::snapshot)
    }

    /// The provisioning status of a load balancer, `None` once it is gone.
    pub fn provisioning_status(&self, lb_id: &str) -> Option<ProvisioningStatus> {
        self.read(|st| st.lbs.get(lb_id).map(|lb| lb.prov))
    }

    /// Load balancers and floating IPs tagged `cluster_tag` whose `kks-lb-service:<uid>` tag
    /// is not in `live_service_tags` (full tag strings), or that have no Service tag.
    pub fn leak_report<I, S>(&self, cluster_tag: &str, live_service_tags: I) -> LeakReport
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let live: BTreeSet<String> = live_service_tags.into_iter().map(Into::into).collect();
        self.read(|st| st.leak_report(cluster_tag, &live))
    }

    /// Stops the server and waits for it.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}

impl Drop for OpenStackEmulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.task.abort();
    }
}
