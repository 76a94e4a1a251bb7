#!/usr/bin/env bash
# Checks the shipped Grafana dashboards, and every metric named in them and in rules/ and
# alerts/, against a /metrics page of the sidecar. Starts nothing: the caller provides the
# exposition (for example from a daemon started by an integration test).
#
# Usage: tests/dashboards/run.sh EXPOSITION_FILE [check_dashboards.py options]
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
  [[ $# -ge 1 ]] && exit 0
  exit 2
fi
exposition=$1
shift
[[ -r "$exposition" ]] || { echo "run.sh: cannot read $exposition" >&2; exit 2; }
exec python3 "$here/check_dashboards.py" --repo "$here/../.." --exposition "$exposition" "$@"
