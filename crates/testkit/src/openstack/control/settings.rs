//! The emulated cloud's behaviour: provisioning delays (`/_emulator/delays`) and what the
//! health monitors report for member addresses (`/_emulator/member-health`).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::super::server::json;
use super::super::state::State;
use super::{Answer, Sh, bad_request, parse, settled};

/// Provisioning delays in milliseconds.
#[derive(Debug, Serialize)]
struct DelaysWire {
    create_ms: u128,
    update_ms: u128,
    delete_ms: u128,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DelaysUpdate {
    #[serde(default)]
    create_ms: Option<u64>,
    #[serde(default)]
    update_ms: Option<u64>,
    #[serde(default)]
    delete_ms: Option<u64>,
}

fn delays(st: &State) -> DelaysWire {
    let d = &st.cfg.delays;
    DelaysWire {
        create_ms: d.create.as_millis(),
        update_ms: d.update.as_millis(),
        delete_ms: d.delete.as_millis(),
    }
}

pub(super) async fn get_delays(AxState(sh): Sh) -> Response {
    sh.read(|st| json(StatusCode::OK, &delays(st)))
}

/// Changes the given delays (milliseconds) of later operations.
pub(super) async fn set_delays(AxState(sh): Sh, body: Bytes) -> Answer {
    let u: DelaysUpdate = parse(&body)?;
    Ok(settled(&sh, |st| {
        let d = &mut st.cfg.delays;
        if let Some(ms) = u.create_ms {
            d.create = Duration::from_millis(ms);
        }
        if let Some(ms) = u.update_ms {
            d.update = Duration::from_millis(ms);
        }
        if let Some(ms) = u.delete_ms {
            d.delete = Duration::from_millis(ms);
        }
        json(StatusCode::OK, &delays(st))
    }))
}

/// The health monitors' reports by member address (addresses not listed are `ONLINE`).
fn member_health(st: &State) -> serde_json::Value {
    let map: serde_json::Map<String, serde_json::Value> = st
        .member_health
        .iter()
        .map(|(a, s)| (a.clone(), json!(s.to_string())))
        .collect();
    json!({ "member_health": map })
}

pub(super) async fn get_member_health(AxState(sh): Sh) -> Response {
    settled(&sh, |st| json(StatusCode::OK, &member_health(st)))
}

/// Sets what the health monitors report for member addresses:
/// `{"10.0.0.13": "OFFLINE", "10.0.0.12": null}` (`null`: up again). Every value is checked
/// before anything changes.
pub(super) async fn set_member_health(AxState(sh): Sh, body: Bytes) -> Answer {
    let update: BTreeMap<String, Option<String>> = parse(&body)?;
    let mut checked = Vec::with_capacity(update.len());
    for (address, status) in update {
        let health = match status {
            Some(s) => Some(
                super::super::MemberHealth::parse(&s)
                    .map_err(|e| bad_request(format!("member-health[{address:?}]: {e}")))?,
            ),
            None => None,
        };
        checked.push((address, health));
    }
    Ok(settled(&sh, |st| {
        for (address, health) in checked {
            st.set_member_health(
                &address,
                health.map(super::super::MemberHealth::operating_status),
            );
        }
        json(StatusCode::OK, &member_health(st))
    }))
}
