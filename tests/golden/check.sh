#!/usr/bin/env bash
# Lints every golden exposition file (tests/golden/*.prom) with `promtool check metrics`, the
# checks Prometheus' own client libraries are held to (HELP present, counter names end in
# _total, base units, ...). Prints one line per file and exits 1 if any file fails or none is
# found. Needs promtool (Debian package prometheus; scripts/install-deps installs it).
set -uo pipefail

cd -- "$(dirname -- "${BASH_SOURCE[0]}")" || exit 1
if ! command -v promtool >/dev/null; then
  echo "FAIL  promtool not found (install the Debian package prometheus)"
  exit 1
fi
failed=0
checked=0
for file in *.prom; do
  [[ -e $file ]] || break
  checked=$((checked + 1))
  if out=$(promtool check metrics <"$file" 2>&1); then
    echo "ok    $file"
  else
    echo "FAIL  $file"
    while IFS= read -r line; do echo "      $line"; done <<<"$out"
    failed=$((failed + 1))
  fi
done
if ((checked == 0)); then
  echo "FAIL  no golden file in tests/golden"
  exit 1
fi
echo "golden: $((checked - failed)) passed, $failed failed"
((failed == 0))
