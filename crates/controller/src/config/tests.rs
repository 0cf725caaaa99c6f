//! Unit tests of [`super`].

use super::*;
use clap::{CommandFactory, Parser};

#[test]
fn clap_definition_is_consistent() {
    ControllerArgs::command().debug_assert();
}

fn args(extra: &[&str]) -> ControllerArgs {
    let mut argv = vec!["kks-lb-controller"];
    argv.extend_from_slice(extra);
    ControllerArgs::try_parse_from(argv).unwrap()
}

#[test]
fn defaults_match_the_documented_values() {
    let a = args(&[]);
    assert_eq!(a.cluster_name, "kubernetes");
    assert_eq!(a.concurrency, 16);
    assert_eq!(a.os_api_qps, 20.0);
    assert_eq!(a.os_api_burst, 40);
    assert_eq!(a.resync.0, Duration::from_secs(600));
    assert_eq!(a.wait_limit.0, Duration::from_secs(600));
    assert_eq!(a.orphan_grace.0, Duration::from_secs(600));
    assert_eq!(
        args(&["--orphan-grace", "0"]).orphan_grace.0,
        Duration::ZERO,
        "0 disables orphan collection"
    );
    assert_eq!(a.metrics_addr, "0.0.0.0:8080".parse().unwrap());
    assert!(!a.leader_elect);
    assert!(!a.adopt_untagged);
    assert_eq!(a.load_balancer_class, None);
}

#[test]
fn zero_concurrency_is_refused() {
    assert!(ControllerArgs::try_parse_from(["x", "--concurrency", "0"]).is_err());
}

#[test]
fn durations_parse_and_display_round_trip() {
    for (text, d) in [
        ("10m", Duration::from_secs(600)),
        ("30s", Duration::from_secs(30)),
        ("1h30m", Duration::from_secs(5400)),
        ("250ms", Duration::from_millis(250)),
        ("45", Duration::from_secs(45)),
        ("1m5s", Duration::from_secs(65)),
    ] {
        let parsed: DurationArg = text.parse().unwrap();
        assert_eq!(parsed.0, d, "{text}");
        let again: DurationArg = parsed.to_string().parse().unwrap();
        assert_eq!(again, parsed, "{text} displays as {parsed}");
    }
    for bad in ["", "m", "10x", "1.5s", "-3s", "10 m"] {
        assert!(bad.parse::<DurationArg>().is_err(), "{bad:?}");
    }
}

const CONF: &str = "[Global]\nauth-url = https://keystone:5000/v3\nusername = kks\n\
    password = pw\nproject-name = kks\nregion = R1\n\n[LoadBalancer]\n\
    subnet-id = sub-1\nfloating-network-id = ext-1\nlb-method = SOURCE_IP\n";

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn password_credentials_come_from_the_global_section() {
    let cc = crate::cloud_config::parse(CONF, "cloud.conf").unwrap();
    let cfg = session_config(Some((&cc, "cloud.conf")), &args(&[]), no_env).unwrap();
    assert_eq!(
        cfg.auth,
        Auth::Password {
            auth_url: "https://keystone:5000/v3".into(),
            username: "kks".into(),
            password: "pw".into(),
            user_domain_name: "Default".into(),
            project: ProjectRef::Name("kks".into()),
            project_domain_name: "Default".into(),
        }
    );
    assert_eq!(cfg.region.as_deref(), Some("R1"));
    assert_eq!(cfg.qps, 20.0);
    assert_eq!(cfg.burst, 40);
    assert_eq!(cfg.call_timeout, Duration::from_secs(30));
}

#[test]
fn application_credentials_win_over_a_username() {
    let text = "[Global]\nauth-url = u\nusername = x\napplication-credential-id = id\n\
                application-credential-secret = s\n";
    let cc = crate::cloud_config::parse(text, "c").unwrap();
    let cfg = session_config(Some((&cc, "c")), &args(&[]), no_env).unwrap();
    assert_eq!(
        cfg.auth,
        Auth::ApplicationCredential {
            auth_url: "u".into(),
            id: "id".into(),
            secret: "s".into()
        }
    );
}

