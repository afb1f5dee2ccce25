#!/usr/bin/env bash
# Runs every benchmark of the project in turn (one Release build first) and writes one results file,
# bench-results/summary.md: each benchmark's figures and ratios under its target, with the date, the machine and the
# commit. Each benchmark's own output stays in bench-results/<name>.txt (or .md), its full log in bench-results/logs/.
#
#   bash deploy/bench/run.sh                  # everything, full length (hours; run it on a quiet machine)
#   bash deploy/bench/run.sh --quick          # short durations and sizes: a smoke run, its figures are not results
#   bash deploy/bench/run.sh --only reaction,simulation     # a subset (--skip NAME,... leaves some out)
#   bash deploy/bench/run.sh --list           # the benchmarks, their targets and commands
#   bash deploy/bench/run.sh --collect-only   # rewrite summary.md from what bench-results/ holds
# Other options: --no-build (use the last Release build), --results DIR (with --collect-only: where to read and write).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
results="$root/bench-results"
quick=0 build=1 collect_only=0 list=0 only="" skip=""

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --collect-only) collect_only=1 ;;
    --list) list=1 ;;
    --only) only="${2:?--only needs a list of names}"; shift ;;
    --skip) skip="${2:?--skip needs a list of names}"; shift ;;
    --results) results="${2:?--results needs a directory}"; shift ;;
    -h|--help) usage 0 ;;
    *) echo "unknown option: $1" >&2; usage 2 >&2 ;;
  esac
  shift
done

# name | what runs (a test class of tests/, or a command) | the target(s) it is judged against
# Targets are the issues' (4, 16, 17, 18); "none set" where no issue set one.
benchmarks=(
  "gateway|test:DeepDeploy.Tests.Gateway.GatewayBenchmark|c=64: gateway ≥ 1.0× nginx and ≥ 0.5× direct req/s, p99 added ≤ 2 ms over direct; c=1: p99 added ≤ 1 ms, no stall > 10 ms in 60 s; skewed load: p99 ≤ 0.5× round-robin (issue 17)"
  "routing-decision|tail|one routing decision p99 ≤ 20 µs with 64 instances (issue 17)"
  "routing-prefix|test:DeepDeploy.Tests.Routing.PrefixRoutingBenchmark|prefix+load p90 TTFT ≤ 0.2× least-loaded at equal or higher throughput (issue 18)"
  "autoscaler|test:DeepDeploy.Tests.Cluster.AutoscalerBenchmark|GPU-seconds ≤ 1.15× the oracle's with ≤ 1 % of requests over the SLO (issue 16)"
  "reaction|test:DeepDeploy.Tests.Autoscale.ReactionBenchmark|queue build-up → scale decision ≤ 1 s (issue 16)"
  "scale|test:DeepDeploy.Tests.Scale.ControlPlaneScaleBenchmark|at 1,000 nodes × 8 GPUs, 2,000 deployments, 20 gateways: placement p99 ≤ 20 ms, create → scheduled p99 ≤ 100 ms, route change → all gateways p99 ≤ 1 s (issue 16)"
  "worker|test:DeepDeploy.Tests.Worker.WorkerBenchmark|none set (tokens/s at 1 and 4 concurrent requests, and their ratio)"
  "worker-batching|test:DeepDeploy.Tests.Worker.BatchingBenchmark|8 live sequences ≥ 2× one sequence's tokens/s; worker ≥ 0.9× a minimal LLamaSharp loop (issue 18)"
  "worker-prefix-cache|test:DeepDeploy.Tests.Worker.PrefixCacheBenchmark|none set (TTFT with the prefix cache against without, same run)"
  "deploy|test:DeepDeploy.Tests.EndToEnd.DeployBenchmark|none set (POST /deploy/llm → running, against starting the worker by hand)"
  "weights|test:DeepDeploy.Tests.Weights.WeightsBenchmark|none set (download MiB/s against curl on loopback; time a cache hit saves)"
  "simulation|simulation|at 1,000 nodes × 8 GPUs, 2,000 deployments, 20 gateways: placement p99 ≤ 20 ms, create → scheduled p99 ≤ 100 ms, route change → all gateways p99 ≤ 1 s (issue 16)"
)

names=() kinds=() targets=()
for b in "${benchmarks[@]}"; do
  IFS='|' read -r n k t <<<"$b"
  names+=("$n") kinds+=("$k") targets+=("$t")
done

in_list() { [[ ",$2," == *",$1,"* ]]; }

