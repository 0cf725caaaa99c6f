#!/usr/bin/env bash
# A new user's kubectl against `kks-lb demo --keep`: the Kubernetes API emulator answers kubectl
# like an API server (discovery, OpenAPI v3, tables, protobuf for `create namespace` and
# `create service`, server-side field validation), refuses invalid Services with the API
# server's own messages, and calls the kks-lb admission webhook, whose denials and warnings
# kubectl prints.
#
# Uses the kubectl on PATH, or installs Debian's kubernetes-client. Needs kubectl 1.27 or newer
# (OpenAPI v3); with an older one the check says so and is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v kubectl >/dev/null 2>&1; then
  echo "== installing kubectl (Debian's kubernetes-client)"
  apt-get update >/dev/null && apt-get install -y kubernetes-client >/dev/null
fi
minor=$(kubectl version --client -o json | sed -n 's/.*"minor": *"\([0-9]*\).*/\1/p' | head -n1)
echo "== kubectl $(kubectl version --client -o json | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | head -n1)"
if [ -z "$minor" ] || [ "$minor" -lt 27 ]; then
  echo "kubectl older than 1.27 (no OpenAPI v3 support): kubectl check skipped"
  exit 0
fi

cargo build --locked -q -p kks-lb --bin kks-lb
work=$(mktemp -d)
export KUBECONFIG="$work/kubeconfig"
./target/debug/kks-lb demo --keep --create-delay-ms 200 --timeout-secs 60 --kubeconfig "$KUBECONFIG" >"$work/demo.out" 2>&1 &
demo=$!
stop() {
  kill -INT "$demo" 2>/dev/null || true
  wait "$demo" 2>/dev/null || true
  rm -rf "$work"
}
trap stop EXIT
for _ in $(seq 120); do
  grep -q "Press Ctrl-C to stop" "$work/demo.out" && break
  kill -0 "$demo" 2>/dev/null || { cat "$work/demo.out"; echo "the demo ended early" >&2; exit 1; }
  sleep 1
done
grep -q "Press Ctrl-C to stop" "$work/demo.out" || { cat "$work/demo.out"; exit 1; }

fails=0
pass() { echo "ok    $1"; }
fail() { echo "FAIL  $1" >&2; sed 's/^/      /' "$work/last" >&2; fails=$((fails + 1)); }
# run NAME EXPECTED_EXIT COMMAND...: runs, keeps the output in $work/last, checks the exit code.
run() {
  local name=$1 want=$2; shift 2
  local got=0
  "$@" >"$work/last" 2>&1 || got=$?
  if [ "$got" -eq "$want" ]; then pass "$name"; else echo "(exit $got, wanted $want)" >>"$work/last"; fail "$name"; fi
}
# has NAME TEXT: the last output contains TEXT (a fixed string).
has() { if grep -qF -- "$2" "$work/last"; then pass "$1"; else fail "$1"; fi; }

run "get svc -A" 0 kubectl get svc -A
has "get svc shows the columns" "EXTERNAL-IP"
has "get svc shows the load balancer address" "203.0.113."

run "describe service" 0 kubectl describe service -n web my-web-app
has "describe shows the controller's Events" "EnsuredLoadBalancer"

run "bad annotations refused" 1 kubectl apply -f examples/invalid/bad-annotations.yaml
has "refused by the webhook with every error" \
  'admission webhook "services.kks-lb.openstack.org" denied the request: 3 errors: loadbalancer.openstack.org/connection-limit=-5'
has "the webhook's warning is printed" \
  "Warning: loadbalancer.openstack.org/health-monitor-max-retires: unknown annotation, ignored; did you mean health-monitor-max-retries?"

run "broken example refused" 1 kubectl apply -f examples/invalid/broken-service.yaml
has "refused by the built-in CIDR rule, as a real API server words it" \
  'The Service "broken-web" is invalid: spec.LoadBalancerSourceRanges[1]: Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'

sed -e 's/name: http-app/name: fresh-app/' -e 's/app: http-app/app: fresh-app/' -e '/nodePort:/d' \
  examples/05-http-xff.yaml >"$work/fresh.yaml"
run "apply creates a valid Service" 0 kubectl apply -f "$work/fresh.yaml"
has "apply prints created" "service/fresh-app created"
run "apply again" 0 kubectl apply -f "$work/fresh.yaml"
has "apply again is unchanged" "service/fresh-app unchanged"
run "wait --for=jsonpath" 0 kubectl wait -n web svc/fresh-app --timeout=60s \
  --for=jsonpath='{.status.loadBalancer.ingress[0].ip}'
