#!/usr/bin/env bash
# Runs every test. Installs what the tests need (ffmpeg, redis-server, chromium, prometheus) when missing; each test suite starts and
# stops its own processes on loopback ports it chooses. Ends with a plain line: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ffprobe >/dev/null 2>&1 || need+=(ffmpeg)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# The monitoring test evaluates the Grafana dashboard's queries in a real Prometheus.
command -v prometheus >/dev/null 2>&1 || need+=(prometheus)
# The browser end-to-end tests drive Chromium over the DevTools protocol: LIVESTREAM_CHROMIUM, else chromium or
# chromium-browser on PATH, else Debian's package is installed.
if [[ -z "${LIVESTREAM_CHROMIUM:-}" ]]; then
  LIVESTREAM_CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
fi
[[ -n "${LIVESTREAM_CHROMIUM:-}" && -x "$LIVESTREAM_CHROMIUM" ]] || need+=(chromium)
command -v node >/dev/null 2>&1 || need+=(nodejs)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }; then
    echo "could not install ${need[*]} with apt-get; install them (or set LIVESTREAM_CHROMIUM) and run again" >&2
    exit 1
  fi
  LIVESTREAM_CHROMIUM=${LIVESTREAM_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
fi
export LIVESTREAM_CHROMIUM

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
configuration=Release
dotnet build LiveStream.sln -c "$configuration" -nologo -v quiet

passed=0
failed=0
skipped=0
status=0
# Failed tests with the first lines of their messages, repeated at the end so that the last lines of the output say
# what failed without scrolling back through the suites.
failures=$(mktemp)
trap 'rm -f "$failures"' EXIT
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
    if ((f > 0)); then
      # One UnitTestResult element per test; a failed one carries <Message> under <ErrorInfo>.
      awk -v project="$project" '
        /<UnitTestResult / && /outcome="Failed"/ {
          match($0, /testName="[^"]*"/); name = substr($0, RSTART + 10, RLENGTH - 11)
          print "FAILED " project ": " name; inmsg = 0; shown = 0; next }
        /<Message>/ && name != "" { inmsg = 1; sub(/.*<Message>/, "") }
        inmsg { line = $0; done = sub(/<\/Message>.*/, "", line); if (shown++ < 12) print "    " line; if (done) { inmsg = 0; name = "" } }
      ' "$trx" >>"$failures"
    fi
  fi
  rm -rf "$results"
done

# The browser client's pure logic (queue, offsets, backoff, codec choice) and the external load client's framing and
# ack bookkeeping (test/load-ws, no npm install needed) under Node's built-in test runner.
echo "== test/client, test/load-ws (node --test)"
if ! command -v node >/dev/null 2>&1; then
  echo "node is missing: the client's unit tests did not run"
  failed=$((failed + 1))
  status=1
else
  node_out=$(mktemp)
  # Files, not a folder (a folder argument works on Node 20 only); --test-timeout where this Node has it (not 18).
  node_args=(--test --test-reporter=tap)
  node --help | grep -q -- --test-timeout && node_args+=(--test-timeout=60000)
  if ! node "${node_args[@]}" test/client/*.test.mjs test/load-ws/*.test.mjs 2>&1 | tee "$node_out"; then
    status=1
  fi
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$node_out" | tail -1)
  f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$node_out" | tail -1)
  s=$(sed -nE 's/^# skipped ([0-9]+)$/\1/p' "$node_out" | tail -1)
  rm -f "$node_out"
  if [[ -z "$p" ]]; then
    echo "no test results for test/client"
    failed=$((failed + 1))
    status=1
  else
    passed=$((passed + p)); failed=$((failed + ${f:-0})); skipped=$((skipped + ${s:-0}))
    if ((p + ${f:-0} == 0)); then echo "test/client ran no test"; status=1; fi
  fi
fi

if [[ -s "$failures" ]]; then
  echo "== failed tests"
  sed -e 's/&quot;/"/g' -e "s/&apos;/'/g" -e 's/&lt;/</g' -e 's/&gt;/>/g' -e 's/&amp;/\&/g' "$failures"
fi
echo "$passed passed, $failed failed, $skipped skipped"
if ((failed > 0)); then status=1; fi
exit "$status"