selected() {
  local name=$1
  if [ -n "$only" ] && ! in_list "$name" "$only"; then return 1; fi
  if [ -n "$skip" ] && in_list "$name" "$skip"; then return 1; fi
  return 0
}

known=$(IFS=,; echo "${names[*]}")
for name in ${only//,/ } ${skip//,/ }; do
  in_list "$name" "$known" || { echo "unknown benchmark: $name (known: $known)" >&2; exit 2; }
done

# The environment and the command line of one benchmark, full or quick.
quick_env() {
  case "$1" in
    gateway) echo "DEEPDEPLOY_BENCH_C1_SECONDS=2 DEEPDEPLOY_BENCH_PROXY_RUNS=1 DEEPDEPLOY_BENCH_SKEW_RUNS=0" ;;
    routing-prefix) echo "DEEPDEPLOY_BENCH_ROUTING_QUICK=1" ;;
    scale) echo "DEEPDEPLOY_SCALE_NODES=40 DEEPDEPLOY_SCALE_DEPLOYMENTS=40 DEEPDEPLOY_SCALE_GATEWAYS=4 DEEPDEPLOY_SCALE_RATE=10" ;;
  esac
}

# The garbage collector of the process the control plane runs in: the shipped silo runs server GC (Web SDK), the test
# host workstation GC (at 1,000 nodes: 2,000 gen-0 collections and 7.7 s paused in 100 s, against 2.5 s with server GC).
full_env() {
  case "$1" in
    scale) echo "DOTNET_gcServer=1" ;;
  esac
}

command_of() {
  local name=$1 kind=$2
  case "$kind" in
    test:*) echo "DEEPDEPLOY_BENCH=1 $( [ $quick = 1 ] && quick_env "$name" || full_env "$name") dotnet test tests -c Release --no-build --filter FullyQualifiedName~${kind#test:} --logger \"console;verbosity=detailed\"" | tr -s ' ' ;;
    tail) echo "dotnet run -c Release --no-build --project benchmarks/DeepDeploy.Benchmarks -- --tail $( [ $quick = 1 ] && echo 100000 || echo 1000000)" ;;
    simulation)
      if [ $quick = 1 ]; then
        echo "dotnet run -c Release --no-build --project tests/DeepDeploy.Simulation -- --silos 2 --nodes 20 --deployments 50 --gateways 2 --minutes 1 --compression 30 --out bench-results/simulation"
      else
        echo "dotnet run -c Release --no-build --project tests/DeepDeploy.Simulation -- --silos 4 --nodes 1000 --gpus-per-node 8 --deployments 2000 --gateways 20 --minutes 2 --compression 2 --rate 60 --sample-seconds 10 --heartbeats false --out bench-results/simulation"
      fi ;;
  esac
}

if [ $list = 1 ]; then
  for i in "${!names[@]}"; do
    selected "${names[$i]}" || continue
    printf '%s\n  target: %s\n  command: %s\n' "${names[$i]}" "${targets[$i]}" "$(command_of "${names[$i]}" "${kinds[$i]}")"
  done
  exit 0
fi

# The results files of a benchmark, the first its main one: what it writes itself (bench-results/*.txt, the
# simulation's summary.md); for a test that only prints, the script writes its test output there.
result_files() {
  case "$1" in
    gateway) echo "$results/gateway.txt $results/gateway-telemetry.txt" ;;
    simulation) echo "$results/simulation/summary.md" ;;
    *) echo "$results/$1.txt" ;;
  esac
}

# What the benchmark printed to its test output, from a detailed `dotnet test` log: the lines after "Standard Output
# Messages:" up to the next test's result line or the run's closing lines, without the blank lines that close it.
test_output() {
  awk '/^ *Standard Output Messages:/ { on = 1; blank = 0; next }
       on && /^ *(Passed|Failed|Skipped) [A-Za-z]|^ *(Test Run|Total tests|Results File)|^(Passed|Failed)!/ { on = 0 }
       on && /^ *$/ { blank++; next }
       on { while (blank > 0) { print ""; blank-- } sub(/^ /, ""); print }' "$1"
}

