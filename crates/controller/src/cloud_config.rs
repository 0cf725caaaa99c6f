//! OCCM's `cloud.conf` (INI) format: `[Global]` credentials and `[LoadBalancer]` settings.
//!
//! Parsing is pure: [`parse`] takes the file's text and name and returns a [`CloudConfig`] with
//! warnings for unknown keys, or an error naming the file, section, key and value.

use std::fmt;

use kks_lb_annotations::values::Flag;
use kks_lb_annotations::{Defaults, LbMethod, MonitorSpec, NodeSelector};
use kks_lb_planner::ClusterConfig;

use crate::config::DurationArg;

/// A malformed `cloud.conf`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudConfigError {
    /// A line that is neither a section, a `key = value` pair, a comment nor blank.
    #[error("{file}:{line}: cannot parse {text:?}: expected [Section] or key = value")]
    Syntax {
        /// File name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// A value that does not fit its key.
    #[error("{file}: [{section}] {key} = {value:?}: {rule}")]
    Value {
        /// File name.
        file: String,
        /// Section.
        section: String,
        /// Key.
        key: String,
        /// Value.
        value: String,
        /// The rule it broke.
        rule: String,
    },
}

/// `[Global]`: how to reach and authenticate to OpenStack.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct GlobalConfig {
    /// `auth-url`.
    pub auth_url: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `user-domain-name`.
    pub user_domain_name: Option<String>,
    /// `user-domain-id`.
    pub user_domain_id: Option<String>,
    /// `tenant-id` / `project-id`.
    pub project_id: Option<String>,
    /// `tenant-name` / `project-name`.
    pub project_name: Option<String>,
    /// `tenant-domain-name` / `project-domain-name`.
    pub project_domain_name: Option<String>,
    /// `tenant-domain-id` / `project-domain-id`.
    pub project_domain_id: Option<String>,
    /// `region`.
    pub region: Option<String>,
    /// `application-credential-id`.
    pub application_credential_id: Option<String>,
    /// `application-credential-name`.
    pub application_credential_name: Option<String>,
    /// `application-credential-secret`.
    pub application_credential_secret: Option<String>,
    /// `ca-file`.
    pub ca_file: Option<String>,
    /// `tls-insecure`.
    pub tls_insecure: bool,
}

impl fmt::Debug for GlobalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |s: &Option<String>| s.as_ref().map(|_| "<redacted>");
        f.debug_struct("GlobalConfig")
            .field("auth_url", &self.auth_url)
            .field("username", &self.username)
            .field("password", &redact(&self.password))
            .field("user_domain_name", &self.user_domain_name)
            .field("project_id", &self.project_id)
            .field("project_name", &self.project_name)
            .field("region", &self.region)
            .field("application_credential_id", &self.application_credential_id)
            .field(
                "application_credential_secret",
                &redact(&self.application_credential_secret),
            )
            .field("ca_file", &self.ca_file)
            .field("tls_insecure", &self.tls_insecure)
            .finish_non_exhaustive()
    }
}

/// `[LoadBalancer]`: where and how load balancers are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerConfig {
    /// `floating-network-id`.
    pub floating_network_id: Option<String>,
    /// `subnet-id`.
    pub subnet_id: Option<String>,
    /// `network-id`.
    pub network_id: Option<String>,
    /// `member-subnet-id`.
    pub member_subnet_id: Option<String>,
    /// `lb-provider` (default `amphora`).
    pub lb_provider: String,
    /// `cascade-delete` (default true).
    pub cascade_delete: bool,
    /// `enabled` (default true).
    pub enabled: bool,
    /// Defaults for Services that say nothing (`lb-method`, `create-monitor`, `monitor-*`,
    /// `internal-lb`, `node-selector`, `flavor-id`, `availability-zone`).
    pub defaults: Defaults,
}

impl Default for LoadBalancerConfig {
    fn default() -> Self {
        LoadBalancerConfig {
            floating_network_id: None,
            subnet_id: None,
            network_id: None,
            member_subnet_id: None,
            lb_provider: "amphora".to_owned(),
            cascade_delete: true,
            enabled: true,
            defaults: Defaults::default(),
        }
    }
}

