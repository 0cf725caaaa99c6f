//! `kks-lb webhook-cert`: a self-signed CA and the webhook's serving certificate, for clusters
//! without cert-manager.
//!
//! Writes `tls.crt`, `tls.key` (the Secret `kks-lb-webhook-tls`) and `ca.crt` into
//! `--out-dir`, then prints the commands that create the Secret and put the CA into the
//! webhook configuration's `caBundle`. Exit code 0, or 2 when a file cannot be written.

use kks_lb_controller::webhook::cert::{ca_bundle, generate, service_names};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::exit;

/// Flags of `kks-lb webhook-cert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write `tls.crt`, `tls.key` and `ca.crt` into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Name of the webhook's Service.
    #[arg(long, default_value = "kks-lb-webhook")]
    pub service: String,
    /// Namespace of the webhook's Service.
    #[arg(long, default_value = "kube-system")]
    pub namespace: String,
    /// Name of the ValidatingWebhookConfiguration to patch in the printed command.
    #[arg(long, default_value = "kks-lb")]
    pub webhook_configuration: String,
    /// More names (DNS names or IP addresses) the certificate is valid for; repeatable.
    #[arg(long = "extra-name", value_name = "NAME")]
    pub extra_names: Vec<String>,
    /// Validity of the CA and the certificate, in days.
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u64).range(1..=3650))]
    pub days: u64,
}

/// Runs `kks-lb webhook-cert`; returns the exit code.
pub fn run(args: &Args, out: &mut dyn Write) -> u8 {
    let mut names = service_names(&args.service, &args.namespace);
    names.extend(args.extra_names.iter().cloned());
    let pair = match generate(&names, Duration::from_secs(args.days * 86_400)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("kks-lb webhook-cert: {e} (names: {})", names.join(", "));
            return exit::INPUT;
        }
    };
    let files = [
        ("tls.crt", &pair.cert_pem),
        ("tls.key", &pair.key_pem),
        ("ca.crt", &pair.ca_pem),
    ];
    if let Err(e) = std::fs::create_dir_all(&args.out_dir) {
        eprintln!(
            "kks-lb webhook-cert: cannot create {}: {e}",
            args.out_dir.display()
        );
        return exit::INPUT;
    }
    for (name, content) in files {
        let path = args.out_dir.join(name);
        if let Err(e) = write_private(&path, content) {
            eprintln!("kks-lb webhook-cert: cannot write {}: {e}", path.display());
            return exit::INPUT;
        }
    }
    let dir = args.out_dir.display();
    let bundle = ca_bundle(&pair.ca_pem);
    let text = format!(
        "wrote {dir}/tls.crt, {dir}/tls.key and {dir}/ca.crt for {names}, valid {days} days\n\
         \n\
         # the Secret the controller reads its serving certificate from\n\
         kubectl -n {ns} create secret tls kks-lb-webhook-tls --cert={dir}/tls.crt --key={dir}/tls.key\n\
         # the CA the API server checks the webhook with (after applying deploy/webhook)\n\
         kubectl patch validatingwebhookconfiguration {vwc} --type=json \\\n  \
         -p '[{{\"op\":\"add\",\"path\":\"/webhooks/0/clientConfig/caBundle\",\"value\":\"{bundle}\"}}]'\n",
        names = names.join(", "),
        days = args.days,
        ns = args.namespace,
        vwc = args.webhook_configuration,
    );
    match out.write_all(text.as_bytes()) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!("kks-lb webhook-cert: cannot write the output: {e}");
            exit::INPUT
        }
    }
}

/// Writes a file readable by its owner only (it may be a private key).
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}
