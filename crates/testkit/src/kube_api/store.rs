//! The object store: generic JSON objects keyed by (storage, namespace, name), one global
//! resourceVersion, a bounded event history for watch resumption, and a broadcast channel
//! that fans events out to open watches.
//!
//! All methods are synchronous and run under the emulator's store mutex; the broadcast
//! send happens under the same lock, so a watch that snapshots and subscribes while
//! holding it misses nothing and sees nothing twice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::error::ApiError;
use super::managed::{self, Scope, Writer};
use super::merge;
use super::resources::{ResourceInfo, ResourceType, info_for};
use super::selector::Filter;
use super::strategy::{self, Allocator, NODE_PORT_MIN};

/// (storage bucket, namespace or "", name).
pub(crate) type Key = (&'static str, String, String);

/// Watch event types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventType {
    Added,
    Modified,
    Deleted,
}

/// One committed change, in stored form.
#[derive(Debug)]
pub(crate) struct Record {
    pub storage: &'static str,
    pub event: EventType,
    pub object: Arc<Value>,
    /// The object before a modification (for selector transitions).
    pub prev: Option<Arc<Value>>,
    pub rv: u64,
}

/// Who is writing, to what part of the object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteCtx<'a> {
    pub scope: Scope,
    pub manager: &'a str,
    pub dry_run: bool,
}

/// Patch flavours, by content type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/json-patch+json`
    Json,
    /// `application/apply-patch+yaml`
    Apply { force: bool },
}

/// Options of a list request.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListOpts {
    pub filter: Filter,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub resource_version: Option<String>,
    pub version_match: Option<String>,
}

/// One page of a list, in served form.
#[derive(Debug)]
pub(crate) struct ListPage {
    pub items: Vec<Value>,
    pub resource_version: u64,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

/// `DeleteOptions.preconditions` and `dryRun`.
#[derive(Clone, Debug, Default)]
pub(crate) struct DeleteOpts {
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

/// Result of a delete.
#[derive(Debug)]
pub(crate) enum DeleteOutcome {
    /// Finalizers remain: the object now carries a deletionTimestamp.
    Pending(Value),
    /// The object is gone.
    Deleted(Value),
}

/// What a new watch starts from.
#[derive(Debug)]
pub(crate) struct WatchStart {
    /// Objects to send as synthetic ADDED events (stored form).
    pub initial: Vec<Arc<Value>>,
    /// History to replay (resume from a resourceVersion).
    pub replay: Vec<Arc<Record>>,
    /// Live events after `resource_version`.
    pub rx: broadcast::Receiver<Arc<Record>>,
    /// The store's resourceVersion at subscription.
    pub resource_version: u64,
}

enum Managed {
    /// Track a non-apply write.
    Track,
    /// `managedFields` already computed (server-side apply).
    Done,
}

/// The emulator's objects.
#[derive(Debug)]
pub(crate) struct Store {
    objects: BTreeMap<Key, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Record>>,
    history_limit: usize,
    compacted: u64,
    tx: broadcast::Sender<Arc<Record>>,
    next_port: u16,
    next_ip: u32,
}

/// The current time as a `metav1.Time` string.
pub(crate) fn now_time() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    k8s_openapi::jiff::Timestamp::from_second(secs)
        .unwrap_or_default()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn meta(obj: &Value, field: &str) -> Option<String> {
    obj["metadata"][field].as_str().map(str::to_string)
}

fn meta_mut(obj: &mut Value) -> Option<&mut Map<String, Value>> {
    let map = obj.as_object_mut()?;
    map.entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
}

fn set_meta(obj: &mut Value, field: &str, value: Option<Value>) {
    if let Some(m) = meta_mut(obj) {
        match value {
            Some(v) => {
                m.insert(field.into(), v);
            }
            None => {
                m.remove(field);
            }
        }
    }
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Whether anything besides metadata and status differs.
fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            for k in ["metadata", "status", "apiVersion", "kind"] {
                m.remove(k);
            }
        }
        v
    };
    strip(old) != strip(new)
}

