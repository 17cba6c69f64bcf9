#!/usr/bin/env bash
# Takes the WebSocket figures of docs/BENCHMARKS.md ("The web: WebSocket") in one run:
# fan-out to WebSocket clients against plain TCP clients of the same mio server, and memory
# per idle connection of each kind at 10,000. Every measurement gets a fresh server (release
# build, flood control off) loaded by chat-load from another process; the fan-out runs go
# round ROUNDS times, interleaved, and the median of each is printed, so that the ratio
# comes from one sitting on a noisy machine. The server is pinned to one core and the load
# to the other, as in tls-compare.sh. Needs ~20,000 open files per process.
#
#   bash chat-load/web-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-27480}
WEB_PORT=$((PORT + 1))
cargo build --release --workspace --quiet
SERVER=target/release/chat-tokio-stream
LOAD="taskset -c 1 target/release/chat-load"
ON_SERVER_CORE="taskset -c 0"
ulimit -n "$(ulimit -Hn)"

# Starts the chat server (the only kind here); sets SERVER_PID.
start() {
    $ON_SERVER_CORE "$SERVER" --backend mio --addr "127.0.0.1:$PORT" --http-addr "127.0.0.1:$WEB_PORT" \
        --rate-limit 0 --max-clients 30000 --db :memory: 2>/dev/null &
    SERVER_PID=$!
    sleep 0.5
}

# stop, measure KIND PORT ARGS..., field, median, ratio, paired_ratio.
source chat-load/bench-common.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"

# Fan-out at C=1000: plain and WebSocket, ROUNDS times, interleaved.
declare -A dps cpu
fanout=(fanout --clients 1000 --senders 16 --window 4 --duration "$SECONDS_PER_RUN")
for round in $(seq "$ROUNDS"); do
    for setup in plain ws; do
        case $setup in
        plain) out=$(measure chat "$PORT" "${fanout[@]}") ;;
        ws) out=$(measure chat "$WEB_PORT" --ws "${fanout[@]}") ;;
        esac
        lost=$(echo "$out" | field lost)
        [ "$lost" = 0 ] || echo "warning: $setup lost $lost lines" >&2
        dps[$setup]+="$(echo "$out" | field deliveries_per_second) "
        cpu[$setup]+="$(echo "$out" | field server_cpu_ns_per_delivery) "
        echo "round $round $setup: $(echo "$out" | field deliveries_per_second)/s, $(echo "$out" | field server_cpu_ns_per_delivery) ns/delivery, server $(echo "$out" | field server_cpu_percent)%, load $(echo "$out" | field load_cpu_percent)%" >&2
    done
done
echo
echo "| fan-out, C=1000, 16 senders x 4 lines in flight (median of $ROUNDS) | deliveries/s | server CPU ns/delivery |"
echo "|---|---|---|"
for setup in plain ws; do
    echo "| $setup | $(echo "${dps[$setup]}" | median) | $(echo "${cpu[$setup]}" | median) |"
done
echo "| ws / plain | $(ratio "$(echo "${dps[ws]}" | median)" "$(echo "${dps[plain]}" | median)") | |"

# Memory per idle registered connection at 10,000.
echo
echo "| 10,000 idle registered connections | server RSS bytes per connection | broadcast to all, median ms |"
echo "|---|---|---|"
idle=(idle --connections 10000 --sources 2 --broadcasts 5)
for setup in plain ws; do
    case $setup in
    plain) out=$(measure chat "$PORT" "${idle[@]}") ;;
    ws) out=$(measure chat "$WEB_PORT" --ws "${idle[@]}") ;;
    esac
    echo "| $setup | $(echo "$out" | field server_bytes_per_connection) | $(echo "$out" | field broadcast_ms_median) |"
done
