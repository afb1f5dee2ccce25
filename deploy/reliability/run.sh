#!/usr/bin/env bash
# Regenerates the figures of docs/reliability.md's "Chaos" and "Load and soak" sections: runs the full forms of
# the chaos suite (six faults), the load test (10,000 requests at 256 concurrency) and the soak (30 minutes;
# DEEPDEPLOY_SOAK_MINUTES overrides) on a throwaway PostgreSQL, and puts each suite's table between its
# <!-- generated:NAME --> markers. The tables are written even when a suite fails (they are the findings); the
# exit status is the tests'. About 40 minutes on 2 cores. Name suites to run only those (chaos, load, soak,
# failover: a GPU host SIGKILLed, its deployment serving again from the other node).
#
#   bash deploy/reliability/run.sh                 # all four
#   bash deploy/reliability/run.sh chaos failover  # only these
set -euo pipefail
cd "$(dirname "$0")/../.."

suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(chaos load soak failover)
filter=""
for name in "${suites[@]}"; do
  case "$name" in
    chaos) clause="Category=Chaos" ;;
    load) clause="Category=Load" ;;
    soak) clause="Category=Soak" ;;
    failover) clause="FullyQualifiedName~NodeFailoverTests" ;;
    *) echo "unknown suite '$name' (chaos, load, soak, failover)" >&2; exit 2 ;;
  esac
  filter="${filter:+$filter|}$clause"
done

out=$(mktemp -d /tmp/deepdeploy-reliability.XXXXXX)
pg=$(mktemp -d /tmp/deepdeploy-reliability-pg.XXXXXX)
trap 'bash deploy/postgres/throwaway.sh stop "$pg" >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
connection=$(bash deploy/postgres/throwaway.sh start "$pg")
export DEEPDEPLOY_TEST_POSTGRES="${connection##*$'\n'}"
export DEEPDEPLOY_RELIABILITY_OUT="$out" DEEPDEPLOY_CHAOS=full \
  DEEPDEPLOY_LOAD_REQUESTS="${DEEPDEPLOY_LOAD_REQUESTS:-10000}" DEEPDEPLOY_LOAD_CONCURRENCY="${DEEPDEPLOY_LOAD_CONCURRENCY:-256}" \
  DEEPDEPLOY_SOAK_MINUTES="${DEEPDEPLOY_SOAK_MINUTES:-30}"

dotnet build tests -v q
status=0
dotnet test tests --no-build --filter "$filter" --logger "console;verbosity=normal" || status=$?

doc=docs/reliability.md
for name in "${suites[@]}"; do
  [ -f "$out/$name.md" ] || { echo "no $name table: the suite did not get that far" >&2; continue; }
  awk -v begin="<!-- generated:$name -->" -v end="<!-- /generated:$name -->" -v table="$out/$name.md" '
    $0 == begin { print; while ((getline line < table) > 0) print line; skipping = 1; next }
    $0 == end { skipping = 0 }
    !skipping { print }' "$doc" > "$doc.new"
  mv "$doc.new" "$doc"
done
echo "tables written to $doc"
exit "$status"
