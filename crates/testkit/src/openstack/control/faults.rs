//! Fault control: rules and one-shot faults (`/_emulator/faults[/{id}[/fired]]`) with their
//! wire forms and checks, and the load-balancer level faults (`/_emulator/faults/load-balancers`).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::faults::{FaultId, FaultRule, Service};
use super::super::oneshot::{Arm, CallMatcher, FaultKind, Fired, Progress, Reply};
use super::super::query::Query;
use super::super::server::json;
use super::super::state::{Gate, State};
use super::{
    Answer, ControlError, Sh, bad_request, error, gated, parse, parse_method, parse_service,
    settled,
};

/// How long `GET /_emulator/faults/{id}/fired` waits without `timeout_ms`.
const DEFAULT_WAIT: Duration = Duration::from_secs(30);

/// A reply on the wire: `{"status": 503}` or `"drop"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ReplyWire {
    Status(u16),
    Drop,
}

impl From<Reply> for ReplyWire {
    fn from(r: Reply) -> Self {
        match r {
            Reply::Status(s) => ReplyWire::Status(s),
            Reply::Drop => ReplyWire::Drop,
        }
    }
}

/// The kind of a one-shot fault on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum KindWire {
    BeforeCommit,
    CommitThenFail,
    CrashAfterCommit,
}

/// `POST /_emulator/faults` body.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum NewFault {
    /// A [`FaultRule`].
    Rule {
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        service: Option<String>,
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        error_rate: f64,
        #[serde(default = "default_error_status")]
        error_status: u16,
        #[serde(default)]
        drop_rate: f64,
        #[serde(default)]
        latency_ms: u64,
        #[serde(default)]
        burst: u32,
        #[serde(default = "default_burst_status")]
        burst_status: u16,
    },
    /// A [`super::OneShotFault`].
    OneShot {
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        service: Option<String>,
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        mutating: bool,
        nth: u64,
        kind: String,
        #[serde(default)]
        reply: Option<ReplyWire>,
    },
    /// A [`super::CallCounter`].
    Counter {
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        service: Option<String>,
        #[serde(default)]
        path: Option<String>,
        #[serde(default)]
        mutating: bool,
    },
}

fn default_error_status() -> u16 {
    503
}
fn default_burst_status() -> u16 {
    409
}

/// The call a one-shot fault acted on, on the wire.
#[derive(Debug, Serialize)]
struct FiredWire {
    index: u64,
    service: Service,
    method: String,
    path: String,
    uri: String,
    status: Option<u16>,
    body: String,
    committed: bool,
}

impl From<&Fired> for FiredWire {
    fn from(f: &Fired) -> Self {
        FiredWire {
            index: f.index,
            service: f.service,
            method: f.method.clone(),
            path: f.path.clone(),
            uri: f.uri.clone(),
            status: f.status,
            body: f.body.clone(),
            committed: f.committed(),
        }
    }
}

/// One entry of `GET /_emulator/faults`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum FaultWire {
    Rule {
        id: u64,
        method: Option<String>,
        service: Option<Service>,
        path: Option<String>,
        error_rate: f64,
        error_status: u16,
        drop_rate: f64,
        latency_ms: u128,
        burst: u32,
        burst_status: u16,
    },
    OneShot {
        id: u64,
        method: Option<String>,
        service: Option<Service>,
        path: Option<String>,
        mutating: bool,
        nth: u64,
        kind: KindWire,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply: Option<ReplyWire>,
        seen: u64,
        fired: Option<FiredWire>,
    },
    Counter {
        id: u64,
        method: Option<String>,
        service: Option<Service>,
        path: Option<String>,
        mutating: bool,
        seen: u64,
    },
}

fn rule_wire(id: FaultId, r: &FaultRule) -> FaultWire {
    FaultWire::Rule {
        id: id.get(),
        method: r.method.as_ref().map(|m| m.as_str().to_owned()),
        service: r.service,
        path: r.path.clone(),
        error_rate: r.error_rate,
        error_status: r.error_status,
        drop_rate: r.drop_rate,
        latency_ms: r.latency.as_millis(),
        burst: r.burst,
        burst_status: r.burst_status,
    }
}

fn arm_wire(arm: &Arm) -> FaultWire {
    progress_wire(arm.id, &arm.matcher, arm.fault, &arm.progress.borrow())
}

fn progress_wire(
    id: FaultId,
    m: &CallMatcher,
    fault: Option<(u64, FaultKind)>,
    p: &Progress,
) -> FaultWire {
    let method = m.method.as_ref().map(|m| m.as_str().to_owned());
    match fault {
        None => FaultWire::Counter {
            id: id.get(),
            method,
            service: m.service,
            path: m.path.clone(),
            mutating: m.mutating,
            seen: p.seen,
        },
        Some((nth, kind)) => {
            let (kind, reply) = match kind {
                FaultKind::BeforeCommit(r) => (KindWire::BeforeCommit, Some(r.into())),
                FaultKind::CommitThenFail(r) => (KindWire::CommitThenFail, Some(r.into())),
                FaultKind::CrashAfterCommit => (KindWire::CrashAfterCommit, None),
            };
            FaultWire::OneShot {
                id: id.get(),
                method,
                service: m.service,
                path: m.path.clone(),
                mutating: m.mutating,
                nth,
                kind,
                reply,
                seen: p.seen,
                fired: p.fired.as_ref().map(FiredWire::from),
            }
        }
    }
}

