# syntax=docker/dockerfile:1
# The kks-lb-controller image: one static binary and the CA certificates, nothing else.
#
#   docker build --build-arg KKS_LB_REVISION="$(git rev-parse --short=12 HEAD)" \
#     -t registry.example.com/kks-lb/kks-lb-controller:0.1.0 .
#
# The version (KKS_LB_VERSION) must be the workspace version; deploy/kustomization.yaml sets
# the tag that deploy/ runs. CI builds the final stage below with buildah, from the output of
# the same scripts/image-rootfs.sh on the host, and runs it (scripts/image-check.sh).

# The toolchain the workspace pins (rust-version in Cargo.toml).
ARG RUST_VERSION=1.95.0

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
COPY . .
ARG KKS_LB_VERSION=0.1.0
ARG KKS_LB_REVISION=unknown
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    KKS_LB_VERSION="${KKS_LB_VERSION}" KKS_LB_REVISION="${KKS_LB_REVISION}" \
    scripts/image-rootfs.sh /out

FROM scratch AS runtime
ARG KKS_LB_VERSION=0.1.0
ARG KKS_LB_REVISION=unknown
LABEL org.opencontainers.image.title="kks-lb-controller" \
      org.opencontainers.image.description="Gives every Kubernetes Service of type LoadBalancer an OpenStack Octavia load balancer" \
      org.opencontainers.image.version="${KKS_LB_VERSION}" \
      org.opencontainers.image.revision="${KKS_LB_REVISION}" \
      org.opencontainers.image.source="https://example.invalid/kks-lb" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/rootfs/ /
USER 65532:65532
ENTRYPOINT ["/kks-lb-controller"]
