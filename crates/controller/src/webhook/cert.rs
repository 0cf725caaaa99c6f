//! A self-signed certificate authority and a serving certificate for the webhook, for clusters
//! without cert-manager (`kks-lb webhook-cert`), the demo and tests.

use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A generated pair and the CA that signed it, all PEM.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The serving certificate (`tls.crt`).
    pub cert_pem: String,
    /// Its private key (`tls.key`).
    pub key_pem: String,
    /// The CA certificate (`ca.crt`), the webhook configuration's `caBundle` once base64-encoded.
    pub ca_pem: String,
}

/// Why certificates could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("cannot generate the webhook certificate: {0}")]
pub struct CertError(#[from] rcgen::Error);

/// The DNS names a webhook Service is reached by: `NAME.NAMESPACE.svc` and
/// `NAME.NAMESPACE.svc.cluster.local`.
pub fn service_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// A new CA and a serving certificate for `names` (DNS names or IP addresses), both valid
/// from an hour ago for `valid_for`.
///
/// # Errors
/// A name that is not a valid DNS name or IP address.
pub fn generate(names: &[String], valid_for: Duration) -> Result<Generated, CertError> {
    let now = SystemTime::now();
    let not_before = now.checked_sub(Duration::from_secs(3600)).unwrap_or(now);
    let not_after = now.checked_add(valid_for).unwrap_or(now);

    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "kks-lb webhook CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before.into();
    ca.not_after = not_after.into();
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(names.to_vec())?;
    leaf.distinguished_name.push(
        DnType::CommonName,
        names.first().map_or("kks-lb-webhook", String::as_str),
    );
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = not_before.into();
    leaf.not_after = not_after.into();
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok(Generated {
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
        ca_pem: ca_cert.pem(),
    })
}

/// Base64 of `pem`, as `caBundle` expects.
pub fn ca_bundle(pem: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(pem.as_bytes())
}