/// Load-balancer level faults, `GET|PUT /_emulator/faults/load-balancers`.
#[derive(Debug, Serialize)]
struct LbFaultsWire {
    stuck_all: bool,
    stuck: Vec<String>,
    fail_next_creates: u32,
    fail_next_updates: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LbFaultsUpdate {
    #[serde(default)]
    stuck_all: Option<bool>,
    #[serde(default)]
    stick: Vec<String>,
    #[serde(default)]
    unstick: Vec<String>,
    #[serde(default)]
    fail_next_creates: Option<u32>,
    #[serde(default)]
    fail_next_updates: Option<u32>,
}

fn parse_kind(k: &str) -> Result<KindWire, ControlError> {
    serde_json::from_value::<KindWire>(json!(k)).map_err(|_| {
        bad_request(format!(
            "kind: {k:?} is not one of before_commit, commit_then_fail, crash_after_commit"
        ))
    })
}

fn check_status(field: &str, status: u16) -> Result<u16, ControlError> {
    if (400..=599).contains(&status) {
        Ok(status)
    } else {
        Err(bad_request(format!(
            "{field}: {status} is not an error status (400 to 599)"
        )))
    }
}

fn check_rate(field: &str, rate: f64) -> Result<f64, ControlError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(bad_request(format!(
            "{field}: {rate} is not a probability (0 to 1)"
        )))
    }
}

fn check_reply(reply: ReplyWire) -> Result<Reply, ControlError> {
    match reply {
        ReplyWire::Status(s) => Ok(Reply::Status(check_status("reply.status", s)?)),
        ReplyWire::Drop => Ok(Reply::Drop),
    }
}

fn fault_id(raw: &str) -> Result<FaultId, ControlError> {
    raw.parse::<u64>()
        .map(FaultId::from_raw)
        .map_err(|_| bad_request(format!("id: {raw:?} is not a fault id (a number)")))
}

fn not_found(id: FaultId) -> ControlError {
    error(
        StatusCode::NOT_FOUND,
        format!("no fault with id {}", id.get()),
    )
}

fn find(gate: &Gate, id: FaultId) -> Option<FaultWire> {
    let faults = &gate.faults;
    faults
        .rules()
        .iter()
        .find(|(i, _)| *i == id)
        .map(|(i, r)| rule_wire(*i, r))
        .or_else(|| faults.arms().iter().find(|a| a.id == id).map(arm_wire))
}

pub(super) async fn list_faults(AxState(sh): Sh) -> Response {
    gated(&sh, |g| {
        let mut faults: Vec<(FaultId, FaultWire)> = g
            .faults
            .rules()
            .iter()
            .map(|(id, r)| (*id, rule_wire(*id, r)))
            .chain(g.faults.arms().iter().map(|a| (a.id, arm_wire(a))))
            .collect();
        faults.sort_by_key(|(id, _)| *id);
        let faults: Vec<FaultWire> = faults.into_iter().map(|(_, f)| f).collect();
        json(StatusCode::OK, &json!({ "faults": faults }))
    })
}

pub(super) async fn add_fault(AxState(sh): Sh, body: Bytes) -> Answer {
    let sh = &*sh;
    let id = match parse::<NewFault>(&body)? {
        NewFault::Rule {
            method,
            service,
            path,
            error_rate,
            error_status,
            drop_rate,
            latency_ms,
            burst,
            burst_status,
        } => {
            let rule = FaultRule {
                method: parse_method(method)?,
                service: parse_service(service)?,
                path,
                error_rate: check_rate("error_rate", error_rate)?,
                error_status: check_status("error_status", error_status)?,
                drop_rate: check_rate("drop_rate", drop_rate)?,
                latency: Duration::from_millis(latency_ms),
                burst,
                burst_status: check_status("burst_status", burst_status)?,
            };
            gated(sh, |g| g.faults.add(rule))
        }
        NewFault::OneShot {
            method,
            service,
            path,
            mutating,
            nth,
            kind,
            reply,
        } => {
            let matcher = CallMatcher {
                method: parse_method(method)?,
                service: parse_service(service)?,
                path,
                mutating,
            };
            let kind = match (parse_kind(&kind)?, reply) {
                (KindWire::BeforeCommit, Some(r)) => FaultKind::BeforeCommit(check_reply(r)?),
                (KindWire::CommitThenFail, Some(r)) => FaultKind::CommitThenFail(check_reply(r)?),
                (KindWire::CrashAfterCommit, None) => FaultKind::CrashAfterCommit,
                (KindWire::CrashAfterCommit, Some(_)) => {
                    return Err(bad_request(
                        "reply: not allowed with kind crash_after_commit (it never answers)",
                    ));
                }
                (_, None) => {
                    return Err(bad_request(format!(
                        "reply: required with kind {kind}: {{\"status\": 503}} or \"drop\""
                    )));
                }
            };
            gated(sh, |g| g.faults.arm(matcher, Some((nth, kind))).0)
        }
        NewFault::Counter {
            method,
            service,
            path,
            mutating,
        } => {
            let matcher = CallMatcher {
                method: parse_method(method)?,
                service: parse_service(service)?,
                path,
                mutating,
            };
            gated(sh, |g| g.faults.arm(matcher, None).0)
        }
    };
    let entry = gated(sh, |g| find(g, id)).ok_or_else(|| not_found(id))?;
    Ok(json(StatusCode::CREATED, &entry))
}

