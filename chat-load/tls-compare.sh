#!/usr/bin/env bash
# Takes the TLS figures of docs/BENCHMARKS.md in one run: fan-out over TLS and in plain text
# against Redis 7 pub/sub over TLS (and plain) as the reference, memory per idle connection,
# and handshakes per second while 1,000 clients chat. Every measurement gets a fresh server
# (release build, flood control off) loaded by chat-load from another process; the fan-out
# runs go round ROUNDS times, interleaved, and the median of each is printed, so that the
# ratios come from one sitting on a noisy machine. The server is pinned to one core and the
# load to the other: left to the scheduler, the two sometimes share a core, which halves a
# run's figures. Needs redis-server with TLS (Debian's
# redis-server package), openssl, and ~20,000 open files per process.
#
#   bash chat-load/tls-compare.sh
#   BASELINE=/path/to/old/chat-tokio-stream bash chat-load/tls-compare.sh   # plain path before/after
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-27380}
TLS_PORT=$((PORT + 1))
REDIS_PORT=$((PORT + 2))
REDIS_TLS_PORT=$((PORT + 3))
cargo build --release --workspace --quiet
SERVER=target/release/chat-tokio-stream
LOAD="taskset -c 1 target/release/chat-load"
ON_SERVER_CORE="taskset -c 0"
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# One test certificate for both servers: ECDSA P-256, as the chat server makes for itself.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

# Starts server $1 (chat, redis, or a path to another chat server binary); sets SERVER_PID.
start() {
    case $1 in
    redis)
        $ON_SERVER_CORE redis-server --port "$REDIS_PORT" --tls-port "$REDIS_TLS_PORT" \
            --tls-cert-file "$WORK/cert.pem" --tls-key-file "$WORK/key.pem" \
            --tls-auth-clients no --save '' --appendonly no --maxclients 30000 \
            --logfile "$WORK/redis.log" --dir "$WORK" &
        ;;
    chat)
        $ON_SERVER_CORE "$SERVER" --backend mio --addr "127.0.0.1:$PORT" --tls-addr "127.0.0.1:$TLS_PORT" \
            --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem" --http-addr off \
            --rate-limit 0 --max-clients 30000 --db :memory: 2>/dev/null &
        ;;
    *)
        $ON_SERVER_CORE "$1" --addr "127.0.0.1:$PORT" --rate-limit 0 --max-clients 30000 --db :memory: 2>/dev/null &
        ;;
    esac
    SERVER_PID=$!
    sleep 0.5
}

# stop, measure KIND PORT ARGS..., field, median, ratio, paired_ratio.
source chat-load/bench-common.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"
echo "redis: $(redis-server --version | cut -d' ' -f3)"

# Fan-out: each setup, each size, ROUNDS times, interleaved.
setups="chat-plain chat-tls redis-tls redis-plain"
[ -n "${BASELINE:-}" ] && setups="$setups baseline-plain"
declare -A dps cpu
for round in $(seq "$ROUNDS"); do
    for clients in 100 1000; do
        for setup in $setups; do
            fanout=(fanout --clients "$clients" --senders 16 --window 4 --duration "$SECONDS_PER_RUN")
            case $setup in
            chat-plain) out=$(measure chat "$PORT" "${fanout[@]}") ;;
            chat-tls) out=$(measure chat "$TLS_PORT" --tls "${fanout[@]}") ;;
            redis-tls) out=$(measure redis "$REDIS_TLS_PORT" --tls --redis "${fanout[@]}") ;;
            redis-plain) out=$(measure redis "$REDIS_PORT" --redis "${fanout[@]}") ;;
            baseline-plain) out=$(measure "$BASELINE" "$PORT" "${fanout[@]}") ;;
            esac
            lost=$(echo "$out" | field lost)
            [ "$lost" = 0 ] || echo "warning: $setup lost $lost lines at C=$clients" >&2
            dps[$setup,$clients]+="$(echo "$out" | field deliveries_per_second) "
            cpu[$setup,$clients]+="$(echo "$out" | field server_cpu_ns_per_delivery) "
            echo "round $round C=$clients $setup: $(echo "$out" | field deliveries_per_second)/s, $(echo "$out" | field server_cpu_ns_per_delivery) ns/delivery, server $(echo "$out" | field server_cpu_percent)%, load $(echo "$out" | field load_cpu_percent)%" >&2
        done
    done
