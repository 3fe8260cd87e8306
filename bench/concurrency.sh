#!/usr/bin/env bash
# Many `kiln argocd generate` processes at once on one cache directory, as a busy
# repo-server runs them: every output must be correct (identical to a lone run) and no
# process slower than 4x a lone run. Timing is checked here, never in `cargo test`.
#
#   bench/concurrency.sh [PROCESSES]        # default 16; app: examples/shop
#   KILN=path/to/kiln bench/concurrency.sh  # measure that binary instead of building `dist`
#   bench/concurrency.sh --served 16        # through a resident `kiln serve` (KILN_SERVER)
#
# Besides wall times it reports CPU per render (user + system, from the shell's `times`),
# lone and concurrent: on 2 cores, 16 renders cannot finish sooner than 16 x CPU / 2.
# Served, the server's CPU is counted too (from /proc), so the figure is the whole cost.
set -euo pipefail
cd "$(dirname "$0")/.."
served=0
if [ "${1:-}" = --served ]; then served=1; shift; fi
n="${1:-16}"

if [ -n "${KILN:-}" ]; then
  kiln="$(realpath "$KILN")"
else
  cargo build --profile dist -q # the shipped binary, as bench/compare.sh
  kiln="$PWD/target/dist/kiln"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export KILN_CACHE_DIR="$work/cache"
"$kiln" cache warm > /dev/null

# Argo CD's environment for examples/shop (see tests/e2e/argocd.rs).
export ARGOCD_APP_NAME=shop ARGOCD_APP_NAMESPACE=shop ARGOCD_APP_SOURCE_PATH=examples/shop
export ARGOCD_APP_REVISION=4f1b2c3d5e6f708192a3b4c5d6e7f8091a2b3c4d KUBE_VERSION=1.31.0

generate() { (cd examples/shop && "$kiln" argocd generate -d "$work/none"); }
mkdir -p "$work/none"

server_cpu_ms() { echo 0; }
if [ "$served" = 1 ]; then
  "$kiln" serve --socket "$work/kiln.sock" -d "$work/none" 2> "$work/server.log" &
  server=$!
  trap 'kill "$server" 2> /dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 100); do [ -S "$work/kiln.sock" ] && break; sleep 0.1; done
  export KILN_SERVER="$work/kiln.sock"
  tck=$(getconf CLK_TCK)
  server_cpu_ms() { awk -v t="$tck" '{ printf "%d", ($14 + $15) * 1000 / t }' "/proc/$server/stat"; }
  generate > /dev/null # the server's first request loads the registry it then keeps
fi

now_ms() { date +%s%3N; }
# The user + system time of a shell's finished children, in ms, from what its `times`
# printed (the second line). `times` runs in that shell itself: a `$(...)` is another one.
children_cpu_ms() {
  sed -n 2p "$1" | awk '{ t = 0; for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60000 + p[2] * 1000 } printf "%d", t }'
}
# The lone time: the median of 5 runs; their CPU, on average.
server_before=$(server_cpu_ms)
(
  lone=()
  for _ in 1 2 3 4 5; do
    start=$(now_ms); generate > "$work/expected"; lone+=($(( $(now_ms) - start )))
  done
  printf '%s\n' "${lone[@]}" | sort -n | sed -n 3p > "$work/lone-ms"
  times > "$work/lone-times"
)
single=$(cat "$work/lone-ms")
server_lone=$(( $(server_cpu_ms) - server_before ))
server_before=$(server_cpu_ms)

(
  for i in $(seq "$n"); do
    ( start=$(now_ms); generate > "$work/out-$i" 2> "$work/err-$i"; echo $(( $(now_ms) - start )) > "$work/ms-$i" ) &
  done
  wait
  times > "$work/concurrent-times"
)
server_concurrent=$(( $(server_cpu_ms) - server_before ))
if [ "$served" = 1 ] && grep -q "rendering in this process" "$work"/err-*; then
  echo "some clients rendered themselves: $(grep -h "rendering in this process" "$work"/err-* | head -1)" >&2
  failed=1
fi

worst=0; failed=${failed:-0}
for i in $(seq "$n"); do
  ms=$(cat "$work/ms-$i")
  [ "$ms" -gt "$worst" ] && worst=$ms
  if ! cmp -s "$work/expected" "$work/out-$i"; then
    echo "process $i: output differs from a lone run: $(head -c 300 "$work/err-$i")" >&2
    failed=1
  fi
done
echo "$n processes: every output identical: $([ $failed = 0 ] && echo yes || echo NO)"
echo "lone run: ${single} ms (median of 5); slowest of $n concurrent: ${worst} ms ($(awk "BEGIN { printf \"%.1f\", $worst / ($single > 0 ? $single : 1) }")x)"
echo "CPU per render (user + system$([ "$served" = 1 ] && echo ", client and server")): $(( ($(children_cpu_ms "$work/lone-times") + server_lone) / 5 )) ms lone, $(( ($(children_cpu_ms "$work/concurrent-times") + server_concurrent) / n )) ms concurrent"
limit=$(( single * 4 ))
if [ "$failed" != 0 ] || [ "$worst" -gt "$limit" ]; then
  echo "FAILED: outputs must match and no process may take more than 4x the lone time (${limit} ms)" >&2
  exit 1
fi
echo "ok"
