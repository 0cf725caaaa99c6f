//! The emulated cloud's state: Octavia objects with their provisioning state machine, Neutron
//! networks/subnets/ports/floating IPs, Keystone tokens, faults and call accounting.
//!
//! Provisioning is computed lazily: a mutation marks the load balancer `PENDING_*` with a
//! due instant (tokio time); [`State::settle`], run at the start of every request and every
//! handle query, completes every operation whose instant has passed. With
//! `tokio::time::pause` a test advances the clock and observes the transition exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use kks_lb_octavia_model::api::octavia::SessionPersistence;
use kks_lb_octavia_model::{
    LbAlgorithm, MonitorType, OperatingStatus, Protocol, ProvisioningStatus,
};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::time::Instant;

use super::accounting::Accounting;
use super::clock::Clock;
use super::config::{EmulatorConfig, Fixture, QuotaLimits};
use super::error::EmulatorError;
use super::faults::{Faults, LbFaults};
use super::net::AddressPool;

/// Where each service lives.
#[derive(Debug, Clone)]
pub(crate) struct Urls {
    pub(crate) base: String,
    pub(crate) auth: String,
    pub(crate) octavia: String,
    pub(crate) neutron: String,
}

impl Urls {
    pub(crate) fn new(base: String) -> Self {
        Urls {
            auth: format!("{base}/v3"),
            octavia: format!("{base}/load-balancer"),
            neutron: format!("{base}/network"),
            base,
        }
    }
}

/// State shared by the handlers and the handle, under two locks that are never held together:
///
/// - `state`, the cloud (every object, tokens, settings, the provisioning state machine), a
///   reader-writer lock: reads (lists, shows, status trees, authentication) run concurrently,
///   mutations take it alone for the time of one synchronous handler;
/// - `gate`, what every call touches on its way in and out (fault rules, one-shot faults and
///   counters, request ids, call accounting), a mutex held for a few map updates.
///
/// A read settles the state machine first only when an operation is due
/// ([`State::needs_settle`]), so reads take the write lock only when something completes.
#[derive(Debug)]
pub(crate) struct Shared {
    state: RwLock<State>,
    gate: Mutex<Gate>,
    pub(crate) urls: Urls,
}

/// The per-call side of the emulator: faults decided on every call, request ids and
/// the call accounting.
#[derive(Debug)]
pub(crate) struct Gate {
    pub(crate) faults: Faults,
    pub(crate) accounting: Accounting,
    rng: StdRng,
}

impl Gate {
    fn new(seed: u64) -> Self {
        Gate {
            faults: Faults::new(seed),
            accounting: Accounting::default(),
            // A stream of its own, so the number of calls does not shift object ids.
            rng: StdRng::seed_from_u64(seed ^ 0x6b6b_732d_7265_7169),
        }
    }

    /// A request id (`req-<uuid>`).
    pub(crate) fn request_id(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        format!(
            "req-{}",
            uuid::Builder::from_random_bytes(bytes).into_uuid()
        )
    }
}

impl Shared {
    pub(crate) fn new(state: State, urls: Urls) -> Self {
        let seed = state.cfg.seed;
        Shared {
            state: RwLock::new(state),
            gate: Mutex::new(Gate::new(seed)),
            urls,
        }
    }

    /// Runs `f` on the settled state, exclusively (a poisoned lock is recovered: the state
    /// stays consistent because no code path panics while holding it).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut st = self.write_guard();
        st.settle();
        f(&mut st)
    }

    /// Runs `f` on the settled state, concurrently with other reads. When an operation is
    /// due, the write lock is taken once to settle it, and `f` runs under that lock.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        {
            let st = self.read_guard();
            if !st.needs_settle() {
                return f(&st);
            }
        }
        let mut st = self.write_guard();
        st.settle();
        f(&st)
    }

    /// The per-call side (faults, request ids, accounting).
    pub(crate) fn gate(&self) -> MutexGuard<'_, Gate> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read_guard(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_guard(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Kind of a load balancer's pending operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Update,
    Delete,
}

/// A pending operation: due at `ready_at`, ends in ERROR when `fail`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) op: Op,
    pub(crate) ready_at: Instant,
    pub(crate) fail: bool,
}

