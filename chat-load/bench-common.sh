# Shared by the benchmark scripts (sourced, not run): stopping the server a script's own
# start() started, one measurement against a fresh server, and reading chat-load's table.
# Needs LOAD (the chat-load command) and a start() that takes a server kind and sets
# SERVER_PID. Servers here are started with --http-addr off, so that none of them takes
# the web's default port.

stop() {
    kill -INT "$SERVER_PID"
    wait "$SERVER_PID" || true
    sleep 1
}

# Runs chat-load with "$@" against a fresh server of kind $1 on port $2; prints its table.
measure() {
    local kind=$1 port=$2
    shift 2
    start "$kind"
    $LOAD --addr "127.0.0.1:$port" --server-pid "$SERVER_PID" "$@" 2>/dev/null || echo "failed: $kind $*"
    stop
}

field() { awk -v key="$1" '$1 == key { print $2 }'; }
# The median of numbers given one per line or separated by spaces.
median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The median of the ratios b / a of two lists of numbers taken in pairs, round by round
# ($1 the a's, $2 the b's, space-separated): on a noisy machine a round that is slow for
# both sides cancels out of its ratio, where it would move one median and not the other.
paired_ratio() {
    paste -d' ' <(echo "$1" | tr ' ' '\n' | grep .) <(echo "$2" | tr ' ' '\n' | grep .) |
        awk '{ printf "%.3f\n", $2 / $1 }' | median
}
# a / b, with ${3:-2} decimals.
ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, a / b }'; }