run "annotate (valid, with a warning)" 0 kubectl annotate -n web svc/fresh-app \
  loadbalancer.openstack.org/health-monitor-max-retires=3
has "annotate prints the webhook's warning" "Warning: loadbalancer.openstack.org/health-monitor-max-retires"
run "annotate (invalid) refused" 1 kubectl annotate -n web svc/fresh-app --overwrite \
  loadbalancer.openstack.org/lb-method=fastest
has "annotate refusal names the error" "loadbalancer.openstack.org/lb-method=fastest: must be one of"
run "label" 0 kubectl label -n web svc/fresh-app tier=frontend
run "patch" 0 kubectl patch -n web svc/fresh-app -p '{"metadata":{"labels":{"tier":"edge"}}}'
run "get -o jsonpath" 0 kubectl get -n web svc/fresh-app -o 'jsonpath={.metadata.labels.tier}'
has "patch took effect" "edge"

kubectl get svc -n web -w >"$work/watch.out" 2>&1 &
watcher=$!
sleep 2
run "label while watching" 0 kubectl label -n web svc/fresh-app watched=yes
sleep 2
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
cp "$work/watch.out" "$work/last"
if [ "$(grep -c '^fresh-app' "$work/last")" -ge 2 ]; then pass "get -w shows the change"; else fail "get -w shows the change"; fi

sed 's/^spec:/spec:\n  portz: 1/' "$work/fresh.yaml" >"$work/unknown.yaml"
run "unknown field refused (fieldValidation=Strict)" 1 kubectl apply -f "$work/unknown.yaml"
has "strict decoding names the field" 'strict decoding error: unknown field "spec.portz"'

run "explain service" 0 kubectl explain service.spec.loadBalancerSourceRanges
has "explain describes the field" "loadBalancerSourceRanges"

run "create namespace (protobuf)" 0 kubectl create namespace kubectl-check
run "create service loadbalancer (protobuf)" 0 \
  kubectl create service loadbalancer -n web made-by-kubectl --tcp=80:8080
has "create service prints created" "service/made-by-kubectl created"
run "the created Service gets its load balancer" 0 kubectl wait -n web svc/made-by-kubectl \
  --timeout=60s --for=jsonpath='{.status.loadBalancer.ingress[0].ip}'
run "get -o jsonpath of the created Service" 0 kubectl get -n web svc/made-by-kubectl \
  -o 'jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}/{.spec.selector.app}'
has "ports and selector came through protobuf" "80:8080/made-by-kubectl"
run "create service --dry-run=server (protobuf)" 0 \
  kubectl create service nodeport -n web dry-run-only --tcp=80:8080 --dry-run=server
has "server dry run prints it" "service/dry-run-only created (server dry run)"
run "the dry run stored nothing" 1 kubectl get -n web svc/dry-run-only
run "create service refused by validation (protobuf)" 1 \
  kubectl create service clusterip -n web bad-port --tcp=0:80
has "refused with the API server's message" \
  'Service "bad-port" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'
run "expose a service" 0 kubectl expose -n web svc/made-by-kubectl --name=exposed --port=81 \
  --target-port=8080 --type=LoadBalancer
has "expose prints exposed" "service/exposed exposed"
run "get -o jsonpath of the exposed Service" 0 kubectl get -n web svc/exposed \
  -o 'jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}/{.spec.selector.app}'
has "expose copied the selector" "81:8080/made-by-kubectl"
cat >"$work/node.yaml" <<'EOF'
apiVersion: v1
kind: Node
metadata:
  name: worker-9
  labels:
    kubernetes.io/hostname: worker-9
status:
  addresses:
    - type: InternalIP
      address: 10.0.0.19
  conditions:
    - type: Ready
      status: "True"
EOF
run "create node" 0 kubectl create -f "$work/node.yaml"
run "label node" 0 kubectl label node worker-9 pool=extra
run "annotate node" 0 kubectl annotate node worker-9 note=checked
run "patch node" 0 kubectl patch node worker-9 -p '{"spec":{"unschedulable":true}}'
run "get nodes" 0 kubectl get nodes
has "the cordoned node shows" "SchedulingDisabled"
run "delete node" 0 kubectl delete node worker-9
run "delete service" 0 kubectl delete -n web svc/fresh-app
run "delete the created services" 0 kubectl delete -n web svc/made-by-kubectl svc/exposed
run "deleted service is gone" 1 kubectl get -n web svc/fresh-app

if [ "$fails" -gt 0 ]; then
  echo "kubectl check: $fails failed" >&2
  exit 1
fi
echo "kubectl check: all passed"