/// A load balancer.
#[derive(Debug, Clone)]
pub(crate) struct LbRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) provider: String,
    pub(crate) flavor_id: Option<String>,
    pub(crate) availability_zone: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) vip_address: String,
    pub(crate) vip_port_id: String,
    pub(crate) vip_subnet_id: String,
    pub(crate) vip_network_id: String,
    pub(crate) vip_qos_policy_id: Option<String>,
    /// Whether Octavia created (and so deletes) the VIP port.
    pub(crate) owns_vip_port: bool,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
    pub(crate) pending: Option<Pending>,
    pub(crate) listeners: Vec<String>,
    pub(crate) pools: Vec<String>,
}

/// A listener.
#[derive(Debug, Clone)]
pub(crate) struct ListenerRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) lb_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) protocol: Protocol,
    pub(crate) protocol_port: u16,
    pub(crate) connection_limit: i64,
    pub(crate) default_pool_id: Option<String>,
    pub(crate) insert_headers: BTreeMap<String, String>,
    pub(crate) timeout_client_data: u32,
    pub(crate) timeout_member_connect: u32,
    pub(crate) timeout_member_data: u32,
    pub(crate) timeout_tcp_inspect: u32,
    pub(crate) allowed_cidrs: Option<Vec<String>>,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A pool.
#[derive(Debug, Clone)]
pub(crate) struct PoolRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) lb_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) admin_state_up: bool,
    pub(crate) protocol: Protocol,
    pub(crate) lb_algorithm: LbAlgorithm,
    pub(crate) session_persistence: Option<SessionPersistence>,
    pub(crate) tags: Vec<String>,
    pub(crate) tls_enabled: bool,
    pub(crate) members: Vec<String>,
    pub(crate) hm_id: Option<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A member.
#[derive(Debug, Clone)]
pub(crate) struct MemberRec {
    pub(crate) id: String,
    pub(crate) pool_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) admin_state_up: bool,
    pub(crate) address: String,
    pub(crate) protocol_port: u16,
    pub(crate) weight: u16,
    pub(crate) backup: bool,
    pub(crate) subnet_id: Option<String>,
    pub(crate) monitor_address: Option<String>,
    pub(crate) monitor_port: Option<u16>,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A health monitor.
#[derive(Debug, Clone)]
pub(crate) struct HmRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) pool_id: String,
    pub(crate) project_id: String,
    pub(crate) name: String,
    pub(crate) kind: MonitorType,
    pub(crate) delay: u32,
    pub(crate) timeout: u32,
    pub(crate) max_retries: u8,
    pub(crate) max_retries_down: u8,
    pub(crate) http_method: Option<String>,
    pub(crate) url_path: Option<String>,
    pub(crate) expected_codes: Option<String>,
    pub(crate) http_version: Option<serde_json::Number>,
    pub(crate) domain_name: Option<String>,
    pub(crate) admin_state_up: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) prov: ProvisioningStatus,
    pub(crate) oper: OperatingStatus,
    pub(crate) created: Instant,
    pub(crate) updated: Option<Instant>,
}

/// A Neutron network.
#[derive(Debug, Clone)]
pub(crate) struct NetworkRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) project_id: String,
    pub(crate) external: bool,
    pub(crate) subnets: Vec<String>,
    pub(crate) created: Instant,
}

/// A Neutron subnet with its address accounting.
#[derive(Debug, Clone)]
pub(crate) struct SubnetRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) network_id: String,
    pub(crate) project_id: String,
    pub(crate) pool: AddressPool,
    pub(crate) created: Instant,
}

/// A Neutron port.
#[derive(Debug, Clone)]
pub(crate) struct PortRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) network_id: String,
    pub(crate) project_id: String,
    pub(crate) mac: String,
    pub(crate) device_id: String,
    pub(crate) device_owner: String,
    pub(crate) description: String,
    pub(crate) fixed_ips: Vec<(String, Ipv4Addr)>,
    pub(crate) tags: Vec<String>,
    pub(crate) created: Instant,
    pub(crate) updated: Instant,
    pub(crate) revision: u64,
}

