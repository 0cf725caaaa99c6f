//! Call accounting (`/_emulator/calls`) and the leak report (`/_emulator/leaks`).

use std::collections::BTreeSet;

use axum::extract::{RawQuery, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::super::accounting::Call;
use super::super::query::Query;
use super::super::server::json;
use super::{Answer, Sh, bad_request, gated, parse_service};

#[derive(Debug, Serialize)]
struct CountWire {
    #[serde(flatten)]
    call: Call,
    count: u64,
}

/// Call accounting, filtered by `service`, `method`, `path` (template) and `status`
/// (repeated keys are alternatives).
pub(super) async fn calls(AxState(sh): Sh, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    for s in q.all("service") {
        parse_service(Some(s.to_owned()))?;
    }
    for s in q.all("status") {
        if s.parse::<u16>().is_err() {
            return Err(bad_request(format!("status: {s:?} is not an HTTP status")));
        }
    }
    let keep = |c: &Call| {
        let any = |key: &str, value: &str| {
            let want = q.all(key);
            want.is_empty() || want.iter().any(|w| w.eq_ignore_ascii_case(value))
        };
        any("service", c.service.as_str())
            && any("method", &c.method)
            && any("path", &c.path)
            && any("status", &c.status.to_string())
    };
    let (counts, log) = gated(&sh, |g| (g.accounting.counts(), g.accounting.log()));
    let counts: Vec<CountWire> = counts
        .into_iter()
        .filter(|(c, _)| keep(c))
        .map(|(call, count)| CountWire { call, count })
        .collect();
    let log: Vec<Call> = log.into_iter().filter(|c| keep(c)).collect();
    Ok(json(
        StatusCode::OK,
        &json!({"total": log.len(), "counts": counts, "log": log}),
    ))
}

pub(super) async fn reset_calls(AxState(sh): Sh) -> Response {
    gated(&sh, |g| g.accounting.reset());
    StatusCode::NO_CONTENT.into_response()
}

/// The leak report: `cluster_tag` (required) and the live Service tags as `service_tag`
/// (repeated, or comma-separated).
pub(super) async fn leaks(AxState(sh): Sh, RawQuery(q): RawQuery) -> Answer {
    let q = Query::parse(q.as_deref());
    let Some(cluster_tag) = q.first("cluster_tag").filter(|t| !t.is_empty()) else {
        return Err(bad_request(
            "cluster_tag: required, the cluster tag of the resources to check \
             (e.g. kks-lb-cluster:c1)",
        ));
    };
    let live: BTreeSet<String> = q
        .all("service_tag")
        .into_iter()
        .flat_map(|v| v.split(','))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let report = sh.read(|st| st.leak_report(cluster_tag, &live));
    Ok(json(
        StatusCode::OK,
        &json!({
            "empty": report.is_empty(),
            "loadbalancers": report.loadbalancers,
            "floating_ips": report.floating_ips,
        }),
    ))
}
