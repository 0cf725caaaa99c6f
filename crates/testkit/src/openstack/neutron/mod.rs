//! Neutron v2.0 emulation under `/network`: networks and subnets (the fixture's, plus
//! IPv4 ones a caller creates and deletes), ports, floating IPs and their tags, and the
//! network IP availability API.
//!
//! `GET /v2.0/network-ip-availabilities[/{network_id}]` is admin (or service role) only by
//! Neutron's default policy: without the admin role (`EmulatorConfig::admin_role`; noauth
//! callers are admin) the list is empty and a single network answers 404 with the policy
//! hook's bare body `{"type": "HTTPNotFound", "message": "The resource could not be found.",
//! "detail": ""}` (neutron/pecan_wsgi/hooks/policy_enforcement.py). `used_ips` counts every
//! allocation in a subnet, `total_ips` its allocation pools.
//!
//! Error bodies are `{"NeutronError": {"type", "message", "detail"}}` with Neutron's exception
//! class names and messages (`neutron_lib/exceptions`). Lists accept attribute filters
//! (repeated keys are alternatives) and the tag filters; `limit`/`marker` are ignored.
//!
//! A floating IP `PUT` honours `If-Match: revision_number=N` (Neutron's `revision_if_match`):
//! on a stale revision it answers 412 `RevisionNumberConstraintFailed` and changes nothing.
//!
//! Floating IP tags follow Neutron 29: refused in the POST body (`Attribute 'tags' not allowed
//! in POST`) and in the PUT body, set with `PUT .../tags` or `PUT .../tags/{tag}`, kept as a
//! set and read back sorted.
//!
//! Map: this file holds the routes, the version documents and the shared helpers (filters,
//! body parsing, Neutron error bodies, visibility); [`network`] the networks, subnets and IP
//! availability; [`port`] the ports and address allocation; [`fip`] the floating IPs and
//! their tags.

mod fip;
mod network;
mod port;

use std::sync::Arc;

use axum::Router;
use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use self::fip::{
    add_tag, clear_tags, create_fip, delete_fip, get_fip, get_tags, has_tag, list_fips, remove_tag,
    replace_tags, update_fip,
};
use self::network::{
    create_network, create_subnet, delete_network, delete_subnet, get_availability, get_network,
    get_subnet, list_availabilities, list_networks, list_subnets,
};
use self::port::{create_port, delete_port, get_port, list_ports};
use super::error::{ApiError, ApiResult};
use super::query::Query;
use super::server::{Ctx, json, read_state};
use super::state::{FipRec, PortRec, Shared, State, SubnetRec, Urls};

type Resp = ApiResult<Response>;
type Sh = AxState<Arc<Shared>>;

/// The Neutron routes, relative to the server root.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    let v = "/network/v2.0";
    Router::new()
        .route("/network", get(versions))
        .route("/network/", get(versions))
        .route(v, get(resources))
        .route(&format!("{v}/"), get(resources))
        .route(
            &format!("{v}/networks"),
            get(list_networks).post(create_network),
        )
        .route(
            &format!("{v}/networks/{{id}}"),
            get(get_network).delete(delete_network),
        )
        .route(
            &format!("{v}/subnets"),
            get(list_subnets).post(create_subnet),
        )
        .route(
            &format!("{v}/subnets/{{id}}"),
            get(get_subnet).delete(delete_subnet),
        )
        .route(
            &format!("{v}/network-ip-availabilities"),
            get(list_availabilities),
        )
        .route(
            &format!("{v}/network-ip-availabilities/{{id}}"),
            get(get_availability),
        )
        .route(&format!("{v}/ports"), get(list_ports).post(create_port))
        .route(
            &format!("{v}/ports/{{id}}"),
            get(get_port).delete(delete_port),
        )
        .route(&format!("{v}/floatingips"), get(list_fips).post(create_fip))
        .route(
            &format!("{v}/floatingips/{{id}}"),
            get(get_fip).put(update_fip).delete(delete_fip),
        )
        .route(
            &format!("{v}/floatingips/{{id}}/tags"),
            get(get_tags).put(replace_tags).delete(clear_tags),
        )
        .route(
            &format!("{v}/floatingips/{{id}}/tags/{{tag}}"),
            get(has_tag).put(add_tag).delete(remove_tag),
        )
}