/// A parsed `cloud.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// `[Global]`.
    pub global: GlobalConfig,
    /// `[LoadBalancer]`.
    pub load_balancer: LoadBalancerConfig,
    /// Unknown keys and sections, as `file: [section] key` messages.
    pub warnings: Vec<String>,
}

impl CloudConfig {
    /// The planner's view of this configuration for a cluster.
    pub fn cluster_config(&self, cluster_name: &str, cluster_id: &str) -> ClusterConfig {
        let lb = &self.load_balancer;
        ClusterConfig {
            cluster_name: cluster_name.to_owned(),
            cluster_id: cluster_id.to_owned(),
            subnet_id: lb.subnet_id.clone(),
            network_id: lb.network_id.clone(),
            member_subnet_id: lb.member_subnet_id.clone(),
            floating_network_id: lb.floating_network_id.clone(),
            provider: lb.lb_provider.clone(),
        }
    }
}

/// Sections OCCM reads that kks-lb does not need; their keys are accepted silently.
const OTHER_OCCM_SECTIONS: &[&str] = &["Networking", "BlockStorage", "Metadata", "Route"];

/// Parses `cloud.conf` text. `file` names the file in errors and warnings.
///
/// The syntax is OCCM's (gcfg, the git-config format): section and key names are
/// case-insensitive, `;` and `#` start a comment anywhere outside double quotes, a value may be
/// quoted in parts with `\"`, `\\`, `\n` and `\t` escapes, and a key alone means `true`.
pub fn parse(text: &str, file: &str) -> Result<CloudConfig, CloudConfigError> {
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        let syntax = || CloudConfigError::Syntax {
            file: file.to_owned(),
            line: n + 1,
            text: raw.to_owned(),
        };
        if let Some(rest) = line.strip_prefix('[') {
            let (name, after) = rest.split_once(']').ok_or_else(syntax)?;
            let after = after.trim_start();
            if !(after.is_empty() || after.starts_with(';') || after.starts_with('#')) {
                return Err(syntax());
            }
            sections.push((canonical_section(name.trim()), Vec::new()));
            continue;
        }
        let section = sections.last_mut().ok_or_else(syntax)?;
        let (k, v) = match line.split_once('=') {
            Some((k, v)) => (k, gcfg_value(v).ok_or_else(syntax)?),
            // gcfg: a key without a value is a boolean true.
            None => (line, "true".to_owned()),
        };
        let k = k.trim();
        if k.is_empty() || k.contains(char::is_whitespace) {
            return Err(syntax());
        }
        section.1.push((k.to_ascii_lowercase(), v));
    }

    let mut cfg = CloudConfig::default();
    for (section, entries) in sections {
        let err = |key: &str, value: &str, rule: &str| CloudConfigError::Value {
            file: file.to_owned(),
            section: section.clone(),
            key: key.to_owned(),
            value: value.to_owned(),
            rule: rule.to_owned(),
        };
        match section.as_str() {
            "Global" => {
                for (k, v) in entries {
                    let g = &mut cfg.global;
                    let slot = match k.as_str() {
                        "auth-url" => &mut g.auth_url,
                        "username" | "user-name" => &mut g.username,
                        "password" => &mut g.password,
                        "user-domain-name" => &mut g.user_domain_name,
                        "user-domain-id" => &mut g.user_domain_id,
                        "tenant-id" | "project-id" => &mut g.project_id,
                        "tenant-name" | "project-name" => &mut g.project_name,
                        "tenant-domain-name" | "project-domain-name" | "domain-name" => {
                            &mut g.project_domain_name
                        }
                        "tenant-domain-id" | "project-domain-id" | "domain-id" => {
                            &mut g.project_domain_id
                        }
                        "region" => &mut g.region,
                        "application-credential-id" => &mut g.application_credential_id,
                        "application-credential-name" => &mut g.application_credential_name,
                        "application-credential-secret" => &mut g.application_credential_secret,
                        "ca-file" => &mut g.ca_file,
                        "tls-insecure" => {
                            g.tls_insecure = parse_bool(&v)
                                .ok_or_else(|| err(&k, &v, "must be true or false"))?;
                            continue;
                        }
                        _ => {
                            cfg.warnings
                                .push(format!("{file}: [Global] {k}: unknown key, ignored"));
                            continue;
                        }
                    };
                    *slot = Some(v);
                }
            }
            "LoadBalancer" => {
                let lb = &mut cfg.load_balancer;
                for (k, v) in entries {
                    let d = &mut lb.defaults;
                    match k.as_str() {
                        "floating-network-id" => lb.floating_network_id = Some(v),
                        "subnet-id" => lb.subnet_id = Some(v),
                        "network-id" => lb.network_id = Some(v),
                        "member-subnet-id" => lb.member_subnet_id = Some(v),
                        "lb-provider" => lb.lb_provider = v,
                        "cascade-delete" => {
                            lb.cascade_delete = parse_bool(&v)
                                .ok_or_else(|| err(&k, &v, "must be true or false"))?;
                        }
                        "enabled" => {
                            lb.enabled = parse_bool(&v)
                                .ok_or_else(|| err(&k, &v, "must be true or false"))?;
                        }
                        "internal-lb" => {
                            d.internal_lb = parse_bool(&v)
                                .ok_or_else(|| err(&k, &v, "must be true or false"))?;
                        }
                        "create-monitor" => {
                            d.create_monitor = parse_bool(&v)
                                .ok_or_else(|| err(&k, &v, "must be true or false"))?;
                        }
                        "lb-method" => {
                            d.lb_method = parse_method(&v).ok_or_else(|| {
                                err(&k, &v, "must be ROUND_ROBIN, LEAST_CONNECTIONS, SOURCE_IP or SOURCE_IP_PORT")
                            })?;
                        }
                        "monitor-delay" => {
                            d.monitor.delay =
                                parse_seconds(&v).filter(|s| *s >= 1).ok_or_else(|| {
                                    err(&k, &v, "must be a duration of at least 1s, e.g. 10s")
                                })?;
                        }
                        "monitor-timeout" => {
                            d.monitor.timeout =
                                parse_seconds(&v).filter(|s| *s >= 1).ok_or_else(|| {
                                    err(&k, &v, "must be a duration of at least 1s, e.g. 5s")
                                })?;
                        }
                        "monitor-max-retries" => {
                            d.monitor.max_retries = parse_retries(&v)
                                .ok_or_else(|| err(&k, &v, "must be an integer from 1 to 10"))?;
                        }
                        "monitor-max-retries-down" => {
                            d.monitor.max_retries_down = parse_retries(&v)
                                .ok_or_else(|| err(&k, &v, "must be an integer from 1 to 10"))?;
                        }
                        "node-selector" => {
                            d.node_selector = v
                                .parse::<NodeSelector>()
                                .map_err(|e| err(&k, &v, &format!("must be k=v,k2=v2,k3: {e}")))?;
                        }
                        "flavor-id" => d.flavor_id = Some(v),
                        "availability-zone" => d.availability_zone = Some(v),
                        _ => cfg
                            .warnings
                            .push(format!("{file}: [LoadBalancer] {k}: unknown key, ignored")),
                    }
                }
                let MonitorSpec { delay, timeout, .. } = lb.defaults.monitor;
                if timeout >= delay {
                    return Err(err(
                        "monitor-timeout",
                        &format!("{timeout}s"),
                        &format!("must be less than monitor-delay ({delay}s)"),
                    ));
                }
            }
            other if OTHER_OCCM_SECTIONS.contains(&other) => {}
            other => cfg
                .warnings
                .push(format!("{file}: [{other}]: unknown section, ignored")),
        }
    }
    Ok(cfg)
}

