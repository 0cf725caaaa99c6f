//! Reads: `get`, `list` with selectors, `limit`/`continue` paging and resourceVersion
//! semantics, and the start of a watch (initial objects or history replay, `410 Expired`).

use std::sync::Arc;

use serde_json::Value;

use super::meta::{hex_decode, hex_encode};
use super::{ListOpts, ListPage, Store, WatchStart};
use crate::kube_api::error::ApiError;
use crate::kube_api::resources::ResourceInfo;

impl Store {
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
}
