#!/usr/bin/env bash
# Takes the mio-against-Tokio figures of docs/BENCHMARKS.md in one sitting: for each server in
# turn, the release binary is started as users start it (history in a fresh SQLite file) with
# flood control off, and loaded by chat-load from a separate process. The fan-out runs go
# round ROUNDS times, the two servers interleaved, and medians are printed, with the server's
# CPU per delivery beside its rate (this machine's noise moves the rate more than the CPU).
# Prints markdown table rows. Needs a few minutes and ~20,000 open files per process.
#
#   bash chat-load/compare.sh
#   ROUNDS=5 SECONDS_PER_RUN=5 bash chat-load/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18900}
cargo build --release --workspace --features tokio-impl --quiet
SERVER=target/release/chat-tokio-stream
LOAD=target/release/chat-load
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Starts a fresh server of backend $1, history in a fresh SQLite file; sets SERVER_PID.
start() {
    rm -f "$WORK"/chat.db*
    "$SERVER" --backend "$1" --addr "127.0.0.1:$PORT" --http-addr off --rate-limit 0 --max-clients 30000 \
        --db "$WORK/chat.db" 2>/dev/null &
    SERVER_PID=$!
    sleep 0.5
}

# stop, measure KIND PORT ARGS..., field, median, ratio.
source chat-load/bench-common.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
declare -A dps cpu
for round in $(seq "$ROUNDS"); do
    for clients in 10 100 1000; do
        for backend in mio tokio; do
            out=$(measure "$backend" "$PORT" fanout --clients "$clients" --senders 16 --window 4 --duration "$SECONDS_PER_RUN")
            lost=$(echo "$out" | field lost)
            [ "$lost" = 0 ] || echo "warning: $backend lost $lost lines at C=$clients" >&2
            dps[$backend,$clients]+="$(echo "$out" | field deliveries_per_second) "
            cpu[$backend,$clients]+="$(echo "$out" | field server_cpu_ns_per_delivery) "
            echo "round $round C=$clients $backend: $(echo "$out" | field deliveries_per_second)/s, $(echo "$out" | field server_cpu_ns_per_delivery) ns/delivery" >&2
        done
    done
done
echo
echo "| measurement (median of $ROUNDS) | mio | tokio | mio / tokio |"
echo "|---|---|---|---|"
for clients in 10 100 1000; do
    a=$(echo "${dps[mio,$clients]}" | median)
    b=$(echo "${dps[tokio,$clients]}" | median)
    echo "| deliveries/s, C=$clients (16 senders x 4 lines in flight) | $a | $b | $(ratio "$a" "$b") |"
    a=$(echo "${cpu[mio,$clients]}" | median)
    b=$(echo "${cpu[tokio,$clients]}" | median)
    echo "| server CPU ns per delivery, C=$clients | $a | $b | $(ratio "$a" "$b") |"
done
for rate in 2000; do
    p50=(); p99=()
    for backend in mio tokio; do
        out=$(measure "$backend" "$PORT" rate --clients 1000 --senders 10 --rate "$rate" --duration "$SECONDS_PER_RUN")
        p50+=("$(echo "$out" | field latency_ms_p50)")
        p99+=("$(echo "$out" | field latency_ms_p99)")
    done
    echo "| latency p50 ms, $rate lines/s to C=1000 (open loop) | ${p50[0]} | ${p50[1]} | |"
    echo "| latency p99 ms, $rate lines/s to C=1000 (open loop) | ${p99[0]} | ${p99[1]} | |"
done
for connections in 9999 18999; do
    bytes=(); broadcast=()
    for backend in mio tokio; do
        out=$(measure "$backend" "$PORT" idle --connections "$connections" --sources 2 --broadcasts 5)
        bytes+=("$(echo "$out" | field server_bytes_per_connection)")
        broadcast+=("$(echo "$out" | field broadcast_ms_median)")
    done
    total=$((connections + 1))
    echo "| server RSS bytes per idle connection, $total connections | ${bytes[0]} | ${bytes[1]} | |"
    echo "| broadcast to all $total, median ms | ${broadcast[0]} | ${broadcast[1]} | |"
done
