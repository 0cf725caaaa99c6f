#!/usr/bin/env bash
# Builds the binary the kks-lb-controller image ships and lays out the image's root filesystem
# in OUT/rootfs: the Dockerfile's build stage runs this, and its final stage copies OUT/rootfs
# and nothing else. CI (scripts/image-check.sh) runs the same script on the host.
#
#   scripts/image-rootfs.sh OUT
#
# The binary is linked statically (glibc with crt-static; glibc >= 2.34 has the files and dns
# name-service modules built in), so the image needs no shared library. A static binary cannot
# find glibc's getrandom() with dlsym, where the getrandom crate looks for it by default, and
# would read /dev/urandom instead: getrandom_backend="linux_getrandom" links it directly, so
# the binary needs nothing from /dev. The explicit --target keeps these flags off build scripts
# and proc-macros and puts the build in target/<triple>/release, apart from the test build in
# target/debug.
#
# Environment: KKS_LB_REVISION (stamped into the binary; default: git, else "unknown"),
# KKS_LB_VERSION (when set, the binary's version must equal it).
set -euo pipefail
out=${1:?usage: scripts/image-rootfs.sh OUT}
cd "$(dirname "$0")/.."

triple=$(rustc -vV | sed -n 's/^host: //p')
RUSTFLAGS='-C target-feature=+crt-static --cfg getrandom_backend="linux_getrandom"' \
  cargo build --locked --release --target "$triple" -p kks-lb-controller --bin kks-lb-controller
bin="target/$triple/release/kks-lb-controller"

# Self-contained: no program interpreter and no shared library to load.
if readelf --program-headers "$bin" | grep -q 'INTERP' \
  || readelf --dynamic "$bin" | grep -q '(NEEDED)'; then
  echo "$bin is not static:" >&2
  readelf --program-headers --dynamic "$bin" | grep -E 'INTERP|NEEDED' >&2
  exit 1
fi

version=$("$bin" --version)
if [[ -n "${KKS_LB_VERSION:-}" && "$version" != "kks-lb-controller $KKS_LB_VERSION "* ]]; then
  echo "the binary says '$version', the image is labelled $KKS_LB_VERSION" >&2
  exit 1
fi

rm -rf "$out/rootfs"
install -D -m 0755 "$bin" "$out/rootfs/kks-lb-controller"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$out/rootfs/etc/ssl/certs/ca-certificates.crt"
echo "$version: $out/rootfs"
