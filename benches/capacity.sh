#!/usr/bin/env bash
# Whole-server capacity: concurrent PCMU calls held by one media worker,
# echoed (the default), bridged and transcoded (TRANSCODE=1), in an IVR
# menu playing prompts (IVR=1), leaving a voicemail message (VOICEMAIL=1),
# or all in one conference room (CONF=1).
#
# For each call count N: starts the server pinned to one core (one media
# worker; its tokio control-plane threads share that core), runs the load
# generator pinned to another core, samples CPU time over the window in which
# all N calls stream, and prints one result line. Everything is on loopback.
#
# Usage (from the repository root, after `cargo build --release`):
#   benches/capacity.sh 100 200 400 ...
# Environment:
#   MEDIAPLANE_BIN  binary (default: ${CARGO_TARGET_DIR:-target}/release/mediaplane)
#   SERVER_CPU      core for the server (default 1)
#   LOAD_CPU        core for the load generator (default 0)
#   DURATION_S      seconds of audio per call (default 20)
#   RAMP_S          seconds over which the calls are started (default 5)
#   OUT             folder for logs and reports (default $TMPDIR/mediaplane-capacity)
#   TRANSCODE       1: the calls dial a bridge route whose outgoing leg speaks
#                   only Opus (benches/transcode-near.toml); the far end is a
#                   second server on the load generator's core that echoes
#                   in Opus (benches/transcode-far.toml). The measured server
#                   then decodes PCMU, resamples 8 -> 48 kHz and encodes Opus
#                   one way, and the reverse the other way, for every call.
#   BRIDGE          1: the calls dial a bridge route (benches/bridge.toml)
#                   whose far end is a second server on the load
#                   generator's core that echoes plain RTP (its embedded
#                   default config). The measured server relays each
#                   packet both ways, codec unchanged.
#   SRTP            a suite name, e.g. AES_CM_128_HMAC_SHA1_80 (implies
#                   BRIDGE=1): the calls offer SDES-SRTP of that suite, so
#                   the measured server unprotects every packet from the
#                   caller and protects every packet back (SRTP <-> RTP).
#   IVR             1: the calls dial `ivr-load` (benches/ivr.toml), a menu
#                   playing 33 s of prompts while listening for inband keys
#                   in the caller's audio. Nothing is echoed: read the loss
#                   of the prompt streams and the CPU columns.
#   VOICEMAIL       1: the calls dial `vm-load` (benches/voicemail.toml):
#                   the greeting and beep (GREETING_S), then the caller's
#                   audio is recorded until the hang-up, written to WAV files
#                   in a fresh data folder ($OUT/RUN-N-data) by the server's
#                   recorder thread. The window starts GREETING_S later, when
#                   every call records. Use DURATION_S of 30 or more.
#   GREETING_S      with VOICEMAIL=1: seconds from the answer to the start of
#                   the recording (default 7.9, measured: one call of 20 s
#                   leaves 12.1 s heard; the greeting "Mailbox A D. The
#                   person ... after the tone" is 7.70 s, the beep 0.25 s)
#   CONF            1: the calls all dial `conf-load`, one conference room:
#                   every member's audio is decoded and mixed (the three
#                   loudest), and each member gets its mix encoded.
#   ROOMS           with CONF=1: spread the calls over this many rooms
#                   (`conf-load-0` ...) instead of one.
#   CODEC           codecs the calls offer, taken in turn (default pcmu;
#                   e.g. opus,g722 with CONF=1). G.722 and Opus streams carry
#                   no echo tags: read the loss and CPU columns.
#
# Result columns: calls, calls set up, packets sent, sequence loss % of the
# echoed streams, % of sent frames never matched by an echo, late frames
# (round trip > 100 ms), round trip p50/p99/max ms, server late ticks, then
# CPU % of one core over the window: media worker thread, rest of the
# server, whole server, load generator, and busy % of each pinned core
# (everything running there, other processes included), the host's UDP
# receive/send buffer errors, and the server's own per-call counters at the
# end of the window, summed: calls in progress, frames played as missing,
# packets too late for the playout buffer, frames concealed; last, the
# largest total bytes seen queued in the UDP receive buffers of the server's
# RTP ports and of the load generator's ports (five samples over the window);
# then the server's resident memory before the calls and in the window.
#
# With VOICEMAIL=1, more columns: CPU % of one core of the recorder thread
# (also in rest_cpu%), its file writes in kB/s over the window, the
# server's counters at the end (recorded chunks dropped because the
# recorder's queue was full, write errors, recordings started and finished,
# messages kept),
# then what is on disk once the server has stopped: message files, files
# left unfinished (.part), seconds of audio in them, seconds of it heard
# (20 ms frames not all zero: a tick with nothing received records
# silence), the seconds streamed after the beep (packets sent x 20 ms -
# calls set up x GREETING_S), and how much of that is missing from the
# heard audio, in %.

