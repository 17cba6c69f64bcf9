#!/usr/bin/env bash
# Takes the persistence figures of docs/BENCHMARKS.md in one sitting:
#  1. what keeping history costs fan-out: --db on a file against --db :memory:, at C=100
#     and C=1000, interleaved ROUNDS times, medians (with the server's CPU per delivery);
#  2. the store's sustained throughput: 64 senders, 1 receiver, flood control off; lines
#     said per second (each one kept), and whether the store dropped any (its log says so);
#  3. start-up on a store of 10 million messages in 1,000 rooms (written by the sqlite3
#     command-line tool into the server's own schema): time from launch to listening,
#     with the file's pages in the page cache and, when the script may drop that cache
#     (root), cold.
# Needs sqlite3 (Debian's package) for the third, ~1 GiB of disk in TMPDIR, a few minutes.
#
#   bash chat-load/store-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-27580}
cargo build --release --workspace --quiet
SERVER=target/release/chat-tokio-stream
LOAD=target/release/chat-load
ulimit -n "$(ulimit -Hn)"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Starts the server with --db $1; sets SERVER_PID; its log goes to $WORK/server.log.
start() {
    "$SERVER" --backend mio --addr "127.0.0.1:$PORT" --http-addr off --rate-limit 0 --max-clients 30000 --db "$1" \
        2>"$WORK/server.log" &
    SERVER_PID=$!
    until grep -q "listening on" "$WORK/server.log"; do sleep 0.01; done
}

# stop, field, median, ratio, paired_ratio.
source chat-load/bench-common.sh

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r)"

# 1. File against memory.
declare -A dps cpu
for round in $(seq "$ROUNDS"); do
    for clients in 100 1000; do
        for db in file memory; do
            rm -f "$WORK"/chat.db*
            case $db in
            file) start "$WORK/chat.db" ;;
            memory) start :memory: ;;
            esac
            out=$($LOAD --addr "127.0.0.1:$PORT" --server-pid "$SERVER_PID" fanout --clients "$clients" \
                --senders 16 --window 4 --duration "$SECONDS_PER_RUN" 2>/dev/null) || out="failed"
            stop
            dps[$db,$clients]+="$(echo "$out" | field deliveries_per_second) "
            cpu[$db,$clients]+="$(echo "$out" | field server_cpu_ns_per_delivery) "
            echo "round $round C=$clients $db: $(echo "$out" | field deliveries_per_second)/s, $(echo "$out" | field server_cpu_ns_per_delivery) ns/delivery" >&2
        done
    done
done
echo
echo "| fan-out, 16 senders x 4 in flight (median of $ROUNDS) | --db file | --db :memory: | file / memory | median of the rounds' file / memory |"
echo "|---|---|---|---|---|"
for clients in 100 1000; do
    a=$(echo "${dps[file,$clients]}" | median)
    b=$(echo "${dps[memory,$clients]}" | median)
    echo "| deliveries/s, C=$clients | $a | $b | $(ratio "$a" "$b" 3) | $(paired_ratio "${dps[memory,$clients]}" "${dps[file,$clients]}") |"
    a=$(echo "${cpu[file,$clients]}" | median)
    b=$(echo "${cpu[memory,$clients]}" | median)
    echo "| server CPU ns per delivery, C=$clients | $a | $b | $(ratio "$a" "$b" 3) | $(paired_ratio "${cpu[memory,$clients]}" "${cpu[file,$clients]}") |"
done

# 2. Sustained store throughput.
rm -f "$WORK"/chat.db*
start "$WORK/chat.db"
out=$($LOAD --addr "127.0.0.1:$PORT" --threads 2 fanout --clients 1 --senders 64 --window 64 \
    --duration "$SECONDS_PER_RUN" 2>/dev/null) || out="failed"
stop
said=$(echo "$out" | field lines_said)
seconds=$(echo "$out" | field seconds)
kept=$(sqlite3 "$WORK/chat.db" "SELECT count(*) FROM messages")
echo
echo "store throughput: $said lines said in $seconds s ($(awk -v n="$said" -v s="$seconds" 'BEGIN { printf "%.0f", n / s }') lines/s), $kept in the file after the stop;" \
    "the server's log on dropping: $(grep -c "cannot keep up" "$WORK/server.log" || true) warning(s)"

# 3. Start-up on 10 million messages in 1,000 rooms.
rm -f "$WORK"/chat.db*
start "$WORK/chat.db"
stop
sqlite3 "$WORK/chat.db" >/dev/null <<'SQL'
PRAGMA journal_mode = WAL;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999)
INSERT INTO rooms (id, folded, name, last_message) SELECT i + 1, '#room' || i, '#room' || i, 0 FROM n;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9999999)
INSERT INTO messages (time, room, nick, kind, text)
SELECT strftime('%s', 'now') * 1000 - 10000000 + i, 1 + i % 1000, 'user' || (i % 5000), 0,
       'message number ' || i || ' with some text to make it a line of chat'
FROM n;
UPDATE rooms SET last_message = (SELECT max(id) FROM messages WHERE room = rooms.id);
SQL
echo
echo "start-up on $(sqlite3 "$WORK/chat.db" "SELECT count(*) FROM messages") messages in" \
    "$(sqlite3 "$WORK/chat.db" "SELECT count(*) FROM rooms") rooms ($(du -h "$WORK/chat.db" | cut -f1)):"
for cache in warm cold; do
    if [ "$cache" = cold ]; then
        sync
        if ! echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
            echo "  cold: cannot drop the page cache here (needs root)"
            continue
        fi
    fi
    launched=$(date +%s%N)
    start "$WORK/chat.db"
    listening=$(date +%s%N)
    stop
    echo "  $cache: $(((listening - launched) / 1000000)) ms from launch to listening;" \
        "$(grep -o 'loaded [0-9]* recent messages.*' "$WORK/server.log")"
done
