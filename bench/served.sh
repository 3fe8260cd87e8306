#!/usr/bin/env bash
# The resident renderer beside jrsonnet, on the shared benchmark's app of N components:
# `kiln argocd generate` forwarded to a `kiln serve` (--server, as KILN_SERVER), the same command
# rendering in its own process, and jrsonnet, timed in one hyperfine run per size; then
# `perf stat` of each for CPU and page faults. The served CPU adds the server's own (read
# from /proc before and after), so it is the whole cost of a render, not the client's.
#
#   bench/served.sh                      # N = 1, 10, 100, 1000; the `dist` build
#   KILN=path/to/kiln bench/served.sh --sizes 1,10
#
# Needs the peers installed once ($BENCH_DIR/setup.sh, as bench/compare.sh), hyperfine and
# perf. Prints a Markdown table on stdout; progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_dir="$(cd "${BENCH_DIR:-../shared/bench}" && pwd)"
bench_work="${BENCH_WORK:-${TMPDIR:-/tmp}/kiln-bench}"
jrsonnet="$bench_work/cargo/bin/jrsonnet"
[ -x "$jrsonnet" ] || { echo "no jrsonnet at $jrsonnet: run $bench_dir/setup.sh" >&2; exit 2; }
sizes=1,10,100,1000
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

work="$(mktemp -d)"
if [ -n "${KILN:-}" ]; then
  install -m 0755 "$KILN" "$work/kiln"
else
  echo "== building kiln (dist profile)" >&2
  cargo build --profile dist -q
  # A copy, as bench/compare.sh measures (the page cache's large folios, see there).
  install -m 0755 target/dist/kiln "$work/kiln"
fi
kiln="$work/kiln"
export KILN_CACHE_DIR="$work/cache"
"$kiln" cache warm > /dev/null 2>&1
mkdir "$work/none"

"$kiln" serve --socket "$work/kiln.sock" -d "$work/none" 2> "$work/server.log" &
server=$!
trap 'kill "$server" 2> /dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/kiln.sock" ] && break; sleep 0.1; done
tck=$(getconf CLK_TCK)
server_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }

export ARGOCD_APP_NAME=webservice-app
"$bench_work/venv/bin/python" "$bench_dir/gen.py" "$work/inputs" $(tr , ' ' <<< "$sizes") > /dev/null

# hyperfine's median of the command named $2 in the export $1, in ms.
median() {
  "$bench_work/venv/bin/python" -c "import json, sys; r = {x['command']: x['median'] for x in json.load(open(sys.argv[1]))['results']}; print('%.2f' % (r[sys.argv[2]] * 1000))" "$1" "$2"
}

# `perf stat -r RUNS` of a command: "task-clock-ms page-faults".
perf_stat() {
  local runs=$1; shift
  perf stat -x, -r "$runs" -e task-clock,page-faults "$@" 2>&1 > /dev/null \
    | awk -F, '$3 == "task-clock" { t = $1 } $3 == "page-faults" { f = $1 } END { printf "%.2f %d", t, f }'
}

echo "| N | jrsonnet ms | in-process ms | served ms | served / jrsonnet | CPU ms: jrsonnet, in-process, served (client + server) | page faults: jrsonnet, in-process, served client |"
echo "|---:|---:|---:|---:|---:|---|---|"
for n in $(tr , ' ' <<< "$sizes"); do
  app="$work/app-$n"
  mkdir "$app"
  cp "$work/inputs/app-$n.yaml" "$app/app.yaml"
  cd "$app"
  jr=("$jrsonnet" -y --tla-code "app=importstr \"$work/inputs/app-$n.yaml\"" "$bench_dir/jsonnet/render.jsonnet")
  # Every way renders the same objects, or the timing means nothing.
  "${jr[@]}" > /dev/null
  here=$("$kiln" argocd generate -d "$work/none" | md5sum)
  served=$("$kiln" argocd generate --server "$work/kiln.sock" -d "$work/none" 2> "$work/client.err" | md5sum)
  if [ "$here" != "$served" ] || [ -s "$work/client.err" ]; then
    echo "N=$n: the served output differs or the client rendered itself: $(cat "$work/client.err")" >&2
    exit 1
  fi
  runs=$([ "$n" -ge 100 ] && echo 20 || echo 100)
  echo "== N=$n" >&2
  hyperfine -N --warmup 5 --runs "$runs" --export-json "$work/hf-$n.json" \
    -n jrsonnet "$(printf '%q ' "${jr[@]}")" \
    -n in-process "$kiln argocd generate -d $work/none" \
    -n served "$kiln argocd generate --server $work/kiln.sock -d $work/none" > /dev/null
  read -r jr_cpu jr_pf <<< "$(perf_stat "$runs" "${jr[@]}")"
  read -r ip_cpu ip_pf <<< "$(perf_stat "$runs" "$kiln" argocd generate -d "$work/none")"
  before=$(server_ticks)
  read -r sv_cpu sv_pf <<< "$(perf_stat "$runs" "$kiln" argocd generate --server "$work/kiln.sock" -d "$work/none")"
  server_ms=$(awk -v d=$(( $(server_ticks) - before )) -v t="$tck" -v r="$runs" 'BEGIN { printf "%.2f", d * 1000 / t / r }')
  jr_ms=$(median "$work/hf-$n.json" jrsonnet)
  ip_ms=$(median "$work/hf-$n.json" in-process)
  sv_ms=$(median "$work/hf-$n.json" served)
  ratio=$(awk -v a="$sv_ms" -v b="$jr_ms" 'BEGIN { printf "%.2f", a / b }')
  total=$(awk -v a="$sv_cpu" -v b="$server_ms" 'BEGIN { printf "%.2f", a + b }')
  echo "| $n | $jr_ms | $ip_ms | $sv_ms | ${ratio}× | $jr_cpu, $ip_cpu, $total ($sv_cpu + $server_ms) | $jr_pf, $ip_pf, $sv_pf |"
  cd - > /dev/null
done
