#!/usr/bin/env bash
# Builds and starts the embedded default: one process hosting a silo and the gateway, localhost clustering,
# state in files under the data folder, local HLS output under ./data. Gateway on http://127.0.0.1:8080 unless --urls or
# ASPNETCORE_URLS says otherwise. Prints the admin token once when it generates one.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "installing ffmpeg"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Gateway/LiveStream.Gateway.csproj -c Release -nologo -v quiet

args=("$@")
url="${ASPNETCORE_URLS:-http://127.0.0.1:8080}"
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[$i]}" == "--urls" && $((i + 1)) -lt ${#args[@]} ]]; then url="${args[$((i + 1))]}"; fi
  if [[ "${args[$i]}" == --urls=* ]]; then url="${args[$i]#--urls=}"; fi
done
if [[ -n "${ASPNETCORE_URLS:-}" ]]; then args+=(--urls "$ASPNETCORE_URLS"); fi
# Prometheus' /metrics on a port of its own, never on the public one (LiveStream:Gateway:MetricsUrl to change it).
metrics="http://127.0.0.1:9464"
for arg in "${args[@]}"; do
  if [[ "$arg" == --LiveStream:Gateway:MetricsUrl* ]]; then metrics=""; fi
done
if [[ -n "$metrics" && -z "${LiveStream__Gateway__MetricsUrl:-}" ]]; then args+=("--LiveStream:Gateway:MetricsUrl=$metrics"); fi

echo "LiveStream gateway: $url (ingest: ${url/http/ws}/stream/live/{streamKey}, API: $url/api/streams${metrics:+, metrics: $metrics/metrics})"
exec dotnet src/Gateway/bin/Release/net10.0/LiveStream.Gateway.dll --LiveStream:DataPath="${LIVESTREAM_DATA:-$PWD/data}" "${args[@]}"
