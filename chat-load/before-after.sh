#!/usr/bin/env bash
# The no-regression check of a change to the mio server, in one sitting: fan-out to 1,000
# clients and memory per idle connection at 10,000, for an older build (BASELINE, a release
# binary) and this one, interleaved ROUNDS times, medians printed. The server is pinned to
# core 0 and the load to core 1 (taskset), so that the two never share a core; the new
# build keeps history in a fresh SQLite file, as users run it (the old one had no store).
#
#   BASELINE=/path/to/old/chat-tokio-stream bash chat-load/before-after.sh
set -euo pipefail
cd "$(dirname "$0")/.."

: "${BASELINE:?set BASELINE to the release binary of the older build}"
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-5}
PORT=${PORT:-18960}
cargo build --release --workspace --quiet
NEW=target/release/chat-tokio-stream
LOAD="taskset -c 1 target/release/chat-load"
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Starts a fresh server of build $1 (old or new); sets SERVER_PID.
start() {
    rm -f "$WORK"/chat.db*
    case $1 in
    old) taskset -c 0 "$BASELINE" --backend mio --addr "127.0.0.1:$PORT" --rate-limit 0 --max-clients 30000 2>/dev/null & ;;
    new) taskset -c 0 "$NEW" --backend mio --addr "127.0.0.1:$PORT" --http-addr off --rate-limit 0 --max-clients 30000 \
        --db "$WORK/chat.db" 2>/dev/null & ;;
    esac
    SERVER_PID=$!
    sleep 0.5
}

# stop, measure KIND PORT ARGS..., field, median, ratio, paired_ratio.
source chat-load/bench-common.sh

declare -A dps cpu idle
for round in $(seq "$ROUNDS"); do
    for build in old new; do
        out=$(measure "$build" "$PORT" fanout --clients 1000 --senders 16 --window 4 --duration "$SECONDS_PER_RUN")
        dps[$build]+="$(echo "$out" | field deliveries_per_second) "
        cpu[$build]+="$(echo "$out" | field server_cpu_ns_per_delivery) "
        out2=$(measure "$build" "$PORT" idle --connections 9999 --sources 2 --broadcasts 3)
        idle[$build]+="$(echo "$out2" | field server_bytes_per_connection) "
        echo "round $round $build: $(echo "$out" | field deliveries_per_second)/s (lost $(echo "$out" | field lost)), $(echo "$out" | field server_cpu_ns_per_delivery) ns/delivery, $(echo "$out2" | field server_bytes_per_connection) B/idle connection" >&2
    done
done
echo "| median of $ROUNDS | before | after | after / before | median of the rounds' after / before |"
echo "|---|---|---|---|---|"
for row in "deliveries/s, fanout --clients 1000 --senders 16 --window 4:dps" "server CPU ns per delivery:cpu" "server RSS bytes per idle connection, 10,000:idle"; do
    name=${row%:*}
    key=${row##*:}
    declare -n values=$key
    a=$(echo "${values[old]}" | median)
    b=$(echo "${values[new]}" | median)
    echo "| $name | $a | $b | $(ratio "$b" "$a" 3) | $(paired_ratio "${values[old]}" "${values[new]}") |"
done
