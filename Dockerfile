# syntax=docker/dockerfile:1
#
# outcomes_exporter container image.
#
#   docker build -t outcomes_exporter .
#   docker run -p 9477:9477 -e OUTCOMES_DSN='postgresql://exporter@db/outcomes' outcomes_exporter
#
# The shipped configuration reads the DSN from ${OUTCOMES_DSN}; mount your own file over
# /etc/outcomes_exporter/outcomes_exporter.yml to change it (docs/CONFIGURATION.md). Extra
# flags given to `docker run` are appended to the entrypoint (e.g. --log.format=json).
#
# Layout of the image:
#   /usr/local/bin/outcomes_exporter
#   /etc/outcomes_exporter/outcomes_exporter.yml     the configuration
#   /usr/share/outcomes_exporter/{rules,alerts,grafana}
#       the recording rules, alerting files and Grafana dashboards shipped with this version
#       of the exporter (the repository's rules/, alerts/ and grafana/ folders), for
#       Prometheus, Alertmanager and Grafana to load.
#   /usr/share/outcomes_exporter/sbom.cdx.json
#       the image's software bill of materials (CycloneDX 1.5): its Debian packages and the
#       libraries the binary links (deploy/docker/sbom.sh)

# ---------------------------------------------------------------------------------------------
# Build stage: the same Debian 12 packages as a developer machine and CI, from the one list.
FROM debian:12 AS build

# Only the package list first, so that source changes do not reinstall the toolchain. Only
# what building needs: the test tools (PostgreSQL, Prometheus, podman...) stay out.
COPY scripts/install-deps /src/scripts/install-deps
RUN bash /src/scripts/install-deps --build-only && rm -rf /var/lib/apt/lists/*

# Only what the binary is built from, so that a change to the tests, docs or deployment files
# does not compile again.
WORKDIR /src
COPY CMakeLists.txt ./
COPY exporter/ exporter/

# The git revision for --version and outcomes_exporter_build_info. The build context has no
# .git, so CI passes it (docker-build.yml); CMakeLists.txt decides whether it uses it.
ARG REVISION=unknown
# Parallel compile jobs (--build-arg JOBS=N on a machine with more cores and memory).
ARG JOBS=2
RUN cmake -S . -B /build -DOUTCOMES_WERROR=ON -DOUTCOMES_BUILD_TESTS=OFF -DOUTCOMES_BUILD_BENCH=OFF \
        -DOUTCOMES_REVISION="${REVISION}" \
 && cmake --build /build -j"${JOBS}" --target outcomes_exporter \
 && /build/outcomes_exporter --version \
 && install -D -m 0755 -s /build/outcomes_exporter /out/bin/outcomes_exporter

# Stage the shipped rules, alerts and dashboards. An empty folder is not kept by git, so a
# missing one becomes an empty folder here and the image layout stays the same.
COPY . /context/
RUN for dir in rules alerts grafana; do \
      mkdir -p "/out/share/${dir}"; \
      if [ -d "/context/${dir}" ]; then cp -a "/context/${dir}/." "/out/share/${dir}/"; fi; \
    done

# ---------------------------------------------------------------------------------------------
# Runtime stage: only the shared libraries the binary links, from the same package list.
FROM debian:12-slim

ARG VERSION=dev
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="outcomes_exporter" \
      org.opencontainers.image.description="Prometheus exporter sidecar for ML recommendation systems: exact business counters from the PostgreSQL outcomes store, model endpoint probes, rules and dashboards." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim"

RUN --mount=type=bind,source=scripts/install-deps,target=/tmp/install-deps \
    bash /tmp/install-deps --runtime-only \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb

# A fixed non-root uid/gid (the usual "nonroot" 65532), so that volume permissions and
# Kubernetes runAsUser can rely on it. Its home holds an optional ~/.pgpass.
RUN groupadd --system --gid 65532 nonroot \
 && useradd --system --uid 65532 --gid 65532 --home-dir /home/nonroot --create-home \
        --shell /usr/sbin/nologin nonroot

COPY --from=build /out/bin/outcomes_exporter /usr/local/bin/outcomes_exporter
COPY --from=build /out/share/ /usr/share/outcomes_exporter/
COPY deploy/config/outcomes_exporter.yml /etc/outcomes_exporter/outcomes_exporter.yml

# The software bill of materials (CycloneDX JSON): every Debian package of this image and the
# libraries the binary links, for scanners and audits. The script does not stay in the image.
RUN --mount=type=bind,source=deploy/docker/sbom.sh,target=/tmp/sbom.sh \
    bash /tmp/sbom.sh /usr/local/bin/outcomes_exporter "${VERSION}" \
        >/usr/share/outcomes_exporter/sbom.cdx.json

USER 65532:65532
WORKDIR /home/nonroot
EXPOSE 9477

# The slim image has no curl or wget; bash's /dev/tcp sends the request, so the health check
# adds no package. It asks the default listen address over plain HTTP: change it here too if
# you run with another --web.listen-address, and with a tls_server_config in --web.config.file
# replace it (compose `healthcheck:`) by a TCP check: `exec 3<>/dev/tcp/127.0.0.1/9477`.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9477 && printf 'GET /-/healthy HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && IFS= read -r -t 4 status <&3 && [[ $status == HTTP/1.?' 200 '* ]]"]

ENTRYPOINT ["/usr/local/bin/outcomes_exporter", "--config.file=/etc/outcomes_exporter/outcomes_exporter.yml"]
