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
  results=$(mktemp -d)
  if ! dotnet test "$project" -c "$configuration" --no-build --nologo \
      --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" --results-directory "$results"; then
    status=1
  fi
  trx="$results/results.trx"
  if [[ ! -f "$trx" ]]; then
    echo "no test results for $project"
    failed=$((failed + 1))
    status=1
  else
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    count() { sed -E "s/.* $1=\"([0-9]+)\".*/\1/" <<<"$counters"; }
    p=$(count passed); f=$(count failed); t=$(count total); e=$(count executed)
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + t - e))
    if ((t == 0)); then echo "$project ran no test"; status=1; fi
  fi
  rm -rf "$results"
done

echo "$passed passed, $failed failed, $skipped skipped"
if ((failed > 0)); then status=1; fi
exit "$status"
