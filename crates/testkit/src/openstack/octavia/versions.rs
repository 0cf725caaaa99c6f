//! The version document (`/load-balancer/`), the provider list and the project quotas.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use kks_lb_octavia_model::api::octavia::{
    Link, Provider, ProviderList, Quota, QuotaRoot, Version, VersionList,
};

use super::Sh;
use crate::openstack::server::{json, read_state};
use crate::openstack::state::{State, Urls};

pub(super) async fn versions(AxState(sh): Sh) -> Response {
    read_state(&sh, |st, urls| {
        Ok(json(StatusCode::OK, &st.version_list(urls)))
    })
}

pub(super) async fn providers(AxState(sh): Sh) -> Response {
    read_state(&sh, |st, _| {
        let providers = st
            .cfg
            .providers
            .iter()
            .map(|p| Provider {
                name: p.name.clone(),
                description: p.description.clone(),
            })
            .collect();
        Ok(json(StatusCode::OK, &ProviderList { providers }))
    })
}
pub(super) async fn quota(AxState(sh): Sh, Path(project): Path<String>) -> Response {
    read_state(&sh, |st, _| {
        let q = st.quota(&project);
        let quota = Quota {
            load_balancer: Some(q.load_balancer),
            loadbalancer: Some(q.load_balancer),
            listener: Some(q.listener),
            member: Some(q.member),
            pool: Some(q.pool),
            health_monitor: Some(q.health_monitor),
            healthmonitor: Some(q.health_monitor),
            l7policy: Some(-1),
            l7rule: Some(-1),
        };
        Ok(json(StatusCode::OK, &QuotaRoot { quota }))
    })
}

impl State {
    pub(crate) fn version_list(&self, urls: &Urls) -> VersionList {
        // The real document lists every minor version from 2.0, the newest CURRENT
        // (samples/octavia/versions.json); release dates are not modelled.
        let max = self.version();
        let versions = (0..=max.minor)
            .map(|minor| Version {
                id: format!("v{}.{minor}", max.major),
                status: if minor == max.minor {
                    "CURRENT"
                } else {
                    "SUPPORTED"
                }
                .to_owned(),
                updated: Some("2016-12-11T00:00:00Z".to_owned()),
                links: vec![Link {
                    href: format!("{}/v2", urls.octavia),
                    rel: "self".to_owned(),
                }],
            })
            .collect();
        VersionList { versions }
    }
}
