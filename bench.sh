#!/usr/bin/env bash
# Benchmarks. Quick mode (default, about 40 minutes on 2 cores; the report says how long its run took):
# BenchmarkDotNet short runs of the hot paths, the whole-system CPU harness on whole captures, and short load runs
# (direct pipe against the cluster path, reconnects under drops, capacity steps within 60 s, then capacity steps
# with the external Node ws client within about 75 s each on the cluster path and the embedded default). --full: BenchmarkDotNet's default (longer,
# steadier) runs, whole captures, longer load runs and up to 10 minutes of capacity steps per table. Prints a
# markdown report and writes it, with the method, to docs/benchmarks.md. Installs ffmpeg, node and npm when missing.
#
# Failover gaps (a real Redis + 2 silos + 2 gateways cluster, four faults, $GAPS_RUNS runs each, default 10: about
# 25 minutes) run only when asked: --gaps adds them to the run, --gaps-only runs them alone and replaces only that
# section of docs/benchmarks.md. Without either, the previous "Failover gaps" section is kept as it was, with its
# own date. GAPS_RUNS=N changes the run count, GAPS_SCENARIOS=silo-kill,... the scenarios (default all four:
# silo-kill, silo-term, gateway-drain, ffmpeg-kill); GAPS_LOGS=DIR keeps the cluster's logs.
set -euo pipefail
cd "$(dirname "$0")"

mode=quick
gaps=keep
for arg in "$@"; do
  case "$arg" in
    --full) mode=full ;;
    --gaps) gaps=run ;;
    --gaps-only) gaps=only ;;
    *) echo "usage: $0 [--full] [--gaps | --gaps-only]" >&2; exit 2 ;;
  esac
done
gaps_runs=${GAPS_RUNS:-10}

need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
# The load run's external client (test/load-ws) is Node with the ws package.
if [[ $gaps != only ]]; then
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi
[[ $gaps != keep ]] && ! command -v redis-server >/dev/null 2>&1 && need+=(redis-server)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build LiveStream.sln -c Release -nologo -v quiet

bench=test/LiveStream.Benchmarks/bin/Release/net10.0/LiveStream.Benchmarks.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

machine() {
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores), memory $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- .NET SDK $(dotnet --version), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3)$(command -v redis-server >/dev/null 2>&1 && echo ", $(redis-server --version | cut -d' ' -f1-3)")"
}

# The "Failover gaps" section: measured now, or kept from the current report.
if [[ $gaps == keep ]]; then
  [[ -f docs/benchmarks.md ]] && sed -n '/^## Failover gaps/,$p' docs/benchmarks.md > "$work/gaps-section.md"
  touch "$work/gaps-section.md"
else
  echo "== failover gaps ($gaps_runs runs per scenario)"
  started=$(date +%s)
  # GAPS_LOGS=DIR keeps every process's log (with timed lines) for a look at a run.
  dotnet "$bench" gaps --runs "$gaps_runs" --out "$work/gaps.md" ${GAPS_LOGS:+--logs "$GAPS_LOGS"} ${GAPS_SCENARIOS:+--scenarios "$GAPS_SCENARIOS"}
  minutes=$(( ($(date +%s) - started + 30) / 60 ))
  {
    echo "## Failover gaps"
    echo
    echo "Written by \`./bench.sh $*\` on $(date -u +%Y-%m-%d) ($gaps_runs runs per scenario, $minutes min), on:"
    echo
    machine
    echo
    cat <<'METHOD'
How long output stops when a process of the cluster goes away, on real processes on loopback ports (the
end-to-end tests' `RedisCluster`): redis-server with append-only persistence (membership, grain storage, stream
leases), two silos, two stateless gateways (`HostSilo=false`) and real FFmpeg, all sharing one data folder.
Each run creates a fresh stream (HLS and archive outputs) and publishes a real browser capture over
`livestream.v1`, chunk by chunk at the times the browser produced them (`h264-opus-mkv`: H.264 passed
through, Opus to AAC). When the first chunk due at or
after 6 s is due, every earlier byte is acknowledged, FFmpeg runs and the playlist lists a segment, the harness
injects the fault, then sends that chunk. The publisher goes on as a browser client should: when its socket
closes it reconnects at once through the other gateway (then every 200 ms while refused, e.g. with 4503) and
resends from `hello.resumeFrom`; chunks that fell due meanwhile are sent as fast as the socket takes them.

1. **silo kill -9**: `kill -9` of the silo that the session's status names (`silo`). Its FFmpeg dies with it.
2. **silo SIGTERM**: graceful shutdown of that silo.
3. **gateway drain**: SIGTERM of the gateway carrying the publisher's socket; it closes the socket with 1012.
4. **FFmpeg kill -9**: `kill -9` of the session's FFmpeg (`ffmpeg.pid`); the session starts a new one.

A stopped silo or gateway is replaced by a new process after its run, so every run starts with two of each.
The fault's time is taken once the signal is delivered (the `kill` call has returned).

- **(a) ingest stall**: for each chunk due in the 5 s after the fault, the time from when it was due (or from the
  fault, if later) to the first acknowledgement that covers it: an `ack`, or a reconnect's `hello` whose
  `resumeFrom` is past it; (a) is the longest of these. The chunk due at the fault is sent right after it, so
  (a) is at least "fault → first acknowledgement of new bytes", and it also catches a stall that starts later,
  as in a graceful shutdown, where the old silo still acknowledges for a few hundred ms before it hands off.
- **(b) output flowing**: fault → the first segment listed in the session's playlist (`hls/{sessionId}/index.m3u8`,
  which FFmpeg renames into place) by the FFmpeg that replaced the stopped one (after an `#EXT-X-DISCONTINUITY`
  that was not there at the fault); for the gateway drain, where the session's FFmpeg goes on, the first segment
  listed after the fault. The playlist is polled every 20 ms. A segment ends at a keyframe (1 s apart in the
  capture) once it holds `HlsSegmentSeconds` (2 s), so a new FFmpeg needs about 2 s of media before its first
  segment. In the drain, FFmpeg can list a segment from media it had before the fault, so (b) can be shorter
  than (a) there.