fn hex_encode(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

fn check_type_meta(info: &ResourceInfo, obj: &Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    match obj["kind"].as_str() {
        None | Some("") => {
            return Err(ApiError::bad_request(format!(
                "Object 'Kind' is missing in '{}'",
                truncate(&obj.to_string())
            )));
        }
        Some(kind) if kind != info.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                info.kind
            )));
        }
        _ => {}
    }
    match obj["apiVersion"].as_str() {
        Some(v) if v == info.api_version() => Ok(()),
        Some(v) => Err(ApiError::bad_request(format!(
            "the API version in the data ({v}) does not match the expected API version ({})",
            info.api_version()
        ))),
        None => Err(ApiError::bad_request(format!(
            "Object 'apiVersion' is missing in '{}'",
            truncate(&obj.to_string())
        ))),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}

fn random_suffix() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

impl Store {
    /// An empty store keeping at most `history_limit` events for watch resumption.
    pub fn new(history_limit: usize) -> Self {
        let (tx, _) = broadcast::channel(4096);
        Self {
            objects: BTreeMap::new(),
            rv: 0,
            history: VecDeque::new(),
            history_limit: history_limit.max(1),
            compacted: 0,
            tx,
            next_port: NODE_PORT_MIN,
            next_ip: 10,
        }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// A live subscription to every committed change.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Record>> {
        self.tx.subscribe()
    }

    /// Forget all history: watches from any older resourceVersion get 410 Expired.
    pub fn compact(&mut self) {
        self.history.clear();
        self.compacted = self.rv;
    }

    fn key(info: &ResourceInfo, ns: Option<&str>, name: &str) -> Key {
        let ns = if info.namespaced {
            ns.unwrap_or_default().to_string()
        } else {
            String::new()
        };
        (info.storage, ns, name.to_string())
    }

