#!/usr/bin/env bash
# Builds the repository's Dockerfile with podman (no Docker engine needed) and checks the image
# without starting a container: the binary runs in the image's root file system (podman image
# mount + chroot as the image's USER), inside a network namespace of its own, where the
# image's ENTRYPOINT starts with the shipped configuration against a throwaway PostgreSQL,
# serves /metrics, and the image's HEALTHCHECK command passes (and fails once it stopped).
# Also: the runtime stage adds at most 60 MB to debian:12-slim and leaves no APT cache or
# list, and the SBOM in the image lists its packages and the binary's linked libraries.
#
# The base images come from tests/image/make-debian-base.sh (mmdebstrap) when podman has no
# debian:12 and debian:12-slim yet. Building compiles the exporter in the image (JOBS=2):
# several minutes.
#
# Usage: tests/image/image_test.sh
# Environment: IMAGE_TAG (default: localhost/outcomes_exporter:image-test), JOBS (default: 2)
# Ends with `image: N passed, M failed`.
# Single quotes hold "$1"/"$@" for the shells they are given to; cleanup runs from a trap.
# shellcheck disable=SC2016,SC2317
set -uo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
tag=${IMAGE_TAG:-localhost/outcomes_exporter:image-test}
slim=docker.io/library/debian:12-slim
max_added_bytes=$((60 * 1000 * 1000))
port=9477  # the port the HEALTHCHECK asks; free in the namespace of our own

