#!/usr/bin/env bash
# Proves the kks-lb-controller image without a container daemon:
#
# 1. builds the binary the image ships and its root filesystem with scripts/image-rootfs.sh,
#    the same script the Dockerfile's build stage runs;
# 2. builds the Dockerfile's final stage with buildah (Debian's package, no daemon), the
#    build stage replaced by that output (--build-context build=...), and writes an OCI
#    archive (target/image/kks-lb-controller.oci.tar);
# 3. checks the image config (user 65532, entrypoint, OCI version and revision labels) and
#    that its only layer holds the binary and the CA certificates and nothing else;
# 4. unpacks that layer and runs the binary in it with chroot as user 65532: --version,
#    --help, then a start against the Kubernetes and OpenStack emulators that answers
#    /healthz and /readyz, reconciles a Service to a load balancer, and stops on SIGTERM.
#
# Runs on a bare Debian machine as root (installs buildah, jq, curl and binutils when missing).
# Run after the tests: the emulators come from their debug build, so nothing is built twice.
set -euo pipefail
cd "$(dirname "$0")/.."

work=target/image
image=registry.example.com/kks-lb/kks-lb-controller
version=$(sed -n 's/^ARG KKS_LB_VERSION=//p' Dockerfile | head -n 1)
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
export KKS_LB_VERSION="$version" KKS_LB_REVISION="$revision"

step() { echo "-- $*"; }
fail() {
  echo "image check failed: $*" >&2
  exit 1
}

missing=()
for tool in buildah:buildah jq:jq curl:curl readelf:binutils; do
  command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:}")
