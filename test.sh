#!/usr/bin/env bash
# Runs every test. Installs what the tests need (ffmpeg, redis-server) when missing; each test suite starts and
# stops its own processes on loopback ports it chooses. Ends with a plain line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration=Release
dotnet build LiveStream.sln -c "$configuration" -nologo -v quiet

passed=0
failed=0
skipped=0
status=0
# Suites run one after another: the end-to-end suite starts real silos, gateways and FFmpeg on a 2-core machine.
for project in test/LiveStream.Grains.Tests test/LiveStream.Gateway.Tests test/LiveStream.EndToEnd.Tests; do
  echo "== $project"
  log=$(mktemp)
  if ! dotnet test "$project" -c "$configuration" --no-build --nologo --logger "console;verbosity=normal" 2>&1 | tee "$log"; then
    status=1
  fi
  # vstest summary: "Failed!  - Failed: 1, Passed: 9, Skipped: 0, Total: 10, Duration: ..."
  summary=$(grep -E '^(Passed|Failed)!' "$log" | tail -n 1 || true)
  if [[ -z "$summary" ]]; then
    echo "no test summary for $project"
    failed=$((failed + 1))
    status=1
  else
    p=$(sed -E 's/.*Passed: *([0-9]+).*/\1/' <<<"$summary")
    f=$(sed -E 's/.*Failed: *([0-9]+).*/\1/' <<<"$summary")
    s=$(sed -E 's/.*Skipped: *([0-9]+).*/\1/' <<<"$summary")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
  fi
  rm -f "$log"
done

echo "$passed passed, $failed failed, $skipped skipped"
if ((failed > 0)); then status=1; fi
exit "$status"
