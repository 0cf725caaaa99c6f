//! The emulated cloud's state: Octavia objects with their provisioning state machine, Neutron
//! networks/subnets/ports/floating IPs, Keystone tokens, faults and call accounting.
//!
//! Provisioning is computed lazily: a mutation marks the load balancer `PENDING_*` with a
//! due instant (tokio time); [`State::settle`], run at the start of every request and every
//! handle query, completes every operation whose instant has passed. With
//! `tokio::time::pause` a test advances the clock and observes the transition exactly.
//!
//! Map: this file holds the shared handle ([`Shared`], the request [`Gate`]), [`State`] with
//! its construction, ids, clock and Neutron primitives; `records` the object records;
//! `provisioning` the state machine and removals; `operating` the operating-status roll-up.

mod operating;
mod provisioning;
mod records;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use kks_lb_octavia_model::OperatingStatus;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::time::Instant;

use super::accounting::Accounting;
use super::clock::Clock;
use super::config::{EmulatorConfig, Fixture, QuotaLimits};
use super::error::EmulatorError;
use super::faults::{Faults, LbFaults};
use super::net::AddressPool;

pub(crate) use self::records::{
    FipRec, HmRec, LbRec, ListenerRec, MemberRec, NetworkRec, Op, Pending, PoolRec, PortRec,
    SubnetRec, TokenRec,
};

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