#[test]
fn incomplete_credentials_name_the_missing_key() {
    let cc =
        crate::cloud_config::parse("[Global]\nauth-url = u\nusername = x\n", "c.conf").unwrap();
    let err = session_config(Some((&cc, "c.conf")), &args(&[]), no_env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no OpenStack credentials: c.conf: [Global] username needs password"
    );
    let cc = crate::cloud_config::parse(
        "[Global]\nauth-url = u\nusername = x\npassword = p\nproject-id = p1\nuser-domain-id = abc\n",
        "c.conf",
    )
    .unwrap();
    let err = session_config(Some((&cc, "c.conf")), &args(&[]), no_env).unwrap_err();
    assert!(err.to_string().contains("user-domain-id"), "{err}");
}

#[test]
fn without_global_credentials_os_cloud_then_os_variables_are_used() {
    let cc = crate::cloud_config::parse("[LoadBalancer]\nsubnet-id = s\n", "c").unwrap();
    let env = |k: &str| (k == "OS_CLOUD").then(|| "prod".to_owned());
    let cfg = session_config(Some((&cc, "c")), &args(&[]), env).unwrap();
    assert_eq!(cfg.auth, Auth::Cloud("prod".into()));
    let env = |k: &str| (k == "OS_AUTH_URL").then(|| "https://k/v3".to_owned());
    let cfg = session_config(None, &args(&[]), env).unwrap();
    assert_eq!(cfg.auth, Auth::Environment);
    let err = session_config(None, &args(&[]), no_env).unwrap_err();
    assert_eq!(err.reason(), "NoCredentials");
}

#[test]
fn settings_carry_the_cloud_conf_defaults_and_the_flags() {
    let cc = crate::cloud_config::parse(CONF, "cloud.conf").unwrap();
    let a = args(&[
        "--cluster-name",
        "prod",
        "--load-balancer-class",
        "kks-lb",
        "--resync",
        "5m",
        "--wait-limit",
        "2m",
        "--leader-elect",
        "--adopt-untagged",
    ]);
    let s = Settings::from_args(&a, Some((&cc, "cloud.conf")), "uid-1", "pod-a").unwrap();
    assert_eq!(s.cluster.cluster_name, "prod");
    assert_eq!(s.cluster.cluster_id, "uid-1");
    assert_eq!(s.cluster.subnet_id.as_deref(), Some("sub-1"));
    assert_eq!(s.cluster.floating_network_id.as_deref(), Some("ext-1"));
    assert_eq!(s.defaults.lb_method, kks_lb_annotations::LbMethod::SourceIp);
    assert_eq!(s.load_balancer_class.as_deref(), Some("kks-lb"));
    assert_eq!(s.resync, Duration::from_secs(300));
    assert_eq!(s.execute.wait_limit, Duration::from_secs(120));
    assert!(s.adopt_untagged);
    let lease = s.leader_election.unwrap();
    assert_eq!(
        (
            lease.namespace.as_str(),
            lease.name.as_str(),
            lease.identity.as_str()
        ),
        ("kube-system", "kks-lb-controller", "pod-a")
    );
    assert_eq!(lease.lease_duration, Duration::from_secs(15));
}

#[test]
fn a_cloud_conf_without_a_vip_subnet_is_refused() {
    let cc = crate::cloud_config::parse("[LoadBalancer]\nlb-method = SOURCE_IP\n", "c").unwrap();
    let err = Settings::from_args(&args(&[]), Some((&cc, "c")), "id", "me").unwrap_err();
    assert_eq!(
        err.to_string(),
        "c: [LoadBalancer] needs subnet-id or network-id (where VIPs are allocated)"
    );
}

#[test]
fn the_identity_prefers_the_flag_then_the_pod_name() {
    let env = |k: &str| match k {
        "POD_NAME" => Some("pod-7".to_owned()),
        "HOSTNAME" => Some("host".to_owned()),
        _ => None,
    };
    assert_eq!(identity(&args(&[]), env), "pod-7");
    assert_eq!(
        identity(&args(&["--leader-elect-identity", "me"]), env),
        "me"
    );
    assert_eq!(identity(&args(&[]), no_env), CONTROLLER_NAME);
}
