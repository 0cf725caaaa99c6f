//! Wire types of the OpenStack APIs kks-lb speaks, with the services' own field names.
//!
//! - [`octavia`]: Octavia v2 (`/v2/lbaas/...`): GET responses (children as `{"id"}`
//!   references), the fully-populated POST response (children embedded), create and update
//!   bodies, the batch member body, the `/status` tree, the version document, quotas,
//!   providers and the WSME error body.
//! - [`neutron`]: Neutron v2.0 floating IPs, ports, subnets, networks, tags and the
//!   `NeutronError` body.
//! - [`keystone`]: Keystone v3 token request (password and application credential) and
//!   response (with the service catalog), and the Keystone error body.
//!
//! Every type ignores unknown fields on deserialize, so newer servers keep working. Response
//! types serialize every field the real service sends, `null`s included (`allowed_cidrs:
//! null` is not `[]`); fields that older API versions omit are `Option`s skipped when `None`.
//! Timestamps are kept as the strings the service sent: Octavia's have no timezone
//! (`2026-11-26T14:38:10`), Neutron's end in `Z`.

pub mod keystone;
pub mod neutron;
pub mod octavia;

use serde::{Deserialize, Deserializer};

/// Deserializes a field that distinguishes "absent" (`None`, via `#[serde(default)]`) from
/// "explicitly `null`" (`Some(None)`), as update bodies need (`"session_persistence": null`
/// clears the value, a missing key keeps it).
pub(crate) fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserializes `null` as the type's default (`""`, `[]`): some services send `null` names or
/// tag lists where others send empty values.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}