done
echo
echo "| fan-out, 16 senders x 4 lines in flight (median of $ROUNDS) | C=100 | C=1000 |"
echo "|---|---|---|"
for setup in $setups; do
    row="| $setup deliveries/s"
    for clients in 100 1000; do
        row+=" | $(echo "${dps[$setup,$clients]}" | median)"
    done
    echo "$row |"
    row="| $setup server CPU ns/delivery"
    for clients in 100 1000; do
        row+=" | $(echo "${cpu[$setup,$clients]}" | median)"
    done
    echo "$row |"
done
for pair in "chat-tls chat-plain" "chat-tls redis-tls" "chat-plain redis-plain"; do
    set -- $pair
    row="| $1 / $2 deliveries/s"
    for clients in 100 1000; do
        a=$(echo "${dps[$1,$clients]}" | median)
        b=$(echo "${dps[$2,$clients]}" | median)
        row+=" | $(ratio "$a" "$b")"
    done
    echo "$row |"
done

# Memory per idle connection at 10,000.
echo
echo "| 10,000 idle registered connections | server RSS bytes per connection | broadcast to all, median ms |"
echo "|---|---|---|"
idle=(idle --connections 9999 --sources 2 --broadcasts 5)
for setup in tls plain ${BASELINE:+baseline-plain}; do
    case $setup in
    tls) out=$(measure chat "$TLS_PORT" --tls "${idle[@]}") ;;
    plain) out=$(measure chat "$PORT" "${idle[@]}") ;;
    baseline-plain) out=$(measure "$BASELINE" "$PORT" "${idle[@]}") ;;
    esac
    echo "| $setup | $(echo "$out" | field server_bytes_per_connection) | $(echo "$out" | field broadcast_ms_median) |"
done

# Handshakes per second: alone, then while 1,000 TLS clients chat at 2,000 lines a second
# (both loads on the load's core, the server alone on its own).
echo
handshakes=(handshakes --in-flight 32 --duration "$SECONDS_PER_RUN")
out=$(measure chat "$TLS_PORT" "${handshakes[@]}")
echo "handshakes/s, idle server: $(echo "$out" | field handshakes_per_second)" \
    "(server CPU $(echo "$out" | field server_cpu_ns_per_handshake) ns per handshake," \
    "$(echo "$out" | field server_cpu_percent)% of a core; p50 $(echo "$out" | field handshake_ms_p50) ms)"
chatting=(--tls --tag b rate --clients 1000 --senders 10 --rate 2000)
out=$(measure chat "$TLS_PORT" "${chatting[@]}" --duration "$SECONDS_PER_RUN")
echo "1,000 TLS clients chatting alone: latency p50 $(echo "$out" | field latency_ms_p50) ms," \
    "p99 $(echo "$out" | field latency_ms_p99) ms, lost $(echo "$out" | field lost)"
start chat
$LOAD --addr "127.0.0.1:$TLS_PORT" "${chatting[@]}" --duration $((SECONDS_PER_RUN * 3)) \
    >"$WORK/chat.out" 2>"$WORK/chat.err" &
chat_load=$!
until grep -q "all registered" "$WORK/chat.err"; do sleep 0.2; done
sleep 2
out=$($LOAD --addr "127.0.0.1:$TLS_PORT" --server-pid "$SERVER_PID" "${handshakes[@]}" 2>/dev/null)
wait "$chat_load"
stop
echo "handshakes/s while they chat: $(echo "$out" | field handshakes_per_second)" \
    "(server CPU $(echo "$out" | field server_cpu_ns_per_handshake) ns per handshake incl. the chat;" \
    "p50 $(echo "$out" | field handshake_ms_p50) ms, p99 $(echo "$out" | field handshake_ms_p99) ms, failed $(echo "$out" | field failed))"
echo "the chat meanwhile: latency p50 $(field latency_ms_p50 <"$WORK/chat.out") ms," \
    "p99 $(field latency_ms_p99 <"$WORK/chat.out") ms, lost $(field lost <"$WORK/chat.out")"