async fn versions(AxState(sh): Sh) -> Response {
    read_state(&sh, |_, urls: &Urls| {
        Ok(json(
            StatusCode::OK,
            &json!({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"href": format!("{}/v2.0/", urls.neutron), "rel": "self"}
            ]}]}),
        ))
    })
}
async fn resources(AxState(sh): Sh) -> Response {
    read_state(&sh, |_, urls: &Urls| {
        let res = ["network", "subnet", "port", "floatingip"]
            .iter()
            .map(|r| {
                json!({"name": r, "collection": format!("{r}s"), "links": [
                    {"href": format!("{}/v2.0/{r}s", urls.neutron), "rel": "self"}
                ]})
            })
            .collect::<Vec<_>>();
        Ok(json(StatusCode::OK, &json!({ "resources": res })))
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn to_value<T: serde::Serialize>(x: &T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

fn filtered<T: serde::Serialize>(
    items: impl Iterator<Item = T>,
    q: &Query,
    special: &dyn Fn(&str, &[&str]) -> Option<bool>,
) -> Vec<T> {
    items.filter(|x| q.matches(&to_value(x), special)).collect()
}

/// `?fixed_ips=ip_address=10.0.0.5` / `?fixed_ips=subnet_id=<id>`.
fn fixed_ips_filter(p: &PortRec) -> impl Fn(&str, &[&str]) -> Option<bool> + '_ {
    move |key, values| {
        (key == "fixed_ips").then(|| {
            values.iter().all(|v| match v.split_once('=') {
                Some(("ip_address", ip)) => p.fixed_ips.iter().any(|(_, a)| a.to_string() == ip),
                Some(("subnet_id", s)) => p.fixed_ips.iter().any(|(sub, _)| sub == s),
                _ => true,
            })
        })
    }
}

/// A `PUT .../tags` body, `{"tags": [...]}`, with Neutron's `InvalidInput` answers for a
/// missing list, a non-list and a repeated tag.
fn parse_tags_body(body: &[u8]) -> ApiResult<Vec<String>> {
    let invalid = |msg: String| {
        ApiError::neutron(
            400,
            "InvalidInput",
            format!("Invalid input for operation: {msg}"),
        )
    };
    let value: Value = parse(body)?;
    let Some(list) = value.get("tags") else {
        return Err(invalid("Invalid tags body.".to_owned()));
    };
    let Some(items) = list.as_array() else {
        return Err(invalid(format!("{} is not a list.", python_repr(list))));
    };
    let mut tags: Vec<String> = Vec::new();
    for item in items {
        let Some(t) = item.as_str() else {
            return Err(invalid(format!(
                "{} is not a valid string.",
                python_repr(item)
            )));
        };
        if tags.iter().any(|x| x == t) {
            return Err(invalid(format!("Duplicate items in the list: '{t}'.")));
        }
        tags.push(t.to_owned());
    }
    Ok(tags)
}

/// A JSON value as Neutron's validators quote it, `'%s'` of the Python value: `'x'`, `'5'`,
/// `'None'`, `'True'` (lists and objects in JSON form, close to Python's).
fn python_repr(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        other => other.to_string(),
    };
    format!("'{s}'")
}

/// Tags as Neutron stores them: a set, read back sorted.
fn tag_set(tags: Vec<String>) -> Vec<String> {
    let mut tags = tags;
    tags.sort();
    tags.dedup();
    tags
}

/// An attribute that is not `allow_post` in Neutron's resource map (`tags` on floating IPs:
/// the tag API sets them).
fn not_allowed_in_post(attr: &str) -> ApiError {
    ApiError::neutron(
        400,
        "HTTPBadRequest",
        format!("Attribute '{attr}' not allowed in POST"),
    )
}

/// Whether the JSON body's `root` object carries `attr` (even as `null`).
fn has_attribute(body: &[u8], root: &str, attr: &str) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .is_some_and(|v| v.get(root).and_then(|r| r.get(attr)).is_some())
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::neutron(
            400,
            "HTTPBadRequest",
            format!("Invalid input for operation: {e}."),
        )
    })
}

fn network_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "NetworkNotFound",
        format!("Network {id} could not be found."),
    )
}

fn port_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "PortNotFound",
        format!("Port {id} could not be found."),
    )
}

fn fip_not_found(id: &str) -> ApiError {
    ApiError::neutron(
        404,
        "FloatingIPNotFound",
        format!("Floating IP {id} could not be found"),
    )
}

fn tag_not_found(tag: &str) -> ApiError {
    ApiError::neutron(404, "TagNotFound", format!("Tag {tag} could not be found."))
}

impl State {
    fn subnet_visible(&self, ctx: &Ctx, s: &SubnetRec) -> bool {
        ctx.may_see(&s.project_id) || self.networks.get(&s.network_id).is_some_and(|n| n.external)
    }

    fn visible_port(&self, ctx: &Ctx, id: &str) -> ApiResult<&PortRec> {
        self.ports
            .get(id)
            .filter(|p| ctx.may_see(&p.project_id))
            .ok_or_else(|| port_not_found(id))
    }

    fn visible_fip(&self, ctx: &Ctx, id: &str) -> ApiResult<&FipRec> {
        self.fips
            .get(id)
            .filter(|f| ctx.may_see(&f.project_id))
            .ok_or_else(|| fip_not_found(id))
    }

    /// The project of a POST: the token's, or without Keystone the body's `project_id`
    /// (`tenant_id`), which Neutron noauth requires (real-octavia README quirk 9).
    fn post_project(&self, ctx: &Ctx, body_project: Option<String>) -> ApiResult<String> {
        if ctx.noauth {
            return body_project.ok_or_else(|| {
                ApiError::neutron(
                    400,
                    "HTTPBadRequest",
                    "Running without keystone AuthN requires that project_id is specified",
                )
            });
        }
        ctx.project_id
            .clone()
            .or(body_project)
            .ok_or_else(|| ApiError::neutron(400, "HTTPBadRequest", "project_id is required"))
    }
}
