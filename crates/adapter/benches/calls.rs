//! OpenStack calls per operation against the emulator with realistic provisioning delays
//! (Octavia 19 with noop drivers: create ~1.5 s, update ~0.5 s), with the adapter's default
//! pacing. Prints the markdown table of `docs/benchmarks.md`:
//! `cargo bench -p kks-lb-adapter --bench calls`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use common::{Harness, accounting_scenarios};
use kks_lb_testkit::openstack::{EmulatorConfig, ProvisioningDelays};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let delays = ProvisioningDelays {
            create: Duration::from_millis(1500),
            update: Duration::from_millis(500),
            delete: Duration::from_millis(400),
        };
        let mut h = Harness::start_with(EmulatorConfig {
            delays,
            ..EmulatorConfig::default()
        })
        .await;
        h.executor = kks_lb_adapter::Executor::new(
            h.executor.client().clone(),
            kks_lb_adapter::ExecuteConfig::default(),
        );
        let started = std::time::Instant::now();
        let results = accounting_scenarios(&h).await;
        println!(
            "| scenario | total | writes | reads | status polls | version discovery | calls |"
        );
        println!("|---|---|---|---|---|---|---|");
        for (name, c) in &results {
            let calls: Vec<String> = c
                .by_endpoint
                .iter()
                .map(|((m, p), n)| format!("{n}× {m} {p}"))
                .collect();
            println!(
                "| {name} | {} | {} | {} | {} | {} | {} |",
                c.total(),
                c.writes(),
                c.reads(),
                c.polls(),
                c.discovery(),
                calls.join(", ")
            );
        }
        eprintln!("(wall time {:.1} s)", started.elapsed().as_secs_f64());
    });
}