- **ok run**: (a) and (b) seen, and nothing lost: every `hello` named the same session, the stream has that
  one session, `end` was answered with 1000, and `GET /api/sessions/{id}/archive` is the capture byte for
  byte (SHA-256). Median and max are over the ok runs; every run is listed with its notes below the table.

METHOD
    cat "$work/gaps.md"
    echo
  } > "$work/gaps-section.md"
fi

if [[ $gaps == only ]]; then
  touch docs/benchmarks.md
  rest=$(sed '/^## Failover gaps/,$d' docs/benchmarks.md)
  { [[ -n $rest ]] && printf '%s\n\n' "$rest"; cat "$work/gaps-section.md"; } > docs/benchmarks.md.new
  mv docs/benchmarks.md.new docs/benchmarks.md
  cat "$work/gaps-section.md"
  exit 0
fi

bench_started=$(date +%s)
echo "== micro-benchmarks ($mode)"
args=(micro --filter '*' --artifacts "$work/bdn")
[[ $mode == full ]] && args+=(--full)
dotnet "$bench" "${args[@]}"

echo "== whole-system CPU per stream"
# Whole captures in both modes: a 10 s stream carries a session's fixed costs (FFmpeg start-up, activation) over
# half the time, and the ratio is about a few thousandths of a core.
cpu_args=(cpu --out "$work/cpu.md" --ratios "$work/cpu-ratios.txt")
dotnet "$bench" "${cpu_args[@]}"

