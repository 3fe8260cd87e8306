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

# The `dist` profile (fat LTO, one codegen unit) is the binary that ships (the Dockerfile's):
# 4-18 % faster than `release` here (docs/performance.md), at a longer build.
echo "== building kiln (dist profile)" >&2
cargo build --profile dist -q
# Measure a copy, as the image installs one: the linker leaves its output in the page cache
# in large folios, which a process maps whole, so the freshly linked file showed 68 MiB of
# peak RSS at N = 1 against 23 MiB for a copy of the same bytes (or after drop_caches).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
install -m 0755 target/dist/kiln "$work/kiln"
kiln="$work/kiln"

# A warm cache, as Argo CD's sidecar has after its init container: compile once, first.
export KILN_CACHE_DIR="${KILN_CACHE_DIR:-${TMPDIR:-/tmp}/kiln-bench-cache}"
"$kiln" cache warm >&2

"$bench_dir/run.sh" --kiln "$kiln" --sizes "$sizes" --peers "$peers" "${extra[@]}"
