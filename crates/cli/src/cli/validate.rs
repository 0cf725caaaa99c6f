//! `kks-lb validate`: every annotation error and warning of Service manifests, at once.
//!
//! Exit codes: [`exit::OK`] when every Service is valid (warnings allowed), [`exit::INVALID`]
//! when any is invalid, [`exit::INPUT`] when a file cannot be read, a document is not a
//! Service, or there is no Service at all (the message on stderr names file and document).
//!
//! JSON output (a public interface):
//! `{"services":[{"namespace":..,"name":..,"valid":bool,"errors":[{"key":..,"value":..,"rule":..}],
//! "warnings":[{"key":..,"reason":..,"message":..}],"spec":{..}|null}]}`.

use std::io::Write;

use k8s_openapi::api::core::v1::Service;
use kks_lb_annotations::{AnnotationError, Defaults, LbSpec, Warning, parse_report};
use serde::Serialize;

use super::{Output, exit, input};

/// Flags of `kks-lb validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Service manifest: YAML or JSON, several documents or a List, or a directory of them
    /// (its .yaml, .yml and .json files); repeat for more; `-` reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub filenames: Vec<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
}

/// The JSON document `kks-lb validate -o json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// One entry per Service, in input order.
    pub services: Vec<ServiceReport>,
}

/// The result for one Service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceReport {
    /// `metadata.namespace`, `default` when unset.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
    /// No errors.
    pub valid: bool,
    /// Every error.
    pub errors: Vec<AnnotationError>,
    /// Every warning.
    pub warnings: Vec<Warning>,
    /// The parsed Service; `null` when invalid.
    pub spec: Option<LbSpec>,
}

/// Validates one Service with the default cloud configuration.
pub fn check(svc: &Service) -> ServiceReport {
    let report = parse_report(svc, &Defaults::default());
    ServiceReport {
        namespace: svc
            .metadata
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_owned()),
        name: svc.metadata.name.clone().unwrap_or_default(),
        valid: report.errors.is_empty(),
        errors: report.errors,
        warnings: report.warnings,
        spec: report.spec,
    }
}

/// Runs `kks-lb validate`; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    let mut services = Vec::new();
    let mut unreadable = false;
    let files = match input::expand_paths(&args.filenames) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("kks-lb validate: {e}");
            return exit::INPUT;
        }
    };
    for file in &files {
        match input::read_services(file) {
            Ok(found) => services.extend(found),
            Err(e) => {
                eprintln!("kks-lb validate: {e}");
                unreadable = true;
            }
        }
    }
    if unreadable {
        return exit::INPUT;
    }
    if services.is_empty() {
        eprintln!(
            "kks-lb validate: no Service found in {}",
            args.filenames.join(", ")
        );
        return exit::INPUT;
    }
    let report = Report {
        services: services.iter().map(check).collect(),
    };
    let written = match args.output {
        Output::Json => write_json(&report, out),
        Output::Text => write_text(&report, out),
    };
    if let Err(e) = written {
        eprintln!("kks-lb validate: cannot write the output: {e}");
        return exit::INPUT;
    }
    if report.services.iter().all(|s| s.valid) {
        exit::OK
    } else {
        exit::INVALID
    }
}

fn write_json(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

fn write_text(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    for s in &report.services {
        match &s.spec {
            Some(spec) if s.valid => {
                writeln!(out, "{}/{}: valid ({})", s.namespace, s.name, summary(spec))?
            }
            _ => {
                let n = s.errors.len();
                let plural = if n == 1 { "" } else { "s" };
                writeln!(
                    out,
                    "{}/{}: invalid, {n} error{plural}",
                    s.namespace, s.name
                )?;
            }
        }
        for e in &s.errors {
            writeln!(out, "  error: {}={}: {}", e.key, e.value, e.rule)?;
        }
        for w in &s.warnings {
            writeln!(out, "  warning: {}: {} ({})", w.key, w.message, w.reason)?;
        }
    }
    let total = report.services.len();
    let invalid = report.services.iter().filter(|s| !s.valid).count();
    let noun = if total == 1 { "Service" } else { "Services" };
    writeln!(
        out,
        "{total} {noun}: {} valid, {invalid} invalid",
        total - invalid
    )
}

/// A one-line description of what the controller builds: `external; TCP/80, TCP/443; monitor`.
fn summary(spec: &LbSpec) -> String {
    let mut parts = vec![
        if spec.internal {
            "internal"
        } else {
            "external"
        }
        .to_owned(),
    ];
    let ports: Vec<String> = spec
        .ports
        .iter()
        .map(|p| match p.node_port {
            Some(np) => format!("{}/{}->{np}", p.protocol, p.port),
            None => format!("{}/{}", p.protocol, p.port),
        })
        .collect();
    parts.push(ports.join(", "));
    parts.push(spec.lb_method.to_string());
    if let Some(m) = spec.health_monitor {
        parts.push(format!("health monitor every {}s", m.delay));
    }
    if spec.x_forwarded_for {
        parts.push("X-Forwarded-For".to_owned());
    }
    if spec.proxy_protocol != kks_lb_annotations::ProxyProtocol::Off {
        parts.push(format!("PROXY {}", spec.proxy_protocol));
    }
    parts.join("; ")
}
