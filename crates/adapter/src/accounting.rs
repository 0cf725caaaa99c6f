//! The four call-count scenarios of `docs/benchmarks.md` (create, drift check, node added,
//! delete), shared by the accounting test and the `calls` bench binary.

use std::collections::BTreeMap;

/// The endpoint under which the shared poller's lists are counted.
pub const POLL_LIST: &str = "/v2/lbaas/loadbalancers (poll)";

/// Calls of one scenario, grouped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// (method, path template) → count, Octavia and Neutron only (Keystone excluded).
    pub by_endpoint: BTreeMap<(String, String), u64>,
}

impl CallCounts {
    /// Builds counts from (service, method, path) triples, skipping Keystone.
    pub fn from_calls<'a>(calls: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) -> Self {
        let mut by_endpoint = BTreeMap::new();
        for (service, method, path) in calls {
            if service.eq_ignore_ascii_case("keystone") {
                continue;
            }
            *by_endpoint
                .entry((method.to_owned(), path.to_owned()))
                .or_default() += 1;
        }
        CallCounts { by_endpoint }
    }

    /// Every call.
    pub fn total(&self) -> u64 {
        self.by_endpoint.values().sum()
    }

    /// Calls that change something (not GET).
    pub fn writes(&self) -> u64 {
        self.by_endpoint
            .iter()
            .filter(|((m, _), _)| m != "GET")
            .map(|(_, n)| n)
            .sum()
    }

    /// Polls of load balancer statuses: `GET .../loadbalancers/{id}` and the shared poller's
    /// lists ([`POLL_LIST`], moved there by [`CallCounts::take_poll_lists`]).
    pub fn polls(&self) -> u64 {
        self.by_endpoint
            .iter()
            .filter(|((m, p), _)| {
                m == "GET" && (p.ends_with("/loadbalancers/{id}") || p == POLL_LIST)
            })
            .map(|(_, n)| n)
            .sum()
    }

    /// Counts `n` of the `GET /v2/lbaas/loadbalancers` lists as the shared poller's (the
    /// poller counts its own calls: `Poller::list_calls`), under [`POLL_LIST`].
    pub fn take_poll_lists(&mut self, n: u64) {
        let key = ("GET".to_owned(), "/v2/lbaas/loadbalancers".to_owned());
        let listed = self.by_endpoint.get(&key).copied().unwrap_or(0);
        let moved = n.min(listed);
        if moved == 0 {
            return;
        }
        if listed == moved {
            self.by_endpoint.remove(&key);
        } else {
            self.by_endpoint.insert(key, listed - moved);
        }
        *self
            .by_endpoint
            .entry(("GET".to_owned(), POLL_LIST.to_owned()))
            .or_default() += moved;
    }

    /// Version discovery (`GET /` of a service), made once per process per service.
    pub fn discovery(&self) -> u64 {
        self.by_endpoint
            .iter()
            .filter(|((m, p), _)| m == "GET" && p == "/")
            .map(|(_, n)| n)
            .sum()
    }

    /// Reads other than polls and version discovery.
    pub fn reads(&self) -> u64 {
        self.total() - self.writes() - self.polls() - self.discovery()
    }
}
