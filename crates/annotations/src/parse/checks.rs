//! Checks across keys: warnings for platform-managed, unsupported and unknown keys, and the
//! X-Forwarded-For / PROXY rules.

use super::cx::{Cx, IndexedPort, Val};
use crate::error::WarningReason;
use crate::keys::{self, KeyKind};
use crate::spec::{PortProtocol, ProxyProtocol};
use crate::values::Flag;

impl Cx<'_> {
    /// Warnings for platform-managed, unsupported and unknown keys, in key order.
    pub(super) fn other_keys(&mut self) {
        let ann = self.ann;
        for (key, value) in ann {
            match keys::info(key).map(|k| k.kind) {
                Some(KeyKind::Platform) => self.warn(
                    key.as_str(),
                    WarningReason::PlatformManagedAnnotation,
                    format!(
                        "{} is managed by the platform: the value {:?} is ignored and the \
                         configured value is used; remove the annotation",
                        keys::short(key),
                        crate::error::shorten(value)
                    ),
                ),
                Some(KeyKind::Unsupported) => self.warn(
                    key.as_str(),
                    WarningReason::FeatureUnsupported,
                    format!(
                        "{} is not supported and is ignored: terminate TLS in an Ingress \
                         controller behind the load balancer",
                        keys::short(key)
                    ),
                ),
                Some(KeyKind::User | KeyKind::Controller) => {}
                None if key.starts_with(keys::PREFIX)
                    || key.starts_with("service.beta.kubernetes.io/openstack-") =>
                {
                    let message = match keys::closest(key) {
                        Some(k) => {
                            format!("unknown annotation, ignored; did you mean {}?", k.short())
                        }
                        None => "unknown annotation, ignored; `kks-lb docs annotations` lists the \
                                 known keys"
                            .to_owned(),
                    };
                    self.warn(key.as_str(), WarningReason::UnknownAnnotation, message);
                }
                None => {}
            }
        }
    }

    /// X-Forwarded-For and PROXY: not together, TCP ports only.
    pub(super) fn client_address_rules(
        &mut self,
        xff: Val<Flag>,
        proxy: Val<ProxyProtocol>,
        ports: &[IndexedPort],
    ) -> (bool, ProxyProtocol) {
        let xff = xff.or(Flag(false)).0;
        let proxy = proxy.or(ProxyProtocol::Off);
        if xff && proxy != ProxyProtocol::Off {
            let raw = self.raw(keys::X_FORWARDED_FOR);
            let proxy_raw = self.raw(keys::PROXY_PROTOCOL);
            self.err(
                keys::X_FORWARDED_FOR,
                raw,
                format!(
                    "must not be combined with proxy-protocol ({proxy_raw}): choose one way to \
                     pass the client address"
                ),
            );
        }
        for (on, key) in [
            (xff, keys::X_FORWARDED_FOR),
            (proxy != ProxyProtocol::Off, keys::PROXY_PROTOCOL),
        ] {
            if !on {
                continue;
            }
            for p in ports
                .iter()
                .filter(|p| p.spec.protocol != PortProtocol::Tcp)
            {
                let raw = self.raw(key);
                let name = p
                    .spec
                    .name
                    .as_deref()
                    .map(|n| format!("{n}, "))
                    .unwrap_or_default();
                self.err(
                    key,
                    raw,
                    format!(
                        "applies to TCP ports only, but spec.ports[{}] ({name}{}/{}) is {}",
                        p.index, p.spec.protocol, p.spec.port, p.spec.protocol
                    ),
                );
            }
        }
        (xff, proxy)
    }
}
