//! The kks-lb controller and command line.
//!
//! Role in the pipeline: the top. The `kks-lb` binary previews what the controller does without
//! a cluster or a cloud: [`cli`] implements `kks-lb validate` (every annotation error of a Service
//! file at once), `kks-lb plan` (the exact Octavia changes a Service causes) and
//! `kks-lb docs annotations` (the generated annotation reference).

pub mod apply;
pub mod build_info;
pub mod capacity;
pub mod cli;
pub mod cloud_config;
pub mod config;
pub mod engine;
pub mod events;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod orphans;
pub mod reconcile;
pub mod run;
pub mod status;
pub mod webhook;
