//! One request's inputs, and the query parameters and headers a handler reads from them.

use std::collections::HashMap;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use http::{HeaderMap, Method};
use serde_json::Value;

use crate::kube_api::error::ApiError;
use crate::kube_api::protobuf;
use crate::kube_api::selector::{FieldSelector, Filter, LabelSelector};
use crate::kube_api::table;

/// One request's inputs.
pub(super) struct Req<'a> {
    pub(super) method: &'a Method,
    pub(super) params: &'a HashMap<String, String>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: &'a Bytes,
    /// The dry run of an admission check: never persisted, always the full object.
    pub(super) trial: bool,
}

impl Req<'_> {
    pub(super) fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    pub(super) fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    pub(super) fn meta_only(&self) -> bool {
        !self.trial
            && self
                .headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("as=PartialObjectMetadata"))
    }

    /// `kubectl get` asks for a Table.
    pub(super) fn table(&self) -> bool {
        !self.trial
            && self
                .headers
                .get(ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(table::wanted)
    }

    pub(super) fn dry_run(&self) -> bool {
        self.trial || self.param("dryRun") == Some("All")
    }

    pub(super) fn manager(&self) -> String {
        if let Some(m) = self.param("fieldManager").filter(|m| !m.is_empty()) {
            return m.to_string();
        }
        self.headers
            .get(USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .and_then(|ua| ua.split('/').next())
            .filter(|m| !m.is_empty())
            .unwrap_or("unknown")
            .to_string()
    }

    pub(super) fn json_body(&self) -> Result<Value, ApiError> {
        if self.body.is_empty() {
            return Err(ApiError::bad_request("the request body is empty"));
        }
        let protobuf = self
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|c| c.starts_with(protobuf::CONTENT_TYPE));
        if protobuf {
            return protobuf::decode(self.body);
        }
        serde_json::from_slice(self.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't decode the request body as JSON: {e}"))
        })
    }

    pub(super) fn filter(&self, ns: Option<&str>) -> Result<Filter, ApiError> {
        Ok(Filter {
            namespace: ns.map(str::to_string),
            labels: LabelSelector::parse(self.param("labelSelector").unwrap_or_default())
                .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?,
            fields: FieldSelector::parse(self.param("fieldSelector").unwrap_or_default())
                .map_err(|e| ApiError::bad_request(format!("invalid field selector: {e}")))?,
        })
    }
}