passed=0
failed=0
check() {  # check NAME STATUS [DETAIL]
  if [[ $2 -eq 0 ]]; then
    passed=$((passed + 1))
    echo "ok: $1${3:+ ($3)}"
  else
    failed=$((failed + 1))
    echo "FAIL: $1${3:+ ($3)}"
  fi
}
finish() {
  echo "${summary_name:-image}: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}
status_of() { "$@" >/dev/null 2>&1; echo $?; }

# ---- inside the network and mount namespace: run the image's binary and health check ------
if [[ "${1:-}" == "--in-namespace" ]]; then
  root=$2 user=$3 workdir=$4 entrypoint_file=$5 healthcheck_file=$6
  summary_name=in-image
  ip link set lo up
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mapfile -t entrypoint <"$entrypoint_file"
  mapfile -t healthcheck <"$healthcheck_file"
  work=$(mktemp -d)
  chmod 755 "$work"
  cleanup() {
    [[ -n "${exporter_pid:-}" ]] && kill "$exporter_pid" 2>/dev/null
    "$repo/scripts/pg-sandbox" stop "$work/pg" >/dev/null 2>&1
    rm -rf "$work"
  }
  trap cleanup EXIT
  dsn=$("$repo/scripts/pg-sandbox" start "$work/pg" | tail -1)
  psql -X -q -v ON_ERROR_STOP=1 -d "$dsn" -f "$repo/deploy/sql/schema.sql" >/dev/null
  in_image() {  # in_image COMMAND...: as the image's user, in its WORKDIR, its environment
    exec_in_image "$@" &
    wait $!
  }
  exec_in_image() {  # the same, replacing this shell (so $! of `exec_in_image ... &` is the command)
    exec chroot --userspec="$user" "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      HOME="$workdir" OUTCOMES_DSN="$dsn" /bin/sh -c 'cd "$0" && exec "$@"' "$workdir" "$@"
  }

  exec_in_image "${entrypoint[@]}" "--web.listen-address=127.0.0.1:$port" >"$work/exporter.log" 2>&1 &
  exporter_pid=$!
  healthy=1
  for _ in $(seq 1 60); do
    if curl -sf --max-time 2 "http://127.0.0.1:$port/-/healthy" >/dev/null; then healthy=0; break; fi
    kill -0 "$exporter_pid" 2>/dev/null || break
    sleep 1
  done
  check "the ENTRYPOINT starts with the shipped configuration, as $user" "$healthy"
  [[ $healthy -eq 0 ]] || { sed 's/^/    /' "$work/exporter.log"; finish; }

  # The store collector's first cycle: store_up turns 1 once it connected and counted.
  store_up=1
  for _ in $(seq 1 60); do
    curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" >"$work/metrics" || true
    if grep -qx 'outcomes_store_up 1' "$work/metrics"; then store_up=0; break; fi
    sleep 1
  done
  check "/metrics serves the exporter's families" "$(status_of grep -q '^outcomes_exporter_build_info{' "$work/metrics")"
  check "the image's libpq reaches the store (outcomes_store_up 1)" "$store_up"

  check "the HEALTHCHECK command passes: ${healthcheck[*]}" "$(status_of in_image "${healthcheck[@]}")"
  kill "$exporter_pid"
  wait "$exporter_pid"
  check "the binary stops cleanly on SIGTERM" "$?"
  exporter_pid=""
  check "the HEALTHCHECK command fails once the exporter stopped" \
    "$([[ $(status_of in_image "${healthcheck[@]}") -ne 0 ]]; echo $?)"
  finish
fi

# ---- outside: base images, build, inspection ------------------------------------------------
# A fixed REVISION: the compile layer is reused until the sources change, not at every commit.
started=$SECONDS
"$repo/tests/image/make-debian-base.sh" || { check "base images debian:12 and debian:12-slim" 1; finish; }

build_log=$(mktemp)
trap 'rm -f "$build_log"' EXIT
build_started=$SECONDS
podman build --isolation=chroot --format docker --pull=never --layers \
  --build-arg JOBS="${JOBS:-2}" --build-arg VERSION=image-test --build-arg REVISION=image-test \
  -t "$tag" -f "$repo/Dockerfile" "$repo" >"$build_log" 2>&1
status=$?
check "podman build of the Dockerfile" "$status" "$((SECONDS - build_started)) s"
[[ $status -eq 0 ]] || { tail -n 60 "$build_log" | sed 's/^/    /'; finish; }

inspect() { podman image inspect --format "$1" "$tag"; }
base_size=$(podman image inspect --format '{{.Size}}' "$slim")
size=$(inspect '{{.Size}}')
added=$((size - base_size))
check "the runtime stage adds at most 60 MB to debian:12-slim" \
  "$([[ $added -le $max_added_bytes ]]; echo $?)" "adds $((added / 1000000)) MB: $((size / 1000000)) MB on $((base_size / 1000000)) MB"

root=$(podman image mount "$tag") || { check "podman image mount" 1; finish; }
trap 'podman image unmount "$tag" >/dev/null; rm -f "$build_log"' EXIT
leftovers=$(find "$root/var/lib/apt/lists" "$root/var/cache/apt" -type f ! -name lock 2>/dev/null | sed "s#^$root##")
check "no APT lists or caches left in the image" "$([[ -z "$leftovers" ]]; echo $?)" "${leftovers//$'\n'/ }"

# The SBOM names every package of the image and, as the binary's dependencies, the package of
# each library the binary links (ldd run in the image).
linked=$(chroot "$root" ldd /usr/local/bin/outcomes_exporter | awk '$2 == "=>" { print $3 } $1 ~ /^\// { print $1 }')
packages=$(chroot "$root" dpkg-query -W -f='${db:Status-Status} ${Package}\n' | awk '$1 == "installed" { print $2 }')
sbom_problems=$(python3 - "$root/usr/share/outcomes_exporter/sbom.cdx.json" "$linked" "$packages" <<'PY'
import json, sys
path, linked, packages = sys.argv[1], sys.argv[2].split(), set(sys.argv[3].split())
try:
    bom = json.load(open(path))
except (OSError, ValueError) as error:
    sys.exit(print(f"{path}: {error}"))
problems = []
if bom.get("bomFormat") != "CycloneDX" or not bom.get("specVersion"):
    problems.append("not a CycloneDX document")
components = {c["bom-ref"]: c for c in bom.get("components", [])}
listed = {c["name"] for c in components.values() if c.get("purl", "").startswith("pkg:deb/")}
if listed != packages:
    problems.append(f"packages missing: {sorted(packages - listed)}, extra: {sorted(listed - packages)}")
binary = components.get("outcomes_exporter", {})
libraries = {p["value"] for p in binary.get("properties", []) if p["name"].endswith("linked-library")}
if libraries != set(linked):
    problems.append(f"linked libraries differ: {sorted(set(linked) ^ libraries)}")
depends = next((d["dependsOn"] for d in bom.get("dependencies", []) if d["ref"] == "outcomes_exporter"), [])
for name in ("libpqxx-6.4", "libyaml-cpp0.7", "libprometheus-cpp-core1.0", "libssl3", "libc6"):
    if not any(ref.startswith(f"pkg:deb/debian/{name}@") for ref in depends):
        problems.append(f"the binary's dependencies lack {name}")
print("; ".join(problems))
PY
)
check "the SBOM lists the image's packages and the binary's linked libraries" \
  "$([[ -z "$sbom_problems" ]]; echo $?)" "$sbom_problems"

user=$(inspect '{{.Config.User}}')
workdir=$(inspect '{{.Config.WorkingDir}}')
check "the image runs as a non-root USER" "$([[ -n "$user" && ${user%%:*} != 0 && ${user%%:*} != root ]]; echo $?)" "$user"
lists=$(mktemp -d)
inspect '{{json .Config.Entrypoint}}' | python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)))' >"$lists/entrypoint"
# HEALTHCHECK ["CMD", ...] or ["CMD-SHELL", "..."]: the command the engine would run.
podman image inspect --format '{{json .Config.Healthcheck.Test}}' "$tag" | python3 -c '
import json, sys
test = json.load(sys.stdin) or []
print("\n".join(test[1:] if test[:1] == ["CMD"] else ["/bin/sh", "-c", test[1]] if test[:1] == ["CMD-SHELL"] else []))' >"$lists/healthcheck"
check "the image has a HEALTHCHECK (podman build --format docker keeps it)" "$([[ -s "$lists/healthcheck" ]]; echo $?)"

unshare --net --mount --fork "${BASH_SOURCE[0]}" --in-namespace "$root" "$user" "${workdir:-/}" \
  "$lists/entrypoint" "$lists/healthcheck"
inside=$?
rm -rf "$lists"
check "the checks inside the image's root file system" "$inside"
echo "image test took $((SECONDS - started)) s"
finish
