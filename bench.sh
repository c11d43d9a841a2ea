#!/usr/bin/env bash
# Benchmarks. Quick mode (default, a few minutes on 2 cores): BenchmarkDotNet short runs of the hot paths and the
# whole-system CPU harness. --full: BenchmarkDotNet's default (longer, steadier) runs. Prints a markdown report and
# writes it, with the method, to docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")"

mode=quick
[[ "${1:-}" == "--full" ]] && mode=full

if ! command -v ffmpeg >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build LiveStream.sln -c Release -nologo -v quiet

bench=test/LiveStream.Benchmarks/bin/Release/net10.0/LiveStream.Benchmarks.dll
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== micro-benchmarks ($mode)"
args=(micro --filter '*' --artifacts "$work/bdn")
[[ $mode == full ]] && args+=(--full)
dotnet "$bench" "${args[@]}"

echo "== whole-system CPU per stream"
dotnet "$bench" cpu --out "$work/cpu.md"

{
  echo "# Benchmarks"
  echo
  echo "Written by \`./bench.sh\` ($mode mode) on $(date -u +%Y-%m-%d). Every ratio compares figures measured in the same run."
  echo
  echo "## Machine and versions"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs) ($(nproc) cores), memory $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- .NET SDK $(dotnet --version), $(ffmpeg -version | head -n1 | cut -d' ' -f1-3)"
  echo
  echo "## Hot paths (BenchmarkDotNet, in-process toolchain)"
  echo
  echo "\`ContainerReaderBenchmarks\` reads a whole capture (init segment and every MediaRecorder chunk, in the original"
  echo "chunk boundaries) with a sink that does nothing: MB/s = capture bytes / mean time. \`Allocated\` is per"
  echo "operation, so it includes the one-off init-segment parse; divide by the chunk count for a per-chunk figure."
  echo
  for f in "$work"/bdn/results/*-report-github.md; do
    sed -n '/^|/,$p' "$f"
    echo
  done
  echo "## Whole-system CPU per live stream"
  echo
  echo "One embedded LiveStream process (gateway and silo) receives a 20 s capture at its recorded pace over a"
  echo "WebSocket with the default HLS output; its CPU time, FFmpeg included, is divided by the wall time. The floor"
  echo "is FFmpeg alone, reading the same capture at the same pace from a pipe with the same arguments."
  echo
  cat "$work/cpu.md"
} > docs/benchmarks.md.new
mv docs/benchmarks.md.new docs/benchmarks.md
cat docs/benchmarks.md
