//! A second controller built on the kks-lb engine: it gives load balancers to the Services
//! of its own `loadBalancerClass`, and leaves every other Service to the kks-lb controller.
//!
//! It shows what an embedding controller needs and nothing more:
//! - an [`Engine`] over an [`Executor`](kks_lb_adapter::Executor) (the OpenStack session is
//!   the embedder's), and an [`Applier`] that writes each [`Outcome`] to the Service;
//! - a finalizer of its own ([`FINALIZER`]): kks-lb releases any Service outside its class
//!   that carries kks-lb's finalizer, so two controllers never share one;
//! - a strict class filter: only Services whose `loadBalancerClass` is exactly this
//!   controller's ([`Config::class`]); class-less Services stay kks-lb's.
//!
//! Run [`run`] with a Kubernetes client, an engine and a stop token.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Node, Service};
use kks_lb_controller::apply::Applier;
use kks_lb_controller::engine::{Engine, Outcome, StatusUpdate};
use kks_lb_controller::events::Publisher;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio_util::sync::CancellationToken;

/// This controller's finalizer (not kks-lb's: see the crate docs).
pub const FINALIZER: &str = "example.com/embedded-lb-cleanup";

/// This controller's name in Events and as field manager.
pub const CONTROLLER_NAME: &str = "example.com/embedded-controller";

/// What the controller handles.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `loadBalancerClass` this controller serves.
    pub class: String,
    /// Retry of a failed pass.
    pub retry: Duration,
    /// This replica's name in Events.
    pub identity: String,
}

/// A failed reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine failed; the outcome's Events and condition already say why.
    #[error(transparent)]
    Engine(#[from] kks_lb_controller::engine::Error),
    /// Writing the outcome failed.
    #[error(transparent)]
    Apply(#[from] kks_lb_controller::apply::Error),
    /// The finalizer could not be added or removed.
    #[error("finalizer: {0}")]
    Finalizer(String),
}

struct Ctx {
    engine: Engine,
    applier: Applier,
    client: Client,
    nodes: Store<Node>,
    config: Config,
}

/// Whether `svc` is a LoadBalancer Service of exactly `class`.
pub fn is_mine(svc: &Service, class: &str) -> bool {
    svc.spec.as_ref().is_some_and(|s| {
        s.type_.as_deref() == Some("LoadBalancer")
            && s.load_balancer_class.as_deref() == Some(class)
    })
}

fn has_finalizer(svc: &Service) -> bool {
    svc.finalizers().iter().any(|f| f == FINALIZER)
}

/// Runs the controller until `stop` fires.
pub async fn run(client: Client, engine: Engine, config: Config, stop: CancellationToken) {
    let (store, writer) = reflector::store::<Node>();
    let node_changes = watcher(Api::<Node>::all(client.clone()), watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .filter_map(|n| async move { n.ok().map(|_| ()) });
    let events = Publisher::new(client.clone(), CONTROLLER_NAME, &config.identity);
    let ctx = Arc::new(Ctx {
        engine,
        applier: Applier::new(client.clone(), events, CONTROLLER_NAME),
        client: client.clone(),
        nodes: store,
        config,
    });
    Controller::new(Api::<Service>::all(client), watcher::Config::default())
        .reconcile_all_on(node_changes)
        .graceful_shutdown_on(async move { stop.cancelled().await })
        .run(reconcile, error_policy, ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

async fn reconcile(svc: Arc<Service>, ctx: Arc<Ctx>) -> Result<Action, Error> {
    let mine = is_mine(&svc, &ctx.config.class);
    if !mine && !has_finalizer(&svc) {
        return Ok(Action::await_change());
    }
    ctx.nodes.wait_until_ready().await.ok();
    let api: Api<Service> =
        Api::namespaced(ctx.client.clone(), &svc.namespace().unwrap_or_default());
    finalizer(&api, FINALIZER, svc, |event| async {
        match event {
            FinalizerEvent::Apply(s) if is_mine(&s, &ctx.config.class) => {
                let nodes: Vec<Node> = ctx.nodes.state().iter().map(|n| (**n).clone()).collect();
                let outcome = ctx.engine.ensure(&s, &nodes).await;
                write(&ctx, &s, outcome).await
            }
            // No longer a LoadBalancer Service of our class: its load balancer goes, then
            // what we wrote, then our finalizer.
            FinalizerEvent::Apply(s) => {
                let outcome = ctx.engine.release(&s).await;
                let released = outcome.status == StatusUpdate::Release;
                let action = write(&ctx, &s, outcome).await?;
                if released {
                    ctx.engine.forget(&reflector::ObjectRef::from_obj(&*s));
                    drop_finalizer(&api, &s).await?;
                }
                Ok(action)
            }
            FinalizerEvent::Cleanup(s) => {
                let outcome = ctx.engine.remove(&s).await;
                if outcome.forget {
                    ctx.engine.forget(&reflector::ObjectRef::from_obj(&*s));
                }
                write(&ctx, &s, outcome).await
            }
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    })
}

/// Writes an outcome and turns it into the controller's answer.
async fn write(ctx: &Ctx, svc: &Service, outcome: Outcome) -> Result<Action, Error> {
    ctx.applier.apply(svc, &outcome).await?;
    if let Some(err) = outcome.error {
        return Err(err.into());
    }
    Ok(outcome
        .requeue
        .map_or_else(Action::await_change, Action::requeue))
}

async fn drop_finalizer(api: &Api<Service>, svc: &Service) -> Result<(), Error> {
    let rest: Vec<String> = svc
        .finalizers()
        .iter()
        .filter(|f| *f != FINALIZER)
        .cloned()
        .collect();
    let patch = serde_json::json!({ "metadata": {
        "finalizers": rest,
        "resourceVersion": svc.resource_version(),
    }});
    api.patch(
        &svc.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map(|_| ())
    .map_err(|e| Error::Finalizer(e.to_string()))
}

fn error_policy(_svc: Arc<Service>, err: &Error, ctx: Arc<Ctx>) -> Action {
    tracing::warn!(error = %err, "reconcile failed");
    Action::requeue(ctx.config.retry)
}