echo "== load"
# The external client's packages, exactly as package-lock.json pins them (no install scripts: ws loads bufferutil's
# prebuilt binary itself).
npm ci --prefix test/load-ws --ignore-scripts --no-audit --no-fund --loglevel=error
load_args=(load --out "$work/load.md" --cpu-ratios "$work/cpu-ratios.txt")
[[ $mode == full ]] && load_args+=(--full)
dotnet "$bench" "${load_args[@]}"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`./bench.sh\` ($mode mode, $(( ($(date +%s) - bench_started + 30) / 60 )) min without the failover gaps) on $(date -u +%Y-%m-%d). Every ratio compares figures measured in the same run."
  echo "Where the cost goes, and what would move the goals this run misses: [performance.md](performance.md)."
  echo
  echo "## Machine and versions"
  echo
  machine
  echo
  echo "## Hot paths (BenchmarkDotNet, in-process toolchain)"
  echo
  echo "\`ContainerReaderBenchmarks\` reads a whole capture (init segment and every MediaRecorder chunk, in the original"
  echo "chunk boundaries) with a sink that does nothing: MB/s = capture bytes / mean time. \`Allocated\` is per"
  echo "operation, so it includes the one-off init-segment parse; divide by the chunk count for a per-chunk figure."
  echo "\`IngestChunkBenchmarks\` is the gateway's per-chunk work: the real \`IngestConnection\` on a server WebSocket over"
  echo "in-memory pipes receives one masked \`livestream.v1\` message, reads its offset, awaits a stand-in grain that commits"
  echo "at once and sends the JSON ack (per chunk: time and bytes allocated). \`ChunkCopyBenchmarks\` is the chunk payload"
  echo "in Orleans' serializer: the deep copy of a local call for the \`[Immutable]\` \`ChunkWrite\` (none) against a mutable"
  echo "message with a \`byte[]\`, and the serialize + deserialize of a remote call (gateway → silo). \`SessionBufferBenchmarks\`"
  echo "is the session's offset bookkeeping and buffer: commit 16 × 64 KiB and drain."
  echo
  for f in "$work"/bdn/results/*-report-github.md; do
    sed -n '/^|/,$p' "$f"
    echo
  done
  echo "## Whole-system CPU per live stream"
  echo
  echo "One embedded LiveStream process (gateway and silo) receives a whole capture (20 s) at its recorded pace over a"
  echo "WebSocket with the default HLS output; its CPU time, FFmpeg included, is divided by the wall time. The floor"
  echo "is FFmpeg alone, reading the same bytes at the same pace from a pipe with the same arguments. The server is"
  echo "warm: each capture is first streamed once, unpaced, then both measured captures are streamed paced (four streams"
  echo "at once) in rounds until the tiered compiler's thread (\`.NET Tiered Com\` in /proc/PID/task) is quiet over a"
  echo "round. The first H.264 or VP8 session of a process JIT-compiles its code, and the tiered compiler then works on in"
  echo "the background for minutes at this pace (a method is recompiled once it has been called often enough, and a paced"
  echo "stream calls its per-chunk code a few times a second): per-thread CPU over paced 20 s H.264 streams on a fresh"
  echo "process put it at 1,000, 460, 360, 200, then 100-130 ms over the first seven streams and 0-20 ms after, and that"
  echo "start-up cost is not the cost of a stream on a server that has been running. The compiler's time during the"
  echo "measured streams is shown. Idle is then measured over 10 s, 10 s after the last warm-up stream ended. Each"
  echo "capture is then measured in three rounds, the whole system and FFmpeg alone alternating; the ratio is taken"
  echo "between the medians."
  echo
  cat "$work/cpu.md"
  echo
  echo "## Load"
  echo
  echo "\`LiveStream.Benchmarks load\` (the generator is \`test/Shared/Load\`; for a run of your own, \`LiveStream.Benchmarks"
  echo "loadgen\`, options in \`LoadGenCommand.cs\`): simulated publishers on loopback, one async socket each (no thread per"
  echo "publisher, one shared capture array, pooled send buffers), in the same process as the harness and on the same cores"
  echo "as the servers. The cluster path is a silo and a standalone gateway (\`HostSilo=false\`) as separate processes,"
  echo "localhost clustering, started with \`LiveStream__Admission__CapacityUnits=1000000\` and"
  echo "\`LiveStream__Ingest__ConnectionsPerWindow=1000000\`, logs at Warning; streams are created through"
  echo "\`POST /api/streams\` with the \`null\` output (\`archive\` where archives are checked). The direct pipe is this"
  echo "program's \`pipe\` verb: Kestrel, a WebSocket straight into the same sink, the same framing, trimming and acks, no Orleans."
  echo "Ack latency: a chunk's send → the first \`ack\` covering it."
  echo
  echo "Capacity is also measured with an external client, \`test/load-ws/load-ws.mjs\`, so the figures do not depend on"
  echo "one generator's shape: Node $(node --version 2>/dev/null || echo '(missing)') with the \`ws\` package and its native \`bufferutil\` masking, versions"
  echo "pinned in \`test/load-ws/package-lock.json\` (\`npm ci\` installs them), a process of its own on the same 2 cores, one"
  echo "socket per publisher, \`livestream.v1\` written from [protocol.md](protocol.md) without the project's code. It reads"
  echo "the ingest URLs from stdin (stream keys never go on a command line), prints JSON (ack p50/p95/p99/max, acked"
  echo "bytes, closes by kind, its own CPU) and stops by itself. Its CPU (utime + stime from /proc) is reported beside the"
  echo "servers'. For a run of your own: \`LiveStream.Benchmarks load --node-only [--node-steps-cluster 250,500]"
  echo "[--node-steps-embedded 500,1000]\`, or the script alone against any gateway (usage in its header)."
  echo
  cat "$work/load.md"
  if [[ -s "$work/gaps-section.md" ]]; then
    echo
    cat "$work/gaps-section.md"
  fi
} > docs/benchmarks.md.new
mv docs/benchmarks.md.new docs/benchmarks.md
cat docs/benchmarks.md