    fn emit(
        &mut self,
        event: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
        storage: &'static str,
    ) {
        let record = Arc::new(Record {
            storage,
            event,
            object,
            prev,
            rv: self.rv,
        });
        self.history.push_back(Arc::clone(&record));
        while self.history.len() > self.history_limit {
            if let Some(old) = self.history.pop_front() {
                self.compacted = old.rv;
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(record);
    }

    fn bump(&mut self, obj: &mut Value) {
        self.rv += 1;
        set_meta(obj, "resourceVersion", Some(self.rv.to_string().into()));
    }

    /// Every stored object of one storage bucket, in key order.
    fn bucket(&self, storage: &'static str) -> impl Iterator<Item = (&Key, &Arc<Value>)> {
        let start: Key = (storage, String::new(), String::new());
        self.objects
            .range(start..)
            .take_while(move |(key, _)| key.0 == storage)
    }

    /// Every object of one resource, served form, in key order.
    pub fn all(&self, info: &ResourceInfo) -> Vec<Value> {
        self.bucket(info.storage)
            .map(|(_, obj)| info.encode(obj))
            .collect()
    }

    /// A served-form object.
    pub fn get(
        &self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.objects
            .get(&Self::key(info, ns, name))
            .map(|o| info.encode(o))
            .ok_or_else(|| ApiError::not_found(info, name))
    }

    /// A page of objects.
    pub fn list(&self, info: &ResourceInfo, opts: &ListOpts) -> Result<ListPage, ApiError> {
        let mut page_rv = self.rv;
        let mut after: Option<(String, String)> = None;
        if let Some(token) = &opts.continue_token {
            let decoded = hex_decode(token)
                .ok_or_else(|| ApiError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"))?;
            let (rv, rest) = decoded
                .split_once(':')
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            let (ns, name) = rest
                .split_once('/')
                .ok_or_else(|| ApiError::bad_request("continue key is not valid"))?;
            let rv: u64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request("continue key is not valid"))?;
            if rv < self.compacted {
                return Err(ApiError::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                ));
            }
            page_rv = rv;
            after = Some((ns.to_string(), name.to_string()));
        } else if opts.version_match.as_deref() == Some("Exact")
            && let Some(rv) = &opts.resource_version
        {
            let rv: u64 = rv
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
            if rv < self.rv {
                return Err(ApiError::expired(format!(
                    "too old resource version: {rv} ({})",
                    self.rv
                )));
            }
        }
        let limit = opts.limit.filter(|l| *l > 0);
        let mut items = Vec::new();
        let mut last_key: Option<(String, String)> = None;
        let mut remaining = 0usize;
        for ((_, ns, name), obj) in self.bucket(info.storage) {
            if let Some((ans, aname)) = &after
                && (ns, name) <= (ans, aname)
            {
                continue;
            }
            let served = info.encode(obj);
            if !opts.filter.matches(&served) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                remaining += 1;
                continue;
            }
            last_key = Some((ns.clone(), name.clone()));
            items.push(served);
        }
        let continue_token = if remaining > 0 {
            last_key.map(|(ns, name)| hex_encode(&format!("{page_rv}:{ns}/{name}")))
        } else {
            None
        };
        Ok(ListPage {
            items,
            resource_version: page_rv,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    /// Allocations used by Services other than `except` (only scanned for Service writes).
    fn allocator(&self, info: &ResourceInfo, except: Option<&Key>) -> Allocator {
        let mut used_ports = BTreeSet::new();
        let mut used_ips = BTreeSet::new();
        let start: Key = ("services", String::new(), String::new());
        let services = self
            .objects
            .range(start..)
            .take_while(|(key, _)| info.ty == ResourceType::SERVICES && key.0 == "services");
        for (key, svc) in services {
            if Some(key) == except {
                continue;
            }
            let spec = &svc["spec"];
            for port in spec["ports"].as_array().into_iter().flatten() {
                if let Some(np) = port["nodePort"].as_i64() {
                    used_ports.insert(np);
                }
            }
            if let Some(h) = spec["healthCheckNodePort"].as_i64() {
                used_ports.insert(h);
            }
            if let Some(ip) = spec["clusterIP"].as_str()
                && ip != "None"
                && !ip.is_empty()
            {
                used_ips.insert(ip.to_string());
            }
        }
        Allocator {
            used_ports,
            used_ips,
            next_port: self.next_port,
            next_ip: self.next_ip,
        }
    }

    fn commit_allocator(&mut self, alloc: &Allocator) {
        self.next_port = alloc.next_port;
        self.next_ip = alloc.next_ip;
    }

    fn namespace_state(&self, ns: &str) -> Option<bool> {
        self.objects
            .get(&("namespaces", String::new(), ns.to_string()))
            .map(|n| n["metadata"]["deletionTimestamp"].is_null())
    }

    /// Creates an object (served form). With `Scope::Whole` the given status is kept.
    pub fn create(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        obj: Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<Value, ApiError> {
        check_type_meta(info, &obj)?;
        self.create_inner(info, ns, obj, ctx, Managed::Track)
    }

    fn create_inner(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        mut obj: Value,
        ctx: &WriteCtx<'_>,
        managed: Managed,
    ) -> Result<Value, ApiError> {
        if info.namespaced {
            let Some(ns) = ns else {
                return Err(ApiError::method_not_allowed("POST"));
            };
            if let Some(body_ns) = meta(&obj, "namespace")
                && !body_ns.is_empty()
                && body_ns != ns
            {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            match self.namespace_state(ns) {
                None => return Err(ApiError::namespace_not_found(ns)),
                Some(false) => {
                    return Err(ApiError::new(
                        403,
                        "Forbidden",
                        format!(
                            "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            info.group_resource()
                        ),
                    ));
                }
                Some(true) => {}
            }
            set_meta(&mut obj, "namespace", Some(ns.into()));
        } else {
            set_meta(&mut obj, "namespace", None);
        }
        let mut name = meta(&obj, "name").unwrap_or_default();
        if name.is_empty() {
            let Some(prefix) = meta(&obj, "generateName").filter(|g| !g.is_empty()) else {
                return Err(ApiError::invalid(
                    info,
                    "",
                    &["metadata.name: Required value: name or generateName is required".into()],
                ));
            };
            loop {
                name = format!("{prefix}{}", random_suffix());
                if !self.objects.contains_key(&Self::key(info, ns, &name)) {
                    break;
                }
            }
            set_meta(&mut obj, "name", Some(name.clone().into()));
        }
        if meta(&obj, "resourceVersion").is_some_and(|rv| !rv.is_empty()) {
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        let key = Self::key(info, ns, &name);
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(info, &name));
        }
        if let Some(m) = meta_mut(&mut obj) {
            m.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
            m.insert("creationTimestamp".into(), now_time().into());
            m.insert("generation".into(), 1.into());
            for k in [
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "selfLink",
            ] {
                m.remove(k);
            }
            if matches!(managed, Managed::Track) {
                m.remove("managedFields");
            }
        }
        // Ownership covers what the writer sent, not what the server allocated.
        let mut submitted = obj.clone();
        merge::normalize(&mut submitted);
        let mut alloc = self.allocator(info, None);
        let causes =
            strategy::prepare_create(info, &mut obj, ctx.scope == Scope::Whole, &mut alloc);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, &name, &causes));
        }
        merge::normalize(&mut obj);
        if matches!(managed, Managed::Track) {
            let api_version = info.api_version();
            let now = now_time();
            managed::track_update(
                None,
                &mut submitted,
                &Writer {
                    manager: ctx.manager,
                    scope: ctx.scope,
                    has_status: info.status,
                    api_version: &api_version,
                    now: &now,
                },
            );
            set_meta(
                &mut obj,
                "managedFields",
                submitted["metadata"].get("managedFields").cloned(),
            );
        }
        if ctx.dry_run {
            return Ok(obj);
        }
        self.commit_allocator(&alloc);
        self.bump(&mut obj);
        let stored = Arc::new(info.decode(obj));
        let served = info.encode(&stored);
        self.objects.insert(key, Arc::clone(&stored));
        self.emit(EventType::Added, stored, None, info.storage);
        Ok(served)
    }

    /// Replaces an object (PUT), honouring `metadata.resourceVersion` as a precondition.
    pub fn replace(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        body: Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<Value, ApiError> {
        check_type_meta(info, &body)?;
        self.write_existing(info, ns, name, ctx, |_| Ok((body, Managed::Track)))
    }

    /// Patches an object; returns the result and whether it was created (apply only).
    pub fn patch(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        kind: PatchKind,
        body: &Value,
        ctx: &WriteCtx<'_>,
    ) -> Result<(Value, bool), ApiError> {
        let api_version = info.api_version();
        let now = now_time();
        let writer = Writer {
            manager: ctx.manager,
            scope: ctx.scope,
            has_status: info.status,
            api_version: &api_version,
            now: &now,
        };
        if let PatchKind::Apply { force } = kind {
            check_type_meta(info, body)?;
            if let Some(body_name) = meta(body, "name")
                && body_name != name
            {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({body_name}) does not match the name on the URL ({name})"
                )));
            }
            if !self.objects.contains_key(&Self::key(info, ns, name)) {
                if ctx.scope == Scope::Status {
                    return Err(ApiError::not_found(info, name));
                }
                let skeleton = json!({
                    "apiVersion": api_version,
                    "kind": info.kind,
                    "metadata": { "name": name },
                });
                let obj = managed::apply(&skeleton, body, force, &writer)
                    .map_err(|c| conflict_error(info, name, &c))?;
                return self
                    .create_inner(info, ns, obj, ctx, Managed::Done)
                    .map(|v| (v, true));
            }
            let rv_pre = meta(body, "resourceVersion");
            return self
                .write_existing(info, ns, name, ctx, |old| {
                    if let Some(rv) = &rv_pre
                        && meta(old, "resourceVersion").as_ref() != Some(rv)
                    {
                        return Err(ApiError::modified(info, name));
                    }
                    managed::apply(old, body, force, &writer)
                        .map(|v| (v, Managed::Done))
                        .map_err(|c| conflict_error(info, name, &c))
                })
                .map(|v| (v, false));
        }
        self.write_existing(info, ns, name, ctx, |old| {
            let mut new = old.clone();
            match kind {
                PatchKind::Merge => {
                    if !body.is_object() {
                        return Err(ApiError::bad_request("merge patch must be a JSON object"));
                    }
                    merge::merge_patch(&mut new, body);
                }
                PatchKind::Strategic => merge::strategic_merge(&mut new, body)?,
                PatchKind::Json => merge::json_patch(&mut new, body)?,
                PatchKind::Apply { .. } => {}
            }
            Ok((new, Managed::Track))
        })
        .map(|v| (v, false))
    }

    fn write_existing(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        ctx: &WriteCtx<'_>,
        compute: impl FnOnce(&Value) -> Result<(Value, Managed), ApiError>,
    ) -> Result<Value, ApiError> {
        let key = Self::key(info, ns, name);
        let Some(old_stored) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(info, name));
        };
        let old = info.encode(&old_stored);
        let (candidate, managed) = compute(&old)?;
        if !candidate.is_object() {
            return Err(ApiError::bad_request(
                "the patched object must be a JSON object",
            ));
        }
        let old_rv = meta(&old, "resourceVersion");
        if let Some(rv) = meta(&candidate, "resourceVersion")
            && !rv.is_empty()
            && Some(&rv) != old_rv.as_ref()
        {
            return Err(ApiError::modified(info, name));
        }
        if let Some(n) = meta(&candidate, "name")
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        if info.namespaced
            && let Some(n) = meta(&candidate, "namespace")
            && Some(n.as_str()) != ns
        {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }

        let mut new = match ctx.scope {
            Scope::Main if info.status => {
                let mut n = candidate.clone();
                if let Some(map) = n.as_object_mut() {
                    match old.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
                n
            }
            Scope::Status => {
                let mut n = old.clone();
                if let Some(map) = n.as_object_mut() {
                    match candidate.get("status") {
                        Some(s) => map.insert("status".into(), s.clone()),
                        None => map.remove("status"),
                    };
                }
                n
            }
            Scope::Main | Scope::Whole => candidate.clone(),
        };
        for field in [
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "name",
            "namespace",
            "resourceVersion",
        ] {
            set_meta(&mut new, field, old["metadata"].get(field).cloned());
        }
        let managed_fields = match managed {
            Managed::Track => old["metadata"].get("managedFields").cloned(),
            Managed::Done => candidate["metadata"].get("managedFields").cloned(),
        };
        set_meta(&mut new, "managedFields", managed_fields);
        if let Some(map) = new.as_object_mut() {
            map.insert("apiVersion".into(), old["apiVersion"].clone());
            map.insert("kind".into(), old["kind"].clone());
        }

        let deleting = !old["metadata"]["deletionTimestamp"].is_null();
        if deleting {
            let before = finalizers(&old);
            let added: Vec<String> = finalizers(&new)
                .into_iter()
                .filter(|f| !before.contains(f))
                .collect();
            if !added.is_empty() {
                return Err(ApiError::invalid(
                    info,
                    name,
                    &[format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    )],
                ));
            }
        }

        let mut alloc = self.allocator(info, Some(&key));
        let causes = strategy::prepare_update(info, &old, &mut new, &mut alloc);
        if !causes.is_empty() {
            return Err(ApiError::invalid(info, name, &causes));
        }
        merge::normalize(&mut new);
        if matches!(managed, Managed::Track) {
            let api_version = info.api_version();
            let now = now_time();
            managed::track_update(
                Some(&old),
                &mut new,
                &Writer {
                    manager: ctx.manager,
                    scope: ctx.scope,
                    has_status: info.status,
                    api_version: &api_version,
                    now: &now,
                },
            );
        }
        if spec_changed(&old, &new) {
            let generation = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            set_meta(&mut new, "generation", Some(generation.into()));
        }
        if new == old || ctx.dry_run {
            return Ok(new);
        }
        self.commit_allocator(&alloc);
        self.bump(&mut new);
        let stored = Arc::new(info.decode(new));
        let served = info.encode(&stored);
        if deleting && finalizers(&stored).is_empty() {
            self.objects.remove(&key);
            self.emit(EventType::Deleted, stored, Some(old_stored), info.storage);
        } else {
            self.objects.insert(key, Arc::clone(&stored));
            self.emit(EventType::Modified, stored, Some(old_stored), info.storage);
        }
        Ok(served)
    }

    /// Deletes an object: marks it for deletion while finalizers remain, else removes it.
    pub fn delete(
        &mut self,
        info: &ResourceInfo,
        ns: Option<&str>,
        name: &str,
        opts: &DeleteOpts,
    ) -> Result<DeleteOutcome, ApiError> {
        let key = Self::key(info, ns, name);
        let Some(old_stored) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(info, name));
        };
        let old = info.encode(&old_stored);
        if let Some(uid) = &opts.uid
            && meta(&old, "uid").as_ref() != Some(uid)
        {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta(&old, "uid").unwrap_or_default()
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && meta(&old, "resourceVersion").as_ref() != Some(rv)
        {
            return Err(ApiError::conflict(
                info,
                name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta(&old, "resourceVersion").unwrap_or_default()
                ),
            ));
        }
        if !finalizers(&old).is_empty() {
            if !old["metadata"]["deletionTimestamp"].is_null() || opts.dry_run {
                return Ok(DeleteOutcome::Pending(old));
            }
            let mut new = old.clone();
            set_meta(&mut new, "deletionTimestamp", Some(now_time().into()));
            set_meta(&mut new, "deletionGracePeriodSeconds", Some(0.into()));
            self.bump(&mut new);
            let stored = Arc::new(info.decode(new));
            let served = info.encode(&stored);
            self.objects.insert(key, Arc::clone(&stored));
            self.emit(EventType::Modified, stored, Some(old_stored), info.storage);
            return Ok(DeleteOutcome::Pending(served));
        }
        if opts.dry_run {
            return Ok(DeleteOutcome::Deleted(old));
        }
        let mut gone = old;
        self.bump(&mut gone);
        let stored = Arc::new(info.decode(gone));
        let served = info.encode(&stored);
        self.objects.remove(&key);
        self.emit(EventType::Deleted, stored, None, info.storage);
        if info.ty == ResourceType::NAMESPACES {
            self.delete_namespace_contents(name);
        }
        Ok(DeleteOutcome::Deleted(served))
    }

    fn delete_namespace_contents(&mut self, ns: &str) {
        let keys: Vec<Key> = self
            .objects
            .keys()
            .filter(|(_, kns, _)| kns == ns)
            .cloned()
            .collect();
        for (storage, kns, name) in keys {
            let Some(info) = super::resources::RESOURCES
                .iter()
                .find(|r| r.storage == storage)
            else {
                continue;
            };
            // Objects with finalizers stay, marked for deletion, like a stuck namespace.
            let _ = self.delete(info, Some(&kns), &name, &DeleteOpts::default());
        }
    }

    /// Deletes every selected object; returns the ones deleted or marked.
    pub fn delete_collection(
        &mut self,
        info: &ResourceInfo,
        filter: &Filter,
        dry_run: bool,
    ) -> Vec<Value> {
        let targets: Vec<(Option<String>, String)> = self
            .objects
            .iter()
            .filter(|((s, _, _), obj)| *s == info.storage && filter.matches(&info.encode(obj)))
            .map(|((_, ns, name), _)| ((!ns.is_empty()).then(|| ns.clone()), name.clone()))
            .collect();
        let opts = DeleteOpts {
            dry_run,
            ..DeleteOpts::default()
        };
        targets
            .into_iter()
            .filter_map(|(ns, name)| self.delete(info, ns.as_deref(), &name, &opts).ok())
            .map(|outcome| match outcome {
                DeleteOutcome::Pending(v) | DeleteOutcome::Deleted(v) => v,
            })
            .collect()
    }

    /// Starts a watch: what to send first and a live subscription.
    pub fn watch(
        &self,
        info: &ResourceInfo,
        resource_version: Option<&str>,
        send_initial_events: bool,
    ) -> Result<WatchStart, ApiError> {
        let from =
            match resource_version {
                None | Some("" | "0") => None,
                Some(rv) => Some(rv.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!("invalid resource version: {rv}"))
                })?),
            };
        let (initial, replay) = match from {
            Some(rv) if !send_initial_events => {
                if rv < self.compacted {
                    return Err(ApiError::expired(format!(
                        "too old resource version: {rv} ({})",
                        self.compacted + 1
                    )));
                }
                let replay = self
                    .history
                    .iter()
                    .filter(|r| r.rv > rv && r.storage == info.storage)
                    .cloned()
                    .collect();
                (Vec::new(), replay)
            }
            _ => {
                let initial = self
                    .bucket(info.storage)
                    .map(|(_, o)| Arc::clone(o))
                    .collect();
                (initial, Vec::new())
            }
        };
        Ok(WatchStart {
            initial,
            replay,
            rx: self.tx.subscribe(),
            resource_version: self.rv,
        })
    }

    /// Seeds the namespaces and the `kubernetes` Service of a fresh cluster.
    pub fn bootstrap(
        &mut self,
        kube_system_uid: &str,
        kubernetes_service: bool,
    ) -> Result<(), ApiError> {
        let ctx = WriteCtx {
            scope: Scope::Whole,
            manager: "kube-apiserver",
            dry_run: false,
        };
        let namespaces = info_for(ResourceType::NAMESPACES)
            .ok_or_else(|| ApiError::internal("namespaces not served"))?;
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": { "name": ns },
                "spec": { "finalizers": ["kubernetes"] },
                "status": { "phase": "Active" },
            });
            self.create(namespaces, None, obj, &ctx)?;
        }
        // kube-system's UID is a well-known cluster identity; make it the configured one.
        let key: Key = ("namespaces", String::new(), "kube-system".into());
        if let Some(obj) = self.objects.get(&key) {
            let mut obj = (**obj).clone();
            set_meta(&mut obj, "uid", Some(kube_system_uid.into()));
            self.objects.insert(key, Arc::new(obj));
        }
        if kubernetes_service {
            let services = info_for(ResourceType::SERVICES)
                .ok_or_else(|| ApiError::internal("services not served"))?;
            let svc = json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {
                    "name": "kubernetes",
                    "labels": { "component": "apiserver", "provider": "kubernetes" },
                },
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.1",
                    "ports": [{ "name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443 }],
                },
            });
            self.create(services, Some("default"), svc, &ctx)?;
        }
        self.compact();
        Ok(())
    }
}