/// A Neutron floating IP.
#[derive(Debug, Clone)]
pub(crate) struct FipRec {
    pub(crate) seq: u64,
    pub(crate) id: String,
    pub(crate) project_id: String,
    pub(crate) address: Ipv4Addr,
    pub(crate) network_id: String,
    pub(crate) subnet_id: String,
    pub(crate) port_id: Option<String>,
    pub(crate) fixed_ip: Option<Ipv4Addr>,
    pub(crate) description: String,
    pub(crate) tags: Vec<String>,
    pub(crate) created: Instant,
    pub(crate) updated: Instant,
    pub(crate) revision: u64,
}

/// An issued token.
#[derive(Debug, Clone)]
pub(crate) struct TokenRec {
    pub(crate) project_id: String,
    pub(crate) expires_at: Instant,
    pub(crate) body: kks_lb_octavia_model::api::keystone::TokenResponse,
}

/// Everything.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) cfg: EmulatorConfig,
    pub(crate) clock: Clock,
    rng: StdRng,
    seq: u64,
    pub(crate) fixture: Fixture,
    pub(crate) tokens: HashMap<String, TokenRec>,
    pub(crate) lbs: BTreeMap<String, LbRec>,
    pub(crate) listeners: BTreeMap<String, ListenerRec>,
    pub(crate) pools: BTreeMap<String, PoolRec>,
    pub(crate) members: BTreeMap<String, MemberRec>,
    pub(crate) hms: BTreeMap<String, HmRec>,
    pub(crate) networks: BTreeMap<String, NetworkRec>,
    pub(crate) subnets: BTreeMap<String, SubnetRec>,
    pub(crate) ports: BTreeMap<String, PortRec>,
    pub(crate) fips: BTreeMap<String, FipRec>,
    pub(crate) quotas: BTreeMap<String, QuotaLimits>,
    /// What the health monitors report for member addresses (the test's stand-in for the
    /// amphorae's health checks): an address missing here is `ONLINE` where a monitor runs.
    pub(crate) member_health: BTreeMap<String, OperatingStatus>,
    pub(crate) lb_faults: LbFaults,
    /// Tag -> ids of the load balancers carrying it (the index of `?tags=` lists).
    pub(crate) lb_tags: HashMap<String, BTreeSet<String>>,
    /// No pending operation is due before this instant (`None`: none is pending, or every
    /// pending one is held by a fault); [`State::needs_settle`] is one comparison.
    next_due: Option<Instant>,
}