run_one() {
  local name=$1 kind=$2 log="$results/logs/$1.log" status started seconds limit
  limit=$([ $quick = 1 ] && echo 900 || echo 7200)
  mkdir -p "$results/logs"
  echo "== $name: $(command_of "$name" "$kind")"
  started=$(date +%s)
  # Figures of an earlier run never pass for this one's.
  rm -f $(result_files "$name")
  status=0
  (cd "$root" && timeout --kill-after=30 "$limit" bash -c "$(command_of "$name" "$kind")") >"$log" 2>&1 || status=$?
  seconds=$(( $(date +%s) - started ))
  if [[ "$kind" == test:* ]] && grep -qE '^ *Skipped ' "$log" && ! grep -qE '^ *(Passed|Failed) ' "$log"; then status=skipped; fi
  case "$status" in
    0) status=ok ;;
    124|137) status="timed out after ${limit} s" ;;
    skipped) ;;
    *) status="failed (exit $status; see logs/$name.log)" ;;
  esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$seconds" "$(date -u +%FT%TZ)" >>"$results/status.tsv"
  echo "   $status in ${seconds} s"
}

machine() {
  local cpu cores mem
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
  cores=$(nproc 2>/dev/null || echo '?')
  mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null || true)
  echo "${cpu:-unknown CPU}, ${cores} cores, ${mem:-? GiB} RAM, $(uname -sr)"
}

collect() {
  local out="$results/summary.md" commit mode started name files main log shown file i
  local -A status=() seconds=()
  if [ -e "$results/status.tsv" ]; then
    while IFS=$'\t' read -r name s t _; do status[$name]=$s; seconds[$name]=$t; done <"$results/status.tsv"
  fi
  commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit (with uncommitted changes)"; fi
  mode=$(cat "$results/mode" 2>/dev/null || echo unknown)
  started=$(cat "$results/started" 2>/dev/null || echo unknown)
  [ "$mode" = quick ] && quick=1
  {
    echo "# DeepDeploy benchmarks"
    echo
    echo "- date: $started (started), $(date -u '+%F %T UTC') (summary written)"
    echo "- commit: $commit"
    echo "- machine: $(machine); load average at the end $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
    echo "- .NET SDK: $(dotnet --version 2>/dev/null || echo '?'); mode: $mode"
    [ "$mode" = quick ] && echo "- **Quick run**: short durations and sizes to check that every benchmark runs; its figures are not results."
    echo "- command: \`bash deploy/bench/run.sh$( [ "$mode" = quick ] && echo ' --quick')\`; each benchmark's full log is in \`bench-results/logs/\`."
    echo
    echo "| benchmark | target | status | time (s) |"
    echo "|---|---|---|---|"
    for i in "${!names[@]}"; do
      name=${names[$i]}
      echo "| [$name](#$name) | ${targets[$i]} | ${status[$name]:-not run} | ${seconds[$name]:-} |"
    done
    for i in "${!names[@]}"; do
      name=${names[$i]}
      files=$(result_files "$name")
      main=${files%% *}
      log="$results/logs/$name.log"
      echo
      echo "## $name"
      echo
      echo "Target: ${targets[$i]}"
      echo
      echo "Command: \`$(command_of "$name" "${kinds[$i]}")\`"
      if [ -z "${status[$name]:-}" ]; then
        printf '\nNot run in this invocation.\n'
        continue
      fi
      # A benchmark that only prints leaves its figures in its log: they become its results file.
      if [ ! -e "$main" ] && [ -s "$log" ]; then
        case "${kinds[$i]}" in
          test:*) test_output "$log" >"$main" ;;
          tail) cp "$log" "$main" ;;
        esac
      fi
      shown=0
      for file in $files; do
        [ -s "$file" ] || continue
        shown=1
        echo
        if [[ "$file" == *.md ]]; then
          # The simulation's own markdown summary, its headings moved under this one and its charts' links
          # made relative to bench-results/.
          sed -e 's/^#/###/' -e "s|](\([^/)]*\.png\))|](${file%/*}/\1)|; s|](${results}/|](|" "$file"
        else
          echo "\`${file#"$results"/}\`:"
          echo
          echo '```text'
          cat "$file"
          echo '```'
        fi
      done
      [ $shown = 1 ] || printf '\nNo figures (it wrote nothing: see its log).\n'
    done
  } >"$out"
  echo "wrote $out"
}

mkdir -p "$results"
if [ $collect_only = 0 ]; then
  if [ $build = 1 ]; then
    echo "== building Release (once)"
    dotnet build "$root/Orleans.DeepDeploy.sln" -c Release -v q
  fi
  : >"$results/status.tsv"
  date -u '+%F %T UTC' >"$results/started"
  [ $quick = 1 ] && echo quick >"$results/mode" || echo full >"$results/mode"
  for i in "${!names[@]}"; do
    selected "${names[$i]}" || continue
    run_one "${names[$i]}" "${kinds[$i]}"
  done
fi
collect