done
[[ -e /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
if ((${#missing[@]})); then
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

step "building the static binary and the root filesystem (scripts/image-rootfs.sh)"
start=$SECONDS
# In the layout of the build stage, whose /out/rootfs the final stage copies.
stage="$work/build-stage"
bash scripts/image-rootfs.sh "$stage/out"
echo "   took $((SECONDS - start)) s"

step "building the Dockerfile's final stage with buildah"
storage="$work/buildah"
rm -rf "$storage" "$work/context"
mkdir -p "$work/context"
bah() { buildah --storage-driver vfs --root "$PWD/$storage/root" --runroot "$PWD/$storage/run" "$@"; }
# The context is empty on purpose: the final stage reads only the build stage's output.
bah bud --quiet --target runtime --build-context "build=$PWD/$stage" \
  --build-arg "KKS_LB_REVISION=$revision" \
  -f "$PWD/Dockerfile" -t "$image:$version" "$work/context" >/dev/null
archive="$work/kks-lb-controller.oci.tar"
rm -f "$archive"
bah push --quiet "$image:$version" "oci-archive:$PWD/$archive:$image:$version"
rm -rf "$storage"
echo "   $archive ($(du -h "$archive" | cut -f1))"

step "checking the image config and its files"
oci="$work/oci"
rm -rf "$oci"
mkdir -p "$oci"
tar -xf "$archive" -C "$oci"
blob() { echo "$oci/blobs/${1/://}"; }
manifest=$(blob "$(jq -r '.manifests[0].digest' "$oci/index.json")")
config=$(blob "$(jq -r '.config.digest' "$manifest")")
jq -e --arg v "$version" --arg r "$revision" '
  .config.User == "65532:65532"
  and .config.Entrypoint == ["/kks-lb-controller"]
  and (.config.Cmd // []) == []
  and .config.Labels["org.opencontainers.image.version"] == $v
  and .config.Labels["org.opencontainers.image.revision"] == $r
  and (.config.Labels["org.opencontainers.image.source"] | length) > 0
  and .os == "linux"' "$config" >/dev/null \
  || fail "unexpected image config: $(jq -c .config "$config")"
[[ $(jq '.layers | length' "$manifest") == 1 ]] || fail "expected one layer: $(jq -c .layers "$manifest")"
root="$work/rootfs"
rm -rf "$root"
mkdir -p "$root"
tar -xf "$(blob "$(jq -r '.layers[0].digest' "$manifest")")" -C "$root"
files=$(cd "$root" && find . -mindepth 1 ! -type d | sort | tr '\n' ' ')
[[ "$files" == "./etc/ssl/certs/ca-certificates.crt ./kks-lb-controller " ]] \
  || fail "the image holds more or less than the binary and the CA certificates: $files"
echo "   user 65532, entrypoint /kks-lb-controller, version $version, revision $revision; files: $files"

chroot=$(command -v chroot)
# As the kubelet would run it: no environment but what the Deployment sets, user 65532. Each
# program execs the next, so a background start's $! is the controller itself.
in_image=(env -i RUST_LOG=info KKS_LB_LOG_FORMAT=json "$chroot" --userspec=65532:65532 "$root" /kks-lb-controller)

step "kks-lb-controller --version and --help in the image"
got=$("${in_image[@]}" --version)
[[ "$got" == "kks-lb-controller $version (revision $revision)" ]] || fail "--version says '$got'"
echo "   $got"
"${in_image[@]}" --help | grep -q -- '--cloud-config' || fail "--help does not list --cloud-config"

step "starting it in the image against the Kubernetes and OpenStack emulators"
cargo build --locked -q -p kks-lb-testkit --bin kks-lb-cloud-emulator --bin kks-lb-kube-emulator
run="$work/run"
rm -rf "$run"
mkdir -p "$run"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
target/debug/kks-lb-cloud-emulator >"$run/cloud.out" 2>"$run/cloud.err" &
pids+=($!)
target/debug/kks-lb-kube-emulator --kubeconfig "$run/kubeconfig" \
  --node node-1=10.0.0.11 --node node-2=10.0.0.12 >"$run/kube.out" 2>"$run/kube.err" &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^external_subnet_id=' "$run/cloud.out" 2>/dev/null && [[ -s "$run/kube.out" ]] && break
  sleep 0.1
done
grep -q '^external_subnet_id=' "$run/cloud.out" || fail "the OpenStack emulator did not start: $(cat "$run/cloud.err")"
[[ -s "$run/kube.out" ]] || fail "the Kubernetes emulator did not start: $(cat "$run/kube.err")"
fx() { sed -n "s/^$1=//p" "$run/cloud.out"; }
kube_url=$(head -n 1 "$run/kube.out")

# What the pod gets from its volumes and the kubelet: /etc/kks-lb from the Secret (0644) and
# /etc/hosts. The kubeconfig names the API server as localhost, so the static binary's name
# lookup through /etc/hosts is exercised too.
install -d "$root/etc/kks-lb"
sed 's#//127\.0\.0\.1:#//localhost:#' "$run/kubeconfig" >"$root/etc/kks-lb/kubeconfig"
grep -q '//localhost:' "$root/etc/kks-lb/kubeconfig" || fail "the kubeconfig has no 127.0.0.1 server to rename"
cat >"$root/etc/kks-lb/cloud.conf" <<EOF
[Global]
auth-url = $(fx auth_url)
application-credential-id = $(fx application_credential_id)
application-credential-secret = $(fx application_credential_secret)
region = $(fx region)

[LoadBalancer]
subnet-id = $(fx cluster_subnet_id)
floating-network-id = $(fx external_network_id)
EOF
chmod 0644 "$root/etc/kks-lb/"*
printf '127.0.0.1\tlocalhost\n' >"$root/etc/hosts"

"${in_image[@]}" --cloud-config=/etc/kks-lb/cloud.conf --kubeconfig=/etc/kks-lb/kubeconfig \
  --cluster-name=kubernetes --leader-elect --leader-elect-namespace=kube-system \
  --leader-elect-identity=image-check --metrics-addr=127.0.0.1:0 2>"$run/controller.log" &
controller=$!
pids+=("$controller")
# The log is JSON lines (KKS_LB_LOG_FORMAT=json); the bound address is in one of them.
log_field() { jq -r --arg m "$1" "select(.fields.message == \$m) | .fields.$2" "$run/controller.log" 2>/dev/null | head -n 1 || true; }
address=""
for _ in $(seq 100); do
  address=$(log_field "serving metrics and health probes" address)
  [[ -n "$address" ]] && break
  kill -0 "$controller" 2>/dev/null || fail "the controller exited: $(cat "$run/controller.log")"
  sleep 0.1
done
[[ -n "$address" ]] || fail "the controller does not serve metrics: $(cat "$run/controller.log")"
base="http://$address"
ready=""
for _ in $(seq 300); do
  kill -0 "$controller" 2>/dev/null || fail "the controller exited: $(cat "$run/controller.log")"
  if ready=$(curl -fsS "$base/readyz" 2>/dev/null) && grep -q 'leader: true' <<<"$ready"; then break; fi
  sleep 0.1
done
grep -q 'leader: true' <<<"$ready" || fail "/readyz never answered 'leader: true' ($ready): $(cat "$run/controller.log")"
[[ $(curl -fsS "$base/healthz") == ok ]] || fail "/healthz"
echo "   /healthz ok, /readyz: $(tr '\n' ' ' <<<"$ready")"
curl -fsS "$base/metrics" | grep -qx "kks_lb_build_info{version=\"$version\",revision=\"$revision\"} 1" \
  || fail "/metrics has no kks_lb_build_info for $version $revision"
[[ "$(log_field "kks-lb-controller starting" version) $(log_field "kks-lb-controller starting" revision)" == "$version $revision" ]] \
  || fail "no start log line with version and revision: $(cat "$run/controller.log")"

step "a Service gets a load balancer from the controller in the image"
kube() { curl -fsS -H 'Content-Type: application/json' "$@"; }
kube -X POST "$kube_url/api/v1/namespaces" -d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}' >/dev/null 2>&1 || true
kube -X POST "$kube_url/api/v1/namespaces/shop/services" >/dev/null -d '{
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web", "namespace": "shop"},
  "spec": {"type": "LoadBalancer", "selector": {"app": "web"},
           "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}]}}'
ip=""
for _ in $(seq 300); do
  ip=$(kube "$kube_url/api/v1/namespaces/shop/services/web" | jq -r '.status.loadBalancer.ingress[0].ip // empty')
  [[ -n "$ip" ]] && break
  sleep 0.1
done
[[ -n "$ip" ]] || fail "the Service got no ingress: $(kube "$kube_url/api/v1/namespaces/shop/services/web"): $(cat "$run/controller.log")"
echo "   shop/web is served at $ip"

step "SIGTERM stops it cleanly"
kill -TERM "$controller"
code=0
for _ in $(seq 300); do kill -0 "$controller" 2>/dev/null || break; sleep 0.1; done
kill -0 "$controller" 2>/dev/null && fail "still running 30 s after SIGTERM"
wait "$controller" || code=$?
[[ $code == 0 ]] || fail "exit code $code after SIGTERM: $(tail -n 20 "$run/controller.log")"
# Keep the archive; the unpacked copies are only worth keeping to look at a failure.
rm -rf "$oci" "$root" "$run" "$stage" "$work/context"
echo "image check passed: $image:$version ($archive)"