impl State {
    /// A state with the fixture (project, cluster and external networks) created.
    pub(crate) fn new(cfg: EmulatorConfig) -> Result<Self, EmulatorError> {
        let cidr = |what: &'static str, value: &str| {
            value
                .parse::<ipnet::Ipv4Net>()
                .map_err(|source| EmulatorError::Cidr {
                    what,
                    value: value.to_owned(),
                    source,
                })
        };
        let cluster_cidr = cidr("cluster", &cfg.cluster_cidr)?;
        let external_cidr = cidr("external", &cfg.external_cidr)?;
        let mut st = State {
            clock: Clock::new(cfg.epoch),
            rng: StdRng::seed_from_u64(cfg.seed),
            seq: 0,
            fixture: Fixture {
                project_id: String::new(),
                project_name: cfg.credentials.project_name.clone(),
                user_id: String::new(),
                user_name: cfg.credentials.user_name.clone(),
                domain_name: cfg.credentials.domain_name.clone(),
                password: cfg.credentials.password.clone(),
                application_credential_id: cfg.credentials.application_credential_id.clone(),
                application_credential_secret: cfg
                    .credentials
                    .application_credential_secret
                    .clone(),
                region: cfg.region.clone(),
                cluster_network_id: String::new(),
                cluster_subnet_id: String::new(),
                external_network_id: String::new(),
                external_subnet_id: String::new(),
                router_id: String::new(),
            },
            tokens: HashMap::new(),
            lbs: BTreeMap::new(),
            listeners: BTreeMap::new(),
            pools: BTreeMap::new(),
            members: BTreeMap::new(),
            hms: BTreeMap::new(),
            networks: BTreeMap::new(),
            subnets: BTreeMap::new(),
            ports: BTreeMap::new(),
            fips: BTreeMap::new(),
            quotas: BTreeMap::new(),
            member_health: BTreeMap::new(),
            lb_faults: LbFaults::default(),
            lb_tags: HashMap::new(),
            next_due: None,
            cfg,
        };
        st.fixture.project_id = st.hex32();
        st.fixture.user_id = st.hex32();
        st.fixture.router_id = st.uuid();
        let project = st.fixture.project_id.clone();
        let (net, sub) = st.add_network("kks-cluster", &project, false, cluster_cidr);
        st.fixture.cluster_network_id = net;
        st.fixture.cluster_subnet_id = sub;
        let (net, sub) = st.add_network("public", &project, true, external_cidr);
        st.fixture.external_network_id = net;
        st.fixture.external_subnet_id = sub;
        Ok(st)
    }

    fn add_network(
        &mut self,
        name: &str,
        project: &str,
        external: bool,
        cidr: ipnet::Ipv4Net,
    ) -> (String, String) {
        let now = self.clock.now();
        let net_id = self.uuid();
        let sub_id = self.uuid();
        let seq = self.next_seq();
        self.networks.insert(
            net_id.clone(),
            NetworkRec {
                seq,
                id: net_id.clone(),
                name: name.to_owned(),
                project_id: project.to_owned(),
                external,
                subnets: vec![sub_id.clone()],
                created: now,
            },
        );
        let seq = self.next_seq();
        self.subnets.insert(
            sub_id.clone(),
            SubnetRec {
                seq,
                id: sub_id.clone(),
                name: format!("{name}-subnet"),
                network_id: net_id.clone(),
                project_id: project.to_owned(),
                pool: AddressPool::new(cidr),
                created: now,
            },
        );
        (net_id, sub_id)
    }

    // ----------------------------------------------------------------------------------------
    // Ids
    // ----------------------------------------------------------------------------------------

    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// A UUID from the seeded generator.
    pub(crate) fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }

    /// 32 hex digits (Keystone ids).
    pub(crate) fn hex32(&mut self) -> String {
        self.uuid().replace('-', "")
    }

    /// An OpenStack-style MAC (`fa:16:3e:..`).
    pub(crate) fn mac(&mut self) -> String {
        let mut b = [0u8; 3];
        self.rng.fill_bytes(&mut b);
        format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2])
    }

    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    // ----------------------------------------------------------------------------------------
    // Provisioning state machine
    // ----------------------------------------------------------------------------------------

    /// Whether a pending operation may be due (then [`State::settle`] has work to do).
    pub(crate) fn needs_settle(&self) -> bool {
        self.next_due.is_some_and(|due| due <= self.clock.now())
    }

    /// Completes every pending operation that is due and not held back by a fault. Costs one
    /// comparison unless one may be due; then one pass over the load balancers.
    pub(crate) fn settle(&mut self) {
        if !self.needs_settle() {
            return;
        }
        let now = self.clock.now();
        let due: Vec<String> = self
            .lbs
            .values()
            .filter(|lb| lb.pending.is_some_and(|p| p.ready_at <= now))
            .filter(|lb| !self.lb_faults.is_stuck(&lb.id))
            .map(|lb| lb.id.clone())
            .collect();
        for id in due {
            self.complete(&id, now);
        }
        self.recompute_due();
    }

    /// Recomputes when the next pending operation is due, leaving out the ones a fault
    /// holds. Call after changing [`State::lb_faults`].
    pub(crate) fn recompute_due(&mut self) {
        self.next_due = self
            .lbs
            .values()
            .filter(|lb| !self.lb_faults.is_stuck(&lb.id))
            .filter_map(|lb| lb.pending.map(|p| p.ready_at))
            .min();
    }

    /// Starts an operation on `lb_id`: the LB goes `PENDING_*` until the configured delay has
    /// passed. Creates and updates may be marked to fail by fault injection.
    pub(crate) fn begin(&mut self, lb_id: &str, op: Op) {
        let now = self.clock.now();
        let (delay, fail, status) = match op {
            Op::Create => (
                self.cfg.delays.create,
                self.lb_faults.take_create_failure(),
                ProvisioningStatus::PendingCreate,
            ),
            Op::Update => (
                self.cfg.delays.update,
                self.lb_faults.take_update_failure(),
                ProvisioningStatus::PendingUpdate,
            ),
            Op::Delete => (
                self.cfg.delays.delete,
                false,
                ProvisioningStatus::PendingDelete,
            ),
        };
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = status;
            let ready_at = now + delay;
            lb.pending = Some(Pending { op, ready_at, fail });
            if op != Op::Create {
                lb.updated = Some(now);
            }
            if !self.lb_faults.is_stuck(lb_id) {
                self.next_due = Some(self.next_due.map_or(ready_at, |d| d.min(ready_at)));
            }
        }
    }

    /// The ids of every child of a load balancer: (listeners, pools, members, monitors).
    pub(crate) fn children(
        &self,
        lb_id: &str,
    ) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let Some(lb) = self.lbs.get(lb_id) else {
            return Default::default();
        };
        let mut members = Vec::new();
        let mut hms = Vec::new();
        for pid in &lb.pools {
            if let Some(p) = self.pools.get(pid) {
                members.extend(p.members.iter().cloned());
                hms.extend(p.hm_id.iter().cloned());
            }
        }
        (lb.listeners.clone(), lb.pools.clone(), members, hms)
    }

    fn complete(&mut self, lb_id: &str, now: Instant) {
        let Some(pending) = self.lbs.get_mut(lb_id).and_then(|lb| lb.pending.take()) else {
            return;
        };
        if pending.fail {
            self.fail_operation(lb_id, now);
            return;
        }
        if pending.op == Op::Delete {
            self.purge_lb(lb_id);
            return;
        }
        let (listeners, pools, members, hms) = self.children(lb_id);
        for id in members {
            let delete = self
                .members
                .get(&id)
                .is_some_and(|m| m.prov == ProvisioningStatus::PendingDelete);
            if delete {
                if let Some(m) = self.members.remove(&id)
                    && let Some(p) = self.pools.get_mut(&m.pool_id)
                {
                    p.members.retain(|x| *x != id);
                }
            } else if let Some(m) = self.members.get_mut(&id) {
                activate(&mut m.prov, &mut m.updated, now);
            }
        }
        for id in hms {
            let delete = self
                .hms
                .get(&id)
                .is_some_and(|h| h.prov == ProvisioningStatus::PendingDelete);
            if delete {
                if let Some(h) = self.hms.remove(&id)
                    && let Some(p) = self.pools.get_mut(&h.pool_id)
                {
                    p.hm_id = None;
                }
            } else if let Some(h) = self.hms.get_mut(&id) {
                activate(&mut h.prov, &mut h.updated, now);
            }
        }
        for id in pools {
            let delete = self
                .pools
                .get(&id)
                .is_some_and(|p| p.prov == ProvisioningStatus::PendingDelete);
            if delete {
                self.remove_pool(&id);
            } else if let Some(p) = self.pools.get_mut(&id) {
                activate(&mut p.prov, &mut p.updated, now);
            }
        }
        for id in listeners {
            let delete = self
                .listeners
                .get(&id)
                .is_some_and(|l| l.prov == ProvisioningStatus::PendingDelete);
            if delete {
                self.listeners.remove(&id);
                if let Some(lb) = self.lbs.get_mut(lb_id) {
                    lb.listeners.retain(|x| *x != id);
                }
            } else if let Some(l) = self.listeners.get_mut(&id) {
                activate(&mut l.prov, &mut l.updated, now);
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = ProvisioningStatus::Active;
            lb.updated = Some(now);
        }
        self.refresh_operating(lb_id);
    }

    /// A failed create/update: the LB and every object that was pending go to ERROR
    /// (Octavia's flow reverts mark the load balancer ERROR).
    fn fail_operation(&mut self, lb_id: &str, now: Instant) {
        let (listeners, pools, members, hms) = self.children(lb_id);
        let mark = |prov: &mut ProvisioningStatus, updated: &mut Option<Instant>| {
            if prov.is_pending() {
                *prov = ProvisioningStatus::Error;
                *updated = Some(now);
            }
        };
        for id in &listeners {
            if let Some(x) = self.listeners.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &pools {
            if let Some(x) = self.pools.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &members {
            if let Some(x) = self.members.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        for id in &hms {
            if let Some(x) = self.hms.get_mut(id) {
                mark(&mut x.prov, &mut x.updated);
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.prov = ProvisioningStatus::Error;
            lb.oper = OperatingStatus::Error;
            lb.updated = Some(now);
        }
    }

    /// Removes a pool with its members and monitor, detaching it from listeners.
    pub(crate) fn remove_pool(&mut self, pool_id: &str) {
        let Some(pool) = self.pools.remove(pool_id) else {
            return;
        };
        for m in &pool.members {
            self.members.remove(m);
        }
        if let Some(h) = &pool.hm_id {
            self.hms.remove(h);
        }
        for l in self.listeners.values_mut() {
            if l.default_pool_id.as_deref() == Some(pool_id) {
                l.default_pool_id = None;
            }
        }
        if let Some(lb) = self.lbs.get_mut(&pool.lb_id) {
            lb.pools.retain(|x| x != pool_id);
        }
    }

    /// Moves a load balancer in the tag index from its `old` tags to its `new` ones.
    pub(crate) fn reindex_lb_tags(&mut self, lb_id: &str, old: &[String], new: &[String]) {
        for t in old {
            if let Some(ids) = self.lb_tags.get_mut(t) {
                ids.remove(lb_id);
                if ids.is_empty() {
                    self.lb_tags.remove(t);
                }
            }
        }
        for t in new {
            self.lb_tags
                .entry(t.clone())
                .or_default()
                .insert(lb_id.to_owned());
        }
    }

    /// Removes a load balancer, all its children and (if Octavia created it) its VIP port.
    pub(crate) fn purge_lb(&mut self, lb_id: &str) {
        let (listeners, pools, _, _) = self.children(lb_id);
        for p in pools {
            self.remove_pool(&p);
        }
        for l in listeners {
            self.listeners.remove(&l);
        }
        if let Some(lb) = self.lbs.remove(lb_id) {
            self.reindex_lb_tags(lb_id, &lb.tags, &[]);
            if lb.owns_vip_port {
                self.delete_port(&lb.vip_port_id);
            } else if let Some(port) = self.ports.get_mut(&lb.vip_port_id) {
                port.device_id.clear();
                port.device_owner.clear();
            }
        }
    }

    /// Operating statuses of an ACTIVE tree, as Octavia's health manager reports them:
    /// members `NO_MONITOR` when their pool has no monitor, else what the monitor sees
    /// ([`State::member_health`], `ONLINE` by default; `OFFLINE` when disabled). Pools,
    /// listeners and the load balancer roll up: `ONLINE` when every monitored member is up
    /// (or none is monitored), `DEGRADED` when some are down (`OFFLINE` or `ERROR`), `ERROR`
    /// when all are. Disabled objects are `OFFLINE`.
    pub(crate) fn refresh_operating(&mut self, lb_id: &str) {
        let (listeners, pools, _, _) = self.children(lb_id);
        let mut pool_status: BTreeMap<String, OperatingStatus> = BTreeMap::new();
        for id in pools {
            let Some(p) = self.pools.get(&id) else {
                continue;
            };
            let (up, has_hm, members, hm) = (
                p.admin_state_up,
                p.hm_id.is_some(),
                p.members.clone(),
                p.hm_id.clone(),
            );
            let (mut monitored, mut down) = (0usize, 0usize);
            for m in members {
                if let Some(m) = self.members.get_mut(&m) {
                    m.oper = match (m.admin_state_up, has_hm) {
                        (false, _) => OperatingStatus::Offline,
                        (true, false) => OperatingStatus::NoMonitor,
                        (true, true) => self
                            .member_health
                            .get(&m.address)
                            .copied()
                            .unwrap_or(OperatingStatus::Online),
                    };
                    if m.admin_state_up && has_hm {
                        monitored += 1;
                        if matches!(m.oper, OperatingStatus::Offline | OperatingStatus::Error) {
                            down += 1;
                        }
                    }
                }
            }
            let status = if !up {
                OperatingStatus::Offline
            } else {
                rollup(monitored, down)
            };
            if let Some(p) = self.pools.get_mut(&id) {
                p.oper = status;
            }
            pool_status.insert(id, status);
            if let Some(h) = hm.and_then(|h| self.hms.get_mut(&h)) {
                h.oper = online(h.admin_state_up);
            }
        }
        let (mut serving, mut failing) = (0usize, 0usize);
        let mut degraded = 0usize;
        for id in listeners {
            let Some(l) = self.listeners.get_mut(&id) else {
                continue;
            };
            l.oper = if l.admin_state_up {
                match l.default_pool_id.as_ref().and_then(|p| pool_status.get(p)) {
                    Some(OperatingStatus::Error) => OperatingStatus::Error,
                    Some(OperatingStatus::Degraded) => OperatingStatus::Degraded,
                    _ => OperatingStatus::Online,
                }
            } else {
                OperatingStatus::Offline
            };
            if l.admin_state_up {
                serving += 1;
                match l.oper {
                    OperatingStatus::Error => failing += 1,
                    OperatingStatus::Degraded => degraded += 1,
                    _ => {}
                }
            }
        }
        if let Some(lb) = self.lbs.get_mut(lb_id) {
            lb.oper = match (lb.admin_state_up, rollup(serving, failing)) {
                (false, _) => OperatingStatus::Offline,
                (true, OperatingStatus::Online) if degraded > 0 => OperatingStatus::Degraded,
                (true, status) => status,
            };
        }
    }

    /// Sets what the health monitors report for `address` (`None`: up again) and rolls the
    /// operating statuses of every settled load balancer up anew. Provisioning status and
    /// `updated_at` do not move: only the health manager writes operating statuses.
    pub(crate) fn set_member_health(&mut self, address: &str, status: Option<OperatingStatus>) {
        match status {
            Some(s) => self.member_health.insert(address.to_owned(), s),
            None => self.member_health.remove(address),
        };
        let settled: Vec<String> = self
            .lbs
            .values()
            .filter(|lb| {
                matches!(
                    lb.prov,
                    ProvisioningStatus::Active | ProvisioningStatus::PendingUpdate
                )
            })
            .map(|lb| lb.id.clone())
            .collect();
        for id in settled {
            self.refresh_operating(&id);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Neutron primitives
    // ----------------------------------------------------------------------------------------

    /// Deletes a port: releases its addresses and disassociates floating IPs bound to it
    /// (what Neutron does when a port goes away).
    pub(crate) fn delete_port(&mut self, port_id: &str) {
        let Some(port) = self.ports.remove(port_id) else {
            return;
        };
        for (subnet, ip) in &port.fixed_ips {
            if let Some(s) = self.subnets.get_mut(subnet) {
                s.pool.release(*ip);
            }
        }
        let now = self.clock.now();
        for fip in self.fips.values_mut() {
            if fip.port_id.as_deref() == Some(port_id) {
                fip.port_id = None;
                fip.fixed_ip = None;
                fip.updated = now;
                fip.revision += 1;
            }
        }
    }

    /// The quota limits of a project.
    pub(crate) fn quota(&self, project: &str) -> QuotaLimits {
        self.quotas.get(project).copied().unwrap_or(self.cfg.quotas)
    }
}

fn online(up: bool) -> OperatingStatus {
    if up {
        OperatingStatus::Online
    } else {
        OperatingStatus::Offline
    }
}

/// The operating status of a parent of `total` health-checked children of which `down` are
/// down: `ONLINE` with none down (or none checked), `ERROR` with all down, else `DEGRADED`.
fn rollup(total: usize, down: usize) -> OperatingStatus {
    if down == 0 {
        OperatingStatus::Online
    } else if down >= total {
        OperatingStatus::Error
    } else {
        OperatingStatus::Degraded
    }
}

fn activate(prov: &mut ProvisioningStatus, updated: &mut Option<Instant>, now: Instant) {
    if prov.is_pending() {
        *prov = ProvisioningStatus::Active;
        *updated = Some(now);
    }
}