fn conflict_error(info: &ResourceInfo, name: &str, conflicts: &[managed::Conflict]) -> ApiError {
    let list: Vec<String> = conflicts
        .iter()
        .map(|c| format!("conflict with \"{}\": {}", c.manager, c.path))
        .collect();
    let mut err = ApiError::conflict(info, name, "");
    err.message = format!(
        "Apply failed with {} conflict{}: {}",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        list.join(", ")
    );
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> Store {
        let mut s = Store::new(100);
        s.bootstrap("ks-uid", false).unwrap();
        s
    }

    fn services() -> &'static ResourceInfo {
        info_for(ResourceType::SERVICES).unwrap()
    }

    const CTX: WriteCtx<'static> = WriteCtx {
        scope: Scope::Main,
        manager: "test",
        dry_run: false,
    };

    fn svc(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": {"ports": [{"port": 80}]}})
    }

    #[test]
    fn kube_system_has_the_configured_uid() {
        let s = store();
        let ns = s
            .get(
                info_for(ResourceType::NAMESPACES).unwrap(),
                None,
                "kube-system",
            )
            .unwrap();
        assert_eq!(ns["metadata"]["uid"], "ks-uid");
    }

    #[test]
    fn no_op_update_keeps_resource_version() {
        let mut s = store();
        let created = s
            .create(services(), Some("default"), svc("a"), &CTX)
            .unwrap();
        let rv = s.resource_version();
        let (patched, _) = s
            .patch(
                services(),
                Some("default"),
                "a",
                PatchKind::Merge,
                &json!({"spec": {"type": "ClusterIP"}}),
                &CTX,
            )
            .unwrap();
        assert_eq!(s.resource_version(), rv);
        assert_eq!(
            patched["metadata"]["resourceVersion"],
            created["metadata"]["resourceVersion"]
        );
    }

    #[test]
    fn generation_moves_on_spec_changes_only() {
        let mut s = store();
        s.create(services(), Some("default"), svc("a"), &CTX)
            .unwrap();
        let (v, _) = s
            .patch(
                services(),
                Some("default"),
                "a",
                PatchKind::Merge,
                &json!({"metadata": {"labels": {"x": "y"}}}),
                &CTX,
            )
            .unwrap();
        assert_eq!(v["metadata"]["generation"], 1);
        let (v, _) = s
            .patch(
                services(),
                Some("default"),
                "a",
                PatchKind::Merge,
                &json!({"spec": {"type": "NodePort"}}),
                &CTX,
            )
            .unwrap();
        assert_eq!(v["metadata"]["generation"], 2);
    }

    #[test]
    fn paging_returns_every_object_once() {
        let mut s = store();
        for i in 0..5 {
            s.create(services(), Some("default"), svc(&format!("s{i}")), &CTX)
                .unwrap();
        }
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let page = s
                .list(
                    services(),
                    &ListOpts {
                        limit: Some(2),
                        continue_token: token.clone(),
                        ..ListOpts::default()
                    },
                )
                .unwrap();
            names.extend(
                page.items
                    .iter()
                    .map(|i| i["metadata"]["name"].as_str().unwrap().to_string()),
            );
            token = page.continue_token;
            if token.is_none() {
                break;
            }
        }
        assert_eq!(names, vec!["s0", "s1", "s2", "s3", "s4"]);
    }

    #[test]
    fn watch_from_compacted_version_is_expired() {
        let mut s = Store::new(2);
        s.bootstrap("u", false).unwrap();
        let start = s.resource_version();
        for i in 0..3 {
            s.create(services(), Some("default"), svc(&format!("s{i}")), &CTX)
                .unwrap();
        }
        let err = s
            .watch(services(), Some(&start.to_string()), false)
            .unwrap_err();
        assert_eq!(err.code, 410);
        let ok = s
            .watch(services(), Some(&(start + 1).to_string()), false)
            .unwrap();
        assert_eq!(ok.replay.len(), 2);
    }

    #[test]
    fn deleting_a_namespace_deletes_its_contents_but_respects_finalizers() {
        let mut s = store();
        let namespaces = info_for(ResourceType::NAMESPACES).unwrap();
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}});
        s.create(namespaces, None, ns, &CTX).unwrap();
        s.create(services(), Some("team"), svc("plain"), &CTX)
            .unwrap();
        let mut held = svc("held");
        held["metadata"]["finalizers"] = json!(["x.io/f"]);
        s.create(services(), Some("team"), held, &CTX).unwrap();
        s.delete(namespaces, None, "team", &DeleteOpts::default())
            .unwrap();
        assert_eq!(
            s.get(services(), Some("team"), "plain").unwrap_err().code,
            404
        );
        let held = s.get(services(), Some("team"), "held").unwrap();
        assert!(held["metadata"]["deletionTimestamp"].is_string());
        assert_eq!(
            s.create(services(), Some("team"), svc("new"), &CTX)
                .unwrap_err()
                .code,
            404
        );
    }

    #[test]
    fn creating_in_a_missing_namespace_is_not_found() {
        let mut s = store();
        let err = s
            .create(services(), Some("nope"), svc("a"), &CTX)
            .unwrap_err();
        assert_eq!(err.code, 404);
        assert_eq!(err.message, "namespaces \"nope\" not found");
    }
}
