#!/usr/bin/env bash
# Writes the software bill of materials of the image it runs in, as CycloneDX 1.5 JSON on
# standard output: the operating system, every installed Debian package (name, version,
# architecture, source package, package URL), and the exporter binary (its SHA-256, the
# shared libraries it links and the packages that ship them, as its dependencies). Scanners
# (trivy, grype) read it as they read the image. The Dockerfile runs it in the runtime stage.
#
# Usage: sbom.sh BINARY VERSION > sbom.cdx.json
set -euo pipefail

binary=${1:?usage: sbom.sh BINARY VERSION}
version=${2:?usage: sbom.sh BINARY VERSION}

# A package URL component: percent-encode what purl reserves in Debian versions (epochs' ':',
# '+' and '~').
purl_escape() {
  local value=$1
  value=${value//%/%25}
  value=${value//:/%3A}
  value=${value//+/%2B}
  value=${value//\~/%7E}
  printf '%s' "$value"
}

# The package that ships a library path ldd printed. With the merged /usr, dpkg may know a
# file under /lib or under /usr/lib, by its link name or by the file it points to.
package_of() {
  local path=$1 candidate
  for candidate in "$path" "$(readlink -f "$path")"; do
    for form in "$candidate" "/usr${candidate}" "${candidate#/usr}"; do
      if dpkg-query -S "$form" 2>/dev/null | head -n 1 | cut -d: -f1; then return 0; fi
    done
  done
  return 1
}

distro="debian-$(cut -d. -f1 /etc/debian_version)"
declare -A purl_of=()
while IFS=$'\t' read -r name pkg_version arch; do
  purl_of[$name]="pkg:deb/debian/$name@$(purl_escape "$pkg_version")?arch=$arch&distro=$distro"
done < <(dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\n' |
  awk -F '\t' '$1 == "installed" { print $2 "\t" $3 "\t" $4 }')

libraries=()
depends=()
while read -r library; do
  libraries+=("$library")
  package=$(package_of "$library") || { echo "sbom.sh: no package ships $library" >&2; exit 1; }
  package=${package%%:*}
  [[ -n "${purl_of[$package]:-}" ]] || { echo "sbom.sh: $package is not installed" >&2; exit 1; }
  depends+=("${purl_of[$package]}")
done < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
mapfile -t depends < <(printf '%s\n' "${depends[@]}" | sort -u)

join() {  # join SEPARATOR ITEMS...: the items, each already JSON, separated
  local separator=$1 first=true item
  shift
  for item in "$@"; do
    $first || printf '%s' "$separator"
    first=false
    printf '%s' "$item"
  done
}

binary_name=$(basename "$binary")
components=()
components+=("$(printf '{"type": "operating-system", "bom-ref": "os", "name": "debian", "version": "%s"}' "$(cat /etc/debian_version)")")
properties=()
for library in "${libraries[@]}"; do
  properties+=("$(printf '{"name": "outcomes_exporter:linked-library", "value": "%s"}' "$library")")
done
components+=("$(printf '{"type": "application", "bom-ref": "%s", "name": "%s", "version": "%s", "hashes": [{"alg": "SHA-256", "content": "%s"}], "properties": [%s]}' \
  "$binary_name" "$binary_name" "$version" "$(sha256sum "$binary" | cut -d' ' -f1)" "$(join ', ' "${properties[@]}")")")
while IFS=$'\t' read -r name pkg_version arch source; do
  components+=("$(printf '{"type": "library", "bom-ref": "%s", "name": "%s", "version": "%s", "purl": "%s", "properties": [{"name": "deb:architecture", "value": "%s"}, {"name": "deb:source", "value": "%s"}]}' \
    "${purl_of[$name]}" "$name" "$pkg_version" "${purl_of[$name]}" "$arch" "${source:-$name}")")
done < <(dpkg-query -W -f='${db:Status-Status}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\n' |
  awk -F '\t' '$1 == "installed" { print $2 "\t" $3 "\t" $4 "\t" $5 }' | sort)

quoted_depends=()
for ref in "${depends[@]}"; do quoted_depends+=("\"$ref\""); done

cat <<JSON
{
  "bomFormat": "CycloneDX",
  "specVersion": "1.5",
  "serialNumber": "urn:uuid:$(cat /proc/sys/kernel/random/uuid)",
  "version": 1,
  "metadata": {
    "timestamp": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "tools": {"components": [{"type": "application", "name": "sbom.sh", "group": "outcomes_exporter"}]},
    "component": {"type": "container", "bom-ref": "image", "name": "outcomes_exporter", "version": "$version"}
  },
  "components": [
    $(join $',\n    ' "${components[@]}")
  ],
  "dependencies": [
    {"ref": "image", "dependsOn": ["os", "$binary_name"]},
    {"ref": "$binary_name", "dependsOn": [$(join ', ' "${quoted_depends[@]}")]}
  ]
}
JSON
