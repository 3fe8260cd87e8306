#!/usr/bin/env bash
# Kiln side by side with its peers, on the shared benchmark (../shared/bench by default):
# one KubeVela app of N components, whole processes, warm compiled-module cache.
#
#   bench/compare.sh                         # N = 1, 10, 100, 1000; jrsonnet, kcl, python-libyaml
#   bench/compare.sh --sizes 100 --peers jrsonnet
#
# Needs the peers installed once: $BENCH_DIR/setup.sh (with the same BENCH_WORK).
# Prints run.sh's Markdown table on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_dir="${BENCH_DIR:-../shared/bench}"
if [ ! -x "$bench_dir/run.sh" ]; then
  echo "no benchmark at $bench_dir (set BENCH_DIR to the folder holding run.sh)" >&2
  exit 2
fi
sizes=1,10,100,1000
peers=jrsonnet,kcl,python-libyaml
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --peers) peers="$2"; shift 2 ;;
    *) extra+=("$1"); shift ;;
  esac
done

echo "== building kiln (release)" >&2
cargo build --release -q
kiln="$PWD/target/release/kiln"

# A warm cache, as Argo CD's sidecar has after its init container: compile once, first.
export KILN_CACHE_DIR="${KILN_CACHE_DIR:-${TMPDIR:-/tmp}/kiln-bench-cache}"
"$kiln" cache warm >&2

"$bench_dir/run.sh" --kiln "$kiln" --sizes "$sizes" --peers "$peers" "${extra[@]}"
