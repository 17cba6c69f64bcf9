#!/usr/bin/env bash
# Takes every figure in docs/BENCHMARKS.md in one run: for each server (mio, then Tokio), the
# release binary is started with flood control off and loaded by chat-load from a separate
# process. Prints markdown table rows. Needs a few minutes and ~20,000 open files per process.
#
#   bash benches/compare.sh            # everything
#   SECONDS_PER_RUN=5 bash benches/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
PORT=${PORT:-18900}
cargo build --release --features tokio-impl --quiet
SERVER=target/release/chat-tokio-stream
LOAD=target/release/chat-load
ulimit -n "$(ulimit -Hn)"

# Runs one chat-load mode against a fresh server of backend $1; prints chat-load's table.
measure() {
    local backend=$1
    shift
    "$SERVER" --backend "$backend" --addr "127.0.0.1:$PORT" --http-addr off --rate-limit 0 --max-clients 30000 2>/dev/null &
    local server=$!
    sleep 0.5
    "$LOAD" --addr "127.0.0.1:$PORT" --server-pid "$server" "$@" 2>/dev/null || echo "failed: $*"
    kill -INT "$server"
    wait "$server" || true
    sleep 1
}

field() { awk -v key="$1" '$1 == key { print $2 }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo
echo "| measurement | mio | tokio | mio / tokio |"
echo "|---|---|---|---|"
for clients in 10 100 1000; do
    row=()
    for backend in mio tokio; do
        out=$(measure "$backend" fanout --clients "$clients" --senders 16 --window 4 --duration "$SECONDS_PER_RUN")
        row+=("$(echo "$out" | field deliveries_per_second)")
        lost=$(echo "$out" | field lost)
        [ "$lost" = 0 ] || echo "warning: $backend lost $lost lines at C=$clients" >&2
    done
    echo "| deliveries/s, C=$clients (16 senders x 4 lines in flight) | ${row[0]} | ${row[1]} | $(awk -v a="${row[0]}" -v b="${row[1]}" 'BEGIN { printf "%.2f", a / b }') |"
done
for rate in 2000; do
    p50=(); p99=()
    for backend in mio tokio; do
        out=$(measure "$backend" rate --clients 1000 --senders 10 --rate "$rate" --duration "$SECONDS_PER_RUN")
        p50+=("$(echo "$out" | field latency_ms_p50)")
        p99+=("$(echo "$out" | field latency_ms_p99)")
    done
    echo "| latency p50 ms, $rate lines/s to C=1000 (open loop) | ${p50[0]} | ${p50[1]} | |"
    echo "| latency p99 ms, $rate lines/s to C=1000 (open loop) | ${p99[0]} | ${p99[1]} | |"
done
for connections in 9999 18999; do
    bytes=(); broadcast=()
    for backend in mio tokio; do
        out=$(measure "$backend" idle --connections "$connections" --sources 2 --broadcasts 5)
        bytes+=("$(echo "$out" | field server_bytes_per_connection)")
        broadcast+=("$(echo "$out" | field broadcast_ms_median)")
    done
    total=$((connections + 1))
    echo "| server RSS bytes per idle connection, $total connections | ${bytes[0]} | ${bytes[1]} | |"
    echo "| broadcast to all $total, median ms | ${broadcast[0]} | ${broadcast[1]} | |"
done
