//! A small kube-runtime `Controller` over Services, using the `finalizer` helper and
//! status patches, converges against the emulator through dropped watches and injected
//! 409 conflicts, and completes deletion by removing its finalizer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kks_lb_testkit::kube_api::{EmulatorConfig, Fault, KubeEmulator};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

const FINALIZER: &str = "kks-lb.test/load-balancer";

struct Ctx {
    client: Client,
    cleaned: Mutex<Vec<String>>,
}

type Error = kube::runtime::finalizer::Error<kube::Error>;

fn ingress_ip(svc: &Service) -> String {
    // A stable fake VIP per Service name.
    let n = svc.name_any().bytes().map(u32::from).sum::<u32>() % 250;
    format!("203.0.113.{}", n + 1)
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let is_lb = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("LoadBalancer");
    if !is_lb && svc.finalizers().is_empty() {
        return Ok(Action::await_change());
    }
    let ns = svc.namespace().unwrap_or_default();
    let api: Api<Service> = Api::namespaced(ctx.client.clone(), &ns);
    finalizer(&api, FINALIZER, svc, |event| async {
        match event {
            Finalizer::Apply(svc) => {
                let status =
                    json!({"status": {"loadBalancer": {"ingress": [{"ip": ingress_ip(&svc)}]}}});
                api.patch_status(
                    &svc.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&status),
                )
                .await?;
                Ok(Action::requeue(Duration::from_secs(300)))
            }
            Finalizer::Cleanup(svc) => {
                ctx.cleaned.lock().unwrap().push(svc.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await
}

fn error_policy(_svc: Arc<Service>, _err: &Error, _ctx: Arc<Ctx>) -> Action {
    Action::requeue(Duration::from_millis(50))
}

fn lb_service(name: &str) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some("LoadBalancer".into()),
            ports: Some(vec![ServicePort {
                port: 443,
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn has_ingress(svc: Option<&Service>) -> bool {
    svc.is_some_and(|s| {
        s.finalizers().iter().any(|f| f == FINALIZER)
            && s.status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .is_some_and(|i| i.first().and_then(|i| i.ip.clone()) == Some(ingress_ip(s)))
    })
}

#[tokio::test]
async fn controller_converges_through_dropped_watches_and_conflicts() {
    let emu = KubeEmulator::start_with(EmulatorConfig {
        bookmark_interval: Duration::from_millis(200),
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let client = Client::try_from(kube::Config::new(emu.url().parse().unwrap())).unwrap();
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        cleaned: Mutex::new(Vec::new()),
    });
    let controller = Controller::new(
        Api::<Service>::all(client.clone()),
        watcher::Config::default(),
    )
    .run(reconcile, error_policy, Arc::clone(&ctx))
    .for_each(|_| futures::future::ready(()));
    let task = tokio::spawn(controller);
    let wait = Duration::from_secs(20);

    emu.create_service(&lb_service("web-1")).unwrap();
    emu.wait_for::<Service>(Some("default"), "web-1", wait, has_ingress)
        .await
        .unwrap();

    // Watches break and the next two status writes conflict; the controller still gets there.
    emu.inject(Fault::error("PATCH", "/status", 409).times(2));
    emu.drop_watches();
    emu.create_service(&lb_service("web-2")).unwrap();
    emu.wait_for::<Service>(Some("default"), "web-2", wait, has_ingress)
        .await
        .unwrap();
    let injected = emu
        .audit_log()
        .into_iter()
        .filter(|e| e.injected && e.status == 409)
        .count();
    assert_eq!(injected, 2);

    // A user edit that wipes the status is repaired.
    emu.edit_service("default", "web-1", |svc| svc.status = None)
        .unwrap();
    emu.wait_for::<Service>(Some("default"), "web-1", wait, has_ingress)
        .await
        .unwrap();

    // Deletion runs cleanup and the finalizer is removed, so the object goes away.
    let api: Api<Service> = Api::namespaced(client, "default");
    api.delete("web-1", &DeleteParams::default()).await.unwrap();
    emu.wait_for::<Service>(Some("default"), "web-1", wait, |s| s.is_none())
        .await
        .unwrap();
    assert_eq!(*ctx.cleaned.lock().unwrap(), vec!["web-1".to_string()]);
    assert!(has_ingress(
        emu.get_service("default", "web-2").unwrap().as_ref()
    ));
    task.abort();
}
