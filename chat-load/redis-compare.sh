#!/usr/bin/env bash
# Takes the many-servers figures of docs/BENCHMARKS.md in one sitting: fan-out to 1,000
# clients on one server alone, on one server with --redis, and split over two servers on one
# Redis; Redis's own pub/sub fan-out to 1,000 subscribers as the ceiling; and the latency of
# a line at a light fixed rate within a server and across servers. Fresh servers (release
# build, flood control off) for every run; the fan-out runs go round ROUNDS times,
# interleaved, and medians are printed. Nothing is pinned: two servers, Redis and the load
# share the machine's cores, which is the point of saying the figures are contention-bound.
# Alongside each fan-out run it reports the CPU the server processes and Redis spent per
# delivery (from /proc), which the load on the machine disturbs less than the rate does,
# and Redis's own CPU per line said: what one Redis can carry bounds N servers on it.
# Needs redis-server (Debian's package) and ~3,000 open files per process.
#
#   bash chat-load/redis-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-27480}
REDIS_PORT=$((PORT + 10))
cargo build --release --workspace --quiet
SERVER=target/release/chat-tokio-stream
LOAD=target/release/chat-load
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

start_redis() {
    redis-server --port "$REDIS_PORT" --save '' --appendonly no --maxclients 30000 \
        --logfile "$WORK/redis.log" --dir "$WORK" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    until redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; do sleep 0.05; done
}

# Starts chat server number $1 (on PORT + $1) with the extra flags "${@:2}".
start_chat() {
    "$SERVER" --backend mio --addr "127.0.0.1:$((PORT + $1))" --http-addr off --rate-limit 0 --max-clients 30000 \
        "${@:2}" 2>/dev/null &
    PIDS+=("$!")
    CHAT_PIDS+=("$!")
}

stop_all() {
    kill -INT "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
    sleep 1
}

# Starts what setup $1 needs; sets ADDRS (the chat servers, comma-separated), WATCHED
# (the pids whose CPU counts) and REDIS_PID (empty without Redis).
start_setup() {
    CHAT_PIDS=()
    REDIS_PID=
    case $1 in
    alone)
        start_chat 0 --db :memory:
        ADDRS="127.0.0.1:$PORT"
        WATCHED="${CHAT_PIDS[*]}"
        ;;
    one+redis)
        start_redis
        start_chat 0 --redis "redis://127.0.0.1:$REDIS_PORT"
        ADDRS="127.0.0.1:$PORT"
        WATCHED="${CHAT_PIDS[*]} $REDIS_PID"
        ;;
    two+redis)
        start_redis
        start_chat 0 --redis "redis://127.0.0.1:$REDIS_PORT"
        start_chat 1 --redis "redis://127.0.0.1:$REDIS_PORT"
        ADDRS="127.0.0.1:$PORT,127.0.0.1:$((PORT + 1))"
        WATCHED="${CHAT_PIDS[*]} $REDIS_PID"
        ;;
    redis-pubsub)
        start_redis
        ADDRS="127.0.0.1:$REDIS_PORT"
        WATCHED="$REDIS_PID"
        ;;
    esac
    sleep 0.5
}

# CPU seconds the processes "$@" have used so far.
cpu_seconds() {
    local ticks=0 pid
    for pid in "$@"; do
        ticks=$((ticks + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f", t / hz }'
}

# field, median (its stop and measure are for one server; this script has its own).
source chat-load/bench-common.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "redis: $(redis-server --version | cut -d' ' -f3)"

# Fan-out to 1,000 clients, 16 senders with 4 lines each in flight.
setups="alone one+redis two+redis redis-pubsub"
declare -A dps cpu redis_line
for round in $(seq "$ROUNDS"); do
    for setup in $setups; do
        start_setup "$setup"
        dialect=()
        [ "$setup" = redis-pubsub ] && dialect=(--redis)
        before=$(cpu_seconds $WATCHED)
        redis_before=$(cpu_seconds $REDIS_PID)
        out=$($LOAD --addr "$ADDRS" "${dialect[@]}" fanout --clients 1000 --senders 16 --window 4 \
            --duration "$SECONDS_PER_RUN" 2>/dev/null) || out="failed"
        after=$(cpu_seconds $WATCHED)
        redis_after=$(cpu_seconds $REDIS_PID)
        stop_all
        lost=$(echo "$out" | field lost)
        [ "$lost" = 0 ] || echo "warning: $setup lost ${lost:-?} lines" >&2
        rate=$(echo "$out" | field deliveries_per_second)
        delivered=$(echo "$out" | field deliveries)
        per=$(awk -v a="$before" -v b="$after" -v d="${delivered:-0}" \
            'BEGIN { if (d > 0) printf "%.0f", (b - a) * 1e9 / d; else print "?" }')
        said=$(echo "$out" | field lines_said)
        per_line=$(awk -v a="$redis_before" -v b="$redis_after" -v n="${said:-0}" \
            'BEGIN { if (n > 0 && b > a) printf "%.1f", (b - a) * 1e6 / n; else print "-" }')
        dps[$setup]+="$rate "
        cpu[$setup]+="$per "
        redis_line[$setup]+="$per_line "
        echo "round $round $setup: $rate deliveries/s, $per ns of server+Redis CPU per delivery, Redis $per_line µs per line said" >&2
    done
done
echo
echo "| fan-out to 1,000 clients, 16 senders x 4 in flight (median of $ROUNDS) | deliveries/s | CPU ns per delivery (servers + Redis) | Redis CPU µs per line said |"
echo "|---|---|---|---|"
for setup in $setups; do
    echo "| $setup | $(echo "${dps[$setup]}" | median) | $(echo "${cpu[$setup]}" | median) | $(echo "${redis_line[$setup]}" | median) |"
done

# Latency at a light fixed rate: 200 lines a second from 4 senders to 100 receivers. Within
# one server; within one server on Redis; and across servers (the senders on one, every
# receiver on the other: --addr lists the first server once per sender, then the second
# once per receiver, and client n takes the nth address).
echo
echo "| 200 lines/s, 4 senders, 100 receivers, ${SECONDS_PER_RUN} s | p50 ms | p99 ms | p99.9 ms | lost |"
echo "|---|---|---|---|---|"
across="$(printf '127.0.0.1:%s,' $(yes "$PORT" | head -4) $(yes $((PORT + 1)) | head -100))"
for setup in alone one+redis across; do
    case $setup in
    across) start_setup two+redis; addrs=${across%,} ;;
    *) start_setup "$setup"; addrs=$ADDRS ;;
    esac
    out=$($LOAD --addr "$addrs" rate --clients 100 --senders 4 --rate 200 \
        --duration "$SECONDS_PER_RUN" 2>/dev/null) || out="failed"
    stop_all
    echo "| $setup | $(echo "$out" | field latency_ms_p50) | $(echo "$out" | field latency_ms_p99) | $(echo "$out" | field latency_ms_p99_9) | $(echo "$out" | field lost) |"
done
