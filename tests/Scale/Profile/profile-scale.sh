#!/bin/bash
# Runs the control-plane scale benchmark (built: dotnet build tests -c Release) and samples its thread stacks with
# dotnet-trace (dotnet tool install --global dotnet-trace) through the create storm (DEPLOYMENTS/20 s) and the steady
# state (9 s). Then: python3 tests/Scale/Profile/cpu_by_subsystem.py OUTDIR/storm.speedscope.json (docs/control-plane.md).
# usage: tests/Scale/Profile/profile-scale.sh NODES DEPLOYMENTS OUTDIR [timeout seconds]; PROFILE=0 runs without tracing.
set -u
N=$1; D=$2; OUT=$(realpath -m "$3"); TO=${4:-900}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TRACE=${DOTNET_TRACE:-$HOME/.dotnet/tools/dotnet-trace}
mkdir -p "$OUT"; rm -f "$OUT/phases"
cd "$ROOT"
DEEPDEPLOY_BENCH=1 DEEPDEPLOY_SCALE_NODES=$N DEEPDEPLOY_SCALE_DEPLOYMENTS=$D DEEPDEPLOY_SCALE_RATE=20 DEEPDEPLOY_SCALE_PHASES="$OUT/phases" \
  timeout "$TO" dotnet test tests -c Release --no-build --filter FullyQualifiedName~ControlPlaneScaleBenchmark --logger "console;verbosity=detailed" > "$OUT/bench.log" 2>&1 &
BENCH=$!
while [ ! -s "$OUT/phases" ] && kill -0 $BENCH 2>/dev/null; do sleep 0.5; done
PID=$(pgrep -f "$ROOT/tests/bin/Release/net10.0/DeepDeploy.Tests.runtimeconfig" | head -1)
uptime > "$OUT/uptime-storm"
if [ "${PROFILE:-1}" = 1 ] && [ -n "$PID" ]; then
  SECS=$((D / 20))
  timeout $((SECS + 60)) "$TRACE" collect -p "$PID" --profile dotnet-sampled-thread-time --duration "00:00:$(printf %02d:%02d $((SECS / 60)) $((SECS % 60)))" \
    -o "$OUT/storm.nettrace" --format Speedscope > "$OUT/trace-storm.log" 2>&1
  while ! grep -q steady "$OUT/phases" && kill -0 $BENCH 2>/dev/null; do sleep 0.5; done
  uptime > "$OUT/uptime-steady"
  timeout 70 "$TRACE" collect -p "$PID" --profile dotnet-sampled-thread-time --duration 00:00:00:09 -o "$OUT/steady.nettrace" --format Speedscope > "$OUT/trace-steady.log" 2>&1
fi
wait $BENCH; echo "benchmark exit $?"; uptime