set -euo pipefail

BIN=${MEDIAPLANE_BIN:-${CARGO_TARGET_DIR:-target}/release/mediaplane}
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
DURATION_S=${DURATION_S:-20}
RAMP_S=${RAMP_S:-5}
OUT=${OUT:-${TMPDIR:-/tmp}/mediaplane-capacity}
GREETING_S=${GREETING_S:-7.9}
SIP=127.0.0.1:5060
HTTP=127.0.0.1:8080

if [ $# -eq 0 ]; then
    awk 'NR > 1 && /^#/ {sub(/^# ?/, ""); print; next} NR > 1 {exit}' "$0"
    exit 2
fi
[ -x "$BIN" ] || { echo "no binary at $BIN: run cargo build --release" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"

# CPU time of one thread or process in ns (schedstat: time on CPU).
thread_ns() { awk '{print $1}' "/proc/$1/task/$2/schedstat" 2>/dev/null || echo 0; }
process_ns() {
    local total=0 t
    for t in /proc/"$1"/task/*/schedstat; do
        total=$((total + $(awk '{print $1}' "$t" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
# Busy and total jiffies of one core.
core_jiffies() {
    awk -v cpu="cpu$1" '$1 == cpu {busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6}' /proc/stat
}
udp_errors() {
    awk '/^Udp:/ && $2 ~ /^[0-9]+$/ {print $6, $7}' /proc/net/snmp
}
# Bytes queued in UDP receive buffers: the server's RTP ports, and the load
# generator's (ephemeral) ports. A queue shows which side falls behind.
queued_bytes() {
    ss -uanH | awk '{n = split($4, a, ":"); p = a[n] + 0
        if (p >= 20000 && p <= 29999) s += $2; else if (p >= 32768) l += $2}
        END {print s + 0, l + 0}'
}
# The recorder thread's bytes written (write(2) and friends).
thread_wchar() { awk '$1 == "wchar:" {print $2}' "/proc/$1/task/$2/io" 2>/dev/null || echo 0; }
# Message files under a data folder: count, unfinished, seconds, heard
# seconds (16-bit mono at RATE Hz after a 44-byte header; a frame is
# FRAME samples).
wav_totals() {
    python3 - "$1" 8000 160 <<'PY'
import os, sys
root, rate, frame = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) * 2
files = parts = samples = heard = 0
zero = bytes(frame)
for folder, _, names in os.walk(root):
    for name in names:
        if not (name.endswith(".wav") or name.endswith(".part")):
            continue
        if name.endswith(".part"):
            parts += 1
        else:
            files += 1
        with open(os.path.join(folder, name), "rb") as f:
            data = f.read()[44:]
        samples += len(data) // 2
        heard += sum(data[i:i + frame] != zero for i in range(0, len(data), frame))
print(files, parts, f"{samples / rate:.1f}", f"{heard * frame / 2 / rate:.1f}")
PY
}
percent() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", (b > 0 ? 100 * a / b : 0)}'; }

header="calls set_up sent loss% not_echoed% late rtt_p50 rtt_p99 rtt_max late_ticks media_cpu% rest_cpu% server_cpu% loadgen_cpu% core${SERVER_CPU}_busy% core${LOAD_CPU}_busy% udp_rcvbuf_err udp_sndbuf_err srv_calls srv_lost srv_late srv_concealed srv_rxq_max lg_rxq_max rss_start_kb rss_kb"
if [ "${VOICEMAIL:-0}" = 1 ]; then
    header="$header rec_cpu% rec_write_kB/s chunks_dropped write_errors rec_started rec_finished deposited files parts rec_s heard_s streamed_s missing%"
fi
printf '%s\n' "$header"

# The VOICEMAIL=1 columns of one run, from its metrics and data folder.
voicemail_columns() {
    local files parts rec_s heard_s set_up sent streamed
    metric() { awk -v m="$1" '$1 == m {print $2}' "$f-metrics.txt"; }
    read -r files parts rec_s heard_s < <(wav_totals "$f-data")
    read -r set_up sent < <(jq -r '"\(.calls_set_up) \(.packets_sent)"' "$f-loadgen.json")
    # What the load generator sent (20 ms frames), less each call's greeting.
    streamed=$(awk -v n="$set_up" -v p="$sent" -v g="$GREETING_S" 'BEGIN {printf "%.1f", p / 50 - n * g}')
    echo "$(percent $((r1 - r0)) "$elapsed")" \
        "$(awk -v b=$((w1 - w0)) -v ns="$elapsed" 'BEGIN {printf "%.0f", (ns > 0 ? b / 1024 / (ns / 1e9) : 0)}')" \
        "$(metric mediaplane_recording_chunks_dropped_total)" \
        "$(metric mediaplane_recording_write_errors_total)" \
        "$(metric mediaplane_recordings_started_total)" \
        "$(metric mediaplane_recordings_finished_total)" \
        "$(metric mediaplane_voicemail_messages_deposited_total)" \
        "$files $parts $rec_s $heard_s $streamed" \
        "$(awk -v s="$streamed" -v h="$heard_s" 'BEGIN {printf "%.2f", (s > 0 ? 100 * (s - h) / s : 0)}')"
}

run=0
spread=()
srtp=()
[ -n "${SRTP:-}" ] && srtp=(--srtp "$SRTP")
for N in "$@"; do
    run=$((run + 1))
    # Files are named by run and call count: a count may come back.
    f="$OUT/$(printf %02d "$run")-$N"
    rate=$(awk -v n="$N" -v r="$RAMP_S" 'BEGIN {x = n / r; printf "%.3f", x < 1 ? 1 : x}')
    ramp=$(awk -v n="$N" -v r="$rate" 'BEGIN {printf "%.3f", (n - 1) / r}')

    if [ "${TRANSCODE:-0}" = 1 ]; then
        taskset -c "$LOAD_CPU" "$BIN" --config benches/transcode-far.toml --workers 1 \
            --sip-listen 127.0.0.1:5062 --http-listen 127.0.0.1:8082 \
            --rtp-ports 30000-39999 --max-calls 10000 >"$f-far.log" 2>&1 &
        far=$!
        config=(--config benches/transcode-near.toml)
        target=transcode
    elif [ "${BRIDGE:-0}" = 1 ] || [ -n "${SRTP:-}" ]; then
        taskset -c "$LOAD_CPU" "$BIN" --workers 1 \
            --sip-listen 127.0.0.1:5062 --http-listen 127.0.0.1:8082 \
            --rtp-ports 30000-39999 --max-calls 10000 >"$f-far.log" 2>&1 &
        far=$!
        config=(--config benches/bridge.toml)
        target=bridge
    elif [ "${CONF:-0}" = 1 ]; then
        far=""
        config=(--config benches/conference.toml)
        target=conf-load
        [ -n "${ROOMS:-}" ] && spread=(--spread "$ROOMS")
    elif [ "${VOICEMAIL:-0}" = 1 ]; then
        far=""
        rm -rf "$f-data"
        config=(--config benches/voicemail.toml --data-dir "$f-data")
        target=vm-load
    elif [ "${IVR:-0}" = 1 ]; then
        far=""
        config=(--config benches/ivr.toml)
        target=ivr-load
    else
        far=""
        config=()
        target=echo
    fi
    taskset -c "$SERVER_CPU" "$BIN" "${config[@]}" --workers 1 --sip-listen "$SIP" --http-listen "$HTTP" \
        --rtp-ports 20000-29999 --max-calls 10000 >"$f-server.log" 2>&1 &
    server=$!
    for _ in $(seq 50); do
        grep -qs "mediaplane started" "$f-server.log" && break
        sleep 0.1
    done
    if ! grep -q "mediaplane started" "$f-server.log"; then
        echo "the server did not start; see $f-server.log" >&2
        kill "$server" 2>/dev/null || true
        exit 1
    fi
    media=$(grep -l '^media-0$' /proc/"$server"/task/*/comm | cut -d/ -f5)
    # Recordings start after the greeting: the window starts that much later.
    lead=0 recorder=""
    if [ "${VOICEMAIL:-0}" = 1 ]; then
        lead=$GREETING_S
        recorder=$(grep -l '^recorder$' /proc/"$server"/task/*/comm | cut -d/ -f5)
    fi

    read -r udp_rcv0 udp_snd0 < <(udp_errors)
    rss0=$(awk '/^VmRSS/ {print $2}' /proc/"$server"/status)
    taskset -c "$LOAD_CPU" "$BIN" loadgen "sip:$target@$SIP" "${spread[@]}" "${srtp[@]}" --calls "$N" --rate "$rate" \
        --codec "${CODEC:-pcmu}" --duration-s "$DURATION_S" --json >"$f-loadgen.json" 2>"$f-loadgen.log" &
    loadgen=$!

    # The window: every call set up (ramp + 2 s) to 2 s before the first ends.
    sleep "$(awk -v r="$ramp" -v g="$lead" 'BEGIN {print r + g + 2}')"
    # The first call stops streaming at about DURATION_S; end 2 s before.
    window=$(awk -v r="$ramp" -v d="$DURATION_S" -v g="$lead" 'BEGIN {w = d - r - g - 4; print w < 1 ? 1 : w}')
    m0=$(thread_ns "$server" "$media"); s0=$(process_ns "$server"); l0=$(process_ns "$loadgen")
    r0=0 w0=0
    if [ -n "$recorder" ]; then r0=$(thread_ns "$server" "$recorder"); w0=$(thread_wchar "$server" "$recorder"); fi
    read -r sb0 st0 < <(core_jiffies "$SERVER_CPU"); read -r lb0 lt0 < <(core_jiffies "$LOAD_CPU")
    t0=$(date +%s%N)
    # Five queue samples spread over the window.
    qs_max=0 ql_max=0
    step=$(awk -v w="$window" 'BEGIN {print w / 5}')
    for _ in 1 2 3 4 5; do
        sleep "$step"
        read -r qs ql < <(queued_bytes)
        [ "$qs" -gt "$qs_max" ] && qs_max=$qs
        [ "$ql" -gt "$ql_max" ] && ql_max=$ql
    done
    m1=$(thread_ns "$server" "$media"); s1=$(process_ns "$server"); l1=$(process_ns "$loadgen")
    r1=0 w1=0
    if [ -n "$recorder" ]; then r1=$(thread_ns "$server" "$recorder"); w1=$(thread_wchar "$server" "$recorder"); fi
    read -r sb1 st1 < <(core_jiffies "$SERVER_CPU"); read -r lb1 lt1 < <(core_jiffies "$LOAD_CPU")
    t1=$(date +%s%N)
    rss1=$(awk '/^VmRSS/ {print $2}' /proc/"$server"/status)
    curl -s "http://$HTTP/api/v1/calls" >"$f-calls.json" || echo '[]' >"$f-calls.json"

    wait "$loadgen" || true
    read -r udp_rcv1 udp_snd1 < <(udp_errors)
    if [ "${VOICEMAIL:-0}" = 1 ]; then
        # The last hang-ups' files are closed by the recorder shortly after.
        for _ in $(seq 50); do
            curl -s "http://$HTTP/metrics" >"$f-metrics.txt" || true
            started=$(awk '$1 == "mediaplane_recordings_started_total" {print $2}' "$f-metrics.txt")
            finished=$(awk '$1 == "mediaplane_recordings_finished_total" {print $2}' "$f-metrics.txt")
            [ -n "$started" ] && [ "$started" = "$finished" ] && break
            sleep 0.2
        done
    fi
    curl -s "http://$HTTP/metrics" >"$f-metrics.txt" || true
    kill -INT "$server"
    wait "$server" || true
    if [ -n "$far" ]; then
        kill -INT "$far"
        wait "$far" || true
    fi

    elapsed=$((t1 - t0))
    late_ticks=$(awk '$1 == "mediaplane_media_late_ticks_total" {print $2}' "$f-metrics.txt")
    # The server's own view at the end of the window, summed over its calls:
    # frames the playout buffer played as missing, packets it got too late,
    # frames concealed.
    server_view=$(jq -r '[length, (map(.stats.lost) | add // 0),
        (map(.stats.late) | add // 0), (map(.stats.concealed) | add // 0)]
        | map(tostring) | join(" ")' "$f-calls.json" 2>/dev/null || echo "- - - -")
    report=$(jq -r '[.calls_set_up, .packets_sent,
        (.loss_percent | . * 1000 | round / 1000),
        ((.echo_loss_percent // 100) | . * 1000 | round / 1000),
        .late_packets,
        (.round_trip_ms.p50_ms // "-"), (.round_trip_ms.p99_ms // "-"),
        (.round_trip_ms.max_ms // "-")] | map(tostring) | join(" ")' "$f-loadgen.json")
    echo "$N $report ${late_ticks:--}" \
        "$(percent $((m1 - m0)) "$elapsed")" \
        "$(percent $((s1 - s0 - (m1 - m0))) "$elapsed")" \
        "$(percent $((s1 - s0)) "$elapsed")" \
        "$(percent $((l1 - l0)) "$elapsed")" \
        "$(percent $((sb1 - sb0)) $((st1 - st0)))" \
        "$(percent $((lb1 - lb0)) $((lt1 - lt0)))" \
        "$((udp_rcv1 - udp_rcv0)) $((udp_snd1 - udp_snd0))" \
        "$server_view $qs_max $ql_max $rss0 $rss1" \
        "$(if [ "${VOICEMAIL:-0}" = 1 ]; then voicemail_columns; fi)"
    sleep 2
done
