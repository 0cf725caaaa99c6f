//! Reading manifests.
