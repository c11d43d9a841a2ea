#!/usr/bin/env bash
# A real multi-process LiveStream cluster on this machine: redis-server (append-only persistence), N silos and
# M gateways on loopback ports, Redis clustering and Redis grain storage. Stops exactly the processes it started.
#
#   deploy/local-cluster.sh up|down|status
#
# Environment: SILOS (2), GATEWAYS (2), REDIS_PORT (6390), LIVESTREAM_CLUSTER_DIR (deploy/.local-cluster).
# Ports: gateways 8080, 8081, ...; silo HTTP (/health/*) 9100, 9101, ...; silo-to-silo 11111, 11112, ...;
# silo gateway (Orleans client) ports 30000, 30001, ... Every LiveStream__* variable (LiveStream__AdminToken ...)
# passes through to every process.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${LIVESTREAM_CLUSTER_DIR:-$root/deploy/.local-cluster}"
silos="${SILOS:-2}"
gateways="${GATEWAYS:-2}"
redis_port="${REDIS_PORT:-6390}"
redis="127.0.0.1:${redis_port}"

start() { # name, then the command
  local name=$1; shift
  "$@" >"$state/$name.log" 2>&1 &
  echo $! >"$state/$name.pid"
  echo "started $name (pid $!)"
}

wait_http() { # url
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "not ready: $1" >&2
  return 1
}

up() {
  mkdir -p "$state/redis" "$state/data"
  command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server >/dev/null; }
  command -v ffmpeg >/dev/null || { apt-get update -qq && apt-get install -y -qq ffmpeg >/dev/null; }
  dotnet build "$root/LiveStream.sln" -c Release -nologo -v quiet
  if [[ -z "${LiveStream__AdminToken:-}" ]]; then
    LiveStream__AdminToken=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    export LiveStream__AdminToken
    echo "admin token (generated): $LiveStream__AdminToken"
  fi

  start redis redis-server --port "$redis_port" --bind 127.0.0.1 --appendonly yes --dir "$state/redis" --save ""
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

  local common=(--ConnectionStrings:Redis="$redis" --LiveStream:DataPath="$state/data")
  for ((i = 0; i < silos; i++)); do
    start "silo$i" dotnet "$root/src/Silo/bin/Release/net10.0/LiveStream.Silo.dll" "${common[@]}" \
      --urls "http://127.0.0.1:$((9100 + i))" \
      --LiveStream:Cluster:SiloPort=$((11111 + i)) --LiveStream:Cluster:GatewayPort=$((30000 + i))
  done
  for ((i = 0; i < silos; i++)); do wait_http "http://127.0.0.1:$((9100 + i))/health/ready"; done

  for ((i = 0; i < gateways; i++)); do
    start "gateway$i" dotnet "$root/src/Gateway/bin/Release/net10.0/LiveStream.Gateway.dll" "${common[@]}" \
      --urls "http://127.0.0.1:$((8080 + i))" --LiveStream:Gateway:HostSilo=false
  done
  for ((i = 0; i < gateways; i++)); do wait_http "http://127.0.0.1:$((8080 + i))/health/ready"; done
  status
}

down() {
  shopt -s nullglob
  for pidfile in "$state"/gateway*.pid "$state"/silo*.pid "$state"/redis.pid; do
    local pid name
    pid=$(cat "$pidfile"); name=$(basename "$pidfile" .pid)
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"
      for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
      echo "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
  done
}

status() {
  shopt -s nullglob
  for pidfile in "$state"/*.pid; do
    local pid name health=""
    pid=$(cat "$pidfile"); name=$(basename "$pidfile" .pid)
    case $name in
      silo*) health=$(curl -fsS "http://127.0.0.1:$((9100 + ${name#silo}))/health/ready" 2>/dev/null || echo down) ;;
      gateway*) health=$(curl -fsS "http://127.0.0.1:$((8080 + ${name#gateway}))/health/ready" 2>/dev/null || echo down) ;;
      redis) health=$(redis-cli -p "$redis_port" ping 2>/dev/null || echo down) ;;
    esac
    if kill -0 "$pid" 2>/dev/null; then echo "$name pid $pid: $health"; else echo "$name pid $pid: not running"; fi
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