/// A gcfg boolean: `true`/`yes`/`on`/`1` or `false`/`no`/`off`/`0`, in any case.
fn parse_bool(v: &str) -> Option<bool> {
    if let Ok(Flag(b)) = v.parse::<Flag>() {
        return Some(b);
    }
    match v.to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" => Some(true),
        "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// The section names kks-lb reads, in OCCM's spelling; others as written.
fn canonical_section(name: &str) -> String {
    ["Global", "LoadBalancer"]
        .iter()
        .chain(OTHER_OCCM_SECTIONS)
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), |known| (*known).to_owned())
}

/// A gcfg value: whitespace around it dropped, a comment (`;` or `#` outside quotes) cut
/// off, quoted parts kept as written with their escapes resolved. `None` for an unterminated
/// quote or an unknown escape.
fn gcfg_value(raw: &str) -> Option<String> {
    let mut out = String::new();
    // Length of `out` up to its last character that was quoted or not whitespace: unquoted
    // trailing whitespace is dropped.
    let mut keep = 0;
    let mut quoted = false;
    let mut chars = raw.trim_start().chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' => {
                let e = match chars.next()? {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    't' => '\t',
                    'b' => '\u{8}',
                    _ => return None,
                };
                out.push(e);
                keep = out.len();
            }
            ';' | '#' if !quoted => break,
            c => {
                out.push(c);
                if quoted || !c.is_whitespace() {
                    keep = out.len();
                }
            }
        }
    }
    if quoted {
        return None;
    }
    out.truncate(keep);
    Some(out)
}