pub(super) async fn clear_faults(AxState(sh): Sh) -> Response {
    gated(&sh, |g| g.faults.clear());
    settled(&sh, |st| {
        st.lb_faults.clear();
        st.recompute_due();
    });
    StatusCode::NO_CONTENT.into_response()
}

pub(super) async fn get_fault(AxState(sh): Sh, Path(raw): Path<String>) -> Answer {
    let id = fault_id(&raw)?;
    let entry = gated(&sh, |g| find(g, id)).ok_or_else(|| not_found(id))?;
    Ok(json(StatusCode::OK, &entry))
}

pub(super) async fn remove_fault(AxState(sh): Sh, Path(raw): Path<String>) -> Answer {
    let id = fault_id(&raw)?;
    if gated(&sh, |g| g.faults.remove(id)) {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(id))
    }
}

/// Waits until a one-shot fault has acted (`?timeout_ms=`, default 30 s): 200 with the
/// fault, 408 when it has not acted in time, 404 when unknown or removed meanwhile.
pub(super) async fn wait_fired(
    AxState(sh): Sh,
    Path(raw): Path<String>,
    RawQuery(q): RawQuery,
) -> Answer {
    let id = fault_id(&raw)?;
    let q = Query::parse(q.as_deref());
    let timeout = match q.first("timeout_ms") {
        None => DEFAULT_WAIT,
        Some(t) => t.parse::<u64>().map(Duration::from_millis).map_err(|_| {
            bad_request(format!("timeout_ms: {t:?} is not a number of milliseconds"))
        })?,
    };
    let found = gated(&sh, |g| {
        g.faults
            .arms()
            .iter()
            .find(|a| a.id == id)
            .map(|a| (a.fault.is_some(), a.progress.subscribe()))
    });
    let mut rx = match found {
        None => return Err(not_found(id)),
        Some((false, _)) => {
            return Err(bad_request(format!(
                "id: fault {} is a counter, it never fires",
                id.get()
            )));
        }
        Some((true, rx)) => rx,
    };
    let waited = tokio::time::timeout(timeout, rx.wait_for(|p| p.fired.is_some()))
        .await
        .map(|r| r.is_ok());
    match waited {
        Ok(true) => {
            let entry = gated(&sh, |g| find(g, id)).ok_or_else(|| not_found(id))?;
            Ok(json(StatusCode::OK, &entry))
        }
        Ok(false) => Err(error(
            StatusCode::NOT_FOUND,
            format!("fault {} was removed before it fired", id.get()),
        )),
        Err(_) => Err(error(
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "fault {} has not fired within {} ms",
                id.get(),
                timeout.as_millis()
            ),
        )),
    }
}

fn lb_faults(st: &State) -> LbFaultsWire {
    LbFaultsWire {
        stuck_all: st.lb_faults.stuck_all,
        stuck: st.lb_faults.stuck.iter().cloned().collect(),
        fail_next_creates: st.lb_faults.fail_creates,
        fail_next_updates: st.lb_faults.fail_updates,
    }
}

pub(super) async fn get_lb_faults(AxState(sh): Sh) -> Response {
    sh.read(|st| json(StatusCode::OK, &lb_faults(st)))
}

pub(super) async fn set_lb_faults(AxState(sh): Sh, body: Bytes) -> Answer {
    let u: LbFaultsUpdate = parse(&body)?;
    Ok(settled(&sh, |st| {
        let f = &mut st.lb_faults;
        if let Some(s) = u.stuck_all {
            f.stuck_all = s;
        }
        f.stuck.extend(u.stick);
        for id in &u.unstick {
            f.stuck.remove(id);
        }
        if let Some(n) = u.fail_next_creates {
            f.fail_creates = n;
        }
        if let Some(n) = u.fail_next_updates {
            f.fail_updates = n;
        }
        st.recompute_due();
        json(StatusCode::OK, &lb_faults(st))
    }))
}