/// An algorithm name in any case (cloud.conf files often spell it in lower case).
fn parse_method(v: &str) -> Option<LbMethod> {
    v.trim().to_ascii_uppercase().parse().ok()
}

/// Whole seconds from `10`, `10s`, `2m` or `1m30s` (OCCM accepts Go durations here).
fn parse_seconds(v: &str) -> Option<u32> {
    let d = v.parse::<DurationArg>().ok()?.0;
    if d.subsec_nanos() != 0 {
        return None;
    }
    u32::try_from(d.as_secs()).ok()
}

fn parse_retries(v: &str) -> Option<u8> {
    v.parse::<u8>().ok().filter(|n| (1..=10).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
[Global]
auth-url = https://keystone.example:5000/v3
application-credential-id = "abc"
application-credential-secret = "s3cret"
region = RegionOne

[LoadBalancer]
subnet-id = 5b5cbd5a-0e6d-4c4f-8f7a-2a1f0c3b9d01
floating-network-id = 7c1f3a9e-2d4b-4e8f-9a6c-1b2d3e4f5a60
lb-method = LEAST_CONNECTIONS
create-monitor = true
monitor-delay = 1m
monitor-timeout = 30s
monitor-max-retries = 4
internal-lb = false
node-selector = pool=web,gpu
colour = blue

[Networking]
ipv6-support-disabled = true
"#;

    /// The shape of the cloud.conf files OCCM's own docs and charts ship: section names in
    /// other cases, inline comments, quoted values with escapes, gcfg booleans, a bare key.
    const OCCM_STYLE: &str = r#"
[global]
auth-url = "https://keystone.example:5000/v3" ; the identity endpoint
Username = admin
password = "p#ss;w\"rd"   # quoted: the comment characters are part of it
tenant-name=demo
domain-name = Default
region=RegionOne
tls-insecure

[LOADBALANCER]
use-octavia = yes
subnet-id = 5b5cbd5a-0e6d-4c4f-8f7a-2a1f0c3b9d01 # cluster subnet
floating-network-id = "7c1f3a9e-2d4b-4e8f-9a6c-1b2d3e4f5a60"
lb-method = round_robin
create-monitor = on
internal-lb = off

[BlockStorage]
bs-version = v3
"#;

    #[test]
    fn occm_style_files_parse_like_occm_reads_them() {
        let cfg = parse(OCCM_STYLE, "cloud.conf").unwrap();
        let g = &cfg.global;
        assert_eq!(
            g.auth_url.as_deref(),
            Some("https://keystone.example:5000/v3")
        );
        assert_eq!(g.username.as_deref(), Some("admin"));
        assert_eq!(g.password.as_deref(), Some("p#ss;w\"rd"));
        assert!(g.tls_insecure, "a bare key is true");
        let lb = &cfg.load_balancer;
        assert_eq!(
            lb.subnet_id.as_deref(),
            Some("5b5cbd5a-0e6d-4c4f-8f7a-2a1f0c3b9d01")
        );
        assert_eq!(
            lb.floating_network_id.as_deref(),
            Some("7c1f3a9e-2d4b-4e8f-9a6c-1b2d3e4f5a60")
        );
        assert!(lb.defaults.create_monitor);
        assert!(!lb.defaults.internal_lb);
    }

    #[test]
    fn gcfg_values_trim_unquoted_space_cut_comments_and_resolve_escapes() {
        assert_eq!(gcfg_value("  a b  ; c").as_deref(), Some("a b"));
        assert_eq!(gcfg_value(r#" " a;b " "#).as_deref(), Some(" a;b "));
        assert_eq!(gcfg_value(r#""x\ty\\z""#).as_deref(), Some("x\ty\\z"));
        assert_eq!(gcfg_value(r#""open"#), None, "unterminated quote");
        assert_eq!(gcfg_value(r"\q"), None, "unknown escape");
        assert_eq!(parse_bool("YES"), Some(true));
        assert_eq!(parse_bool("0"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }

    #[test]
    fn an_occm_cloud_conf_parses_into_credentials_and_defaults() {
        let cfg = parse(SAMPLE, "cloud.conf").unwrap();
        assert_eq!(cfg.global.application_credential_id.as_deref(), Some("abc"));
        assert_eq!(cfg.global.region.as_deref(), Some("RegionOne"));
        let lb = &cfg.load_balancer;
        assert_eq!(
            lb.subnet_id.as_deref(),
            Some("5b5cbd5a-0e6d-4c4f-8f7a-2a1f0c3b9d01")
        );
        assert_eq!(lb.defaults.lb_method, LbMethod::LeastConnections);
        assert!(lb.defaults.create_monitor);
        assert_eq!(lb.defaults.monitor.delay, 60);
        assert_eq!(lb.defaults.monitor.timeout, 30);
        assert_eq!(lb.defaults.monitor.max_retries, 4);
        assert_eq!(lb.defaults.node_selector.to_string(), "gpu,pool=web");
        assert_eq!(
            cfg.warnings,
            ["cloud.conf: [LoadBalancer] colour: unknown key, ignored"]
        );
        let cluster = cfg.cluster_config("kks", "id");
        assert_eq!(cluster.provider, "amphora");
    }

    #[test]
    fn secrets_never_reach_debug_output() {
        let cfg = parse(SAMPLE, "cloud.conf").unwrap();
        let debug = format!("{:?}", cfg.global);
        assert!(!debug.contains("s3cret"));
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn malformed_values_name_file_section_key_and_rule() {
        let err = parse(
            "[LoadBalancer]\nmonitor-max-retries = 11\n",
            "/etc/kks/cloud.conf",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "/etc/kks/cloud.conf: [LoadBalancer] monitor-max-retries = \"11\": must be an integer from 1 to 10"
        );
        let err = parse(
            "[LoadBalancer]\nmonitor-delay = 5s\nmonitor-timeout = 5s\n",
            "c",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("must be less than monitor-delay (5s)"),
            "{err}"
        );
        let err = parse("[Global]\nnot a pair\n", "c").unwrap_err();
        assert!(matches!(err, CloudConfigError::Syntax { line: 2, .. }));
        let err = parse("key = value\n", "c").unwrap_err();
        assert!(
            matches!(err, CloudConfigError::Syntax { line: 1, .. }),
            "a key outside a section"
        );
    }

    #[test]
    fn durations_accept_go_forms() {
        assert_eq!(parse_seconds("10"), Some(10));
        assert_eq!(parse_seconds("1m30s"), Some(90));
        assert_eq!(parse_seconds("2h"), Some(7200));
        assert_eq!(parse_seconds("10ms"), None);
        assert_eq!(parse_seconds("s"), None);
    }
}
