#!/usr/bin/env bash
# Speech quality through transcoding chains, scored with ITU-T P.862 PESQ.
#
# Synthesises reference speech (espeak-ng, a male and a female voice, 8 kHz),
# runs it through examples/quality_chain for each chain and network
# condition, scores every degraded clip against its reference with PESQ in
# narrowband mode (MOS-LQO), and prints Markdown tables: the mean score over
# voices and seeds, and what the first hop's receive path did.
#
# Chains: PCMU → PCMU, PCMU → G.722 → PCMU, PCMU → Opus → PCMU, and the
# resampling round trips to 16 and 48 kHz without a middle codec (the share
# of the G.722 and Opus chains' loss that is not the codec's). Conditions on
# the first (caller's) hop: clean, 3 % and 10 % random loss, 20 ms and 60 ms
# jitter. The network trace depends only on the seed, so every chain meets
# the same losses and delays.
#
# Installs what it needs: espeak-ng and sox with apt-get when missing, and
# the `pesq` and `numpy` Python packages into a virtual environment.
#
# Usage (from anywhere in the repository):
#   benches/quality.sh
# Environment:
#   SEEDS       trace seeds, averaged (default "1 2 3")
#   PLAYOUT_MS  target delay of the playout buffer (default 40, as config/default.toml)
#   OUT         folder for the clips and the raw results (default $TARGET/quality)
#   VENV        Python virtual environment (default $TARGET/pesq-venv)
# where TARGET is $CARGO_TARGET_DIR, or target/ in the repository.

set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET=${CARGO_TARGET_DIR:-$repo_root/target}
SEEDS=${SEEDS:-1 2 3}
PLAYOUT_MS=${PLAYOUT_MS:-40}
OUT=${OUT:-$TARGET/quality}
VENV=${VENV:-$TARGET/pesq-venv}
BIN=$TARGET/release/examples/quality_chain

CODECS=(pcmu resample16 g722 resample48 opus)
declare -A CHAIN_NAME=(
    [pcmu]="PCMU → PCMU"
    [resample16]="PCMU → 16 kHz → PCMU, no codec"
    [g722]="PCMU → G.722 → PCMU"
    [resample48]="PCMU → 48 kHz → PCMU, no codec"
    [opus]="PCMU → Opus → PCMU"
)
# name:loss percent:jitter ms
CONDITIONS=(clean:0:0 loss3:3:0 loss10:10:0 jitter20:0:20 jitter60:0:60)
declare -A CONDITION_NAME=(
    [clean]="clean"
    [loss3]="3 % loss"
    [loss10]="10 % loss"
    [jitter20]="20 ms jitter"
    [jitter60]="60 ms jitter"
)
VOICES=(m3 f3)
SENTENCES="Please hold while your call is connected to the next available agent.
The weather tomorrow will be cold, with strong winds along the coast.
She bought three green apples."

log() { echo "quality: $*" >&2; }

install_tools() {
    local missing=()
    for tool in espeak-ng sox; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] && return
    log "installing ${missing[*]}"
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_pesq() {
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import pesq, numpy' 2>/dev/null; then
        return
    fi
    # PyPI's pesq is built from source: it needs a C compiler, and pip
    # fetches numpy and Cython for the build by itself.
    log "installing pesq into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check 'pesq==0.0.4' numpy
}

# P.862 wants 8–12 s of speech with pauses: three sentences (about 11 s),
# leading and trailing silence trimmed to a fixed 0.5 s pad, peaks at -6 dBFS.
make_speech() {
    local voice="$1" out="$2" raw
    raw="$(mktemp --suffix=.wav)"
    espeak-ng -v "en+$voice" -s 150 -w "$raw" "$SENTENCES"
    # -D: no dither, so the reference is the same on every run.
    sox -D "$raw" -r 8000 -c 1 -b 16 -e signed-integer "$out" \
        silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse \
        norm -6 rate -v 8000 pad 0.5 0.5
    rm -f "$raw"
}

# Reads "reference degraded" pairs on stdin, prints "degraded score" lines.
score_all() {
    "$VENV/bin/python" -c '
import sys, wave
import numpy as np
from pesq import pesq

def read(path):
    with wave.open(path) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return w.getframerate(), pcm.astype(np.float64)

for line in sys.stdin:
    ref_path, deg_path = line.split()
    rate, ref = read(ref_path)
    _, deg = read(deg_path)
    print(deg_path, "%.3f" % pesq(rate, ref, deg, "nb"), flush=True)
'
}

# The value of key=VALUE in a quality_chain stats line.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

mean() { awk '{ s += $1; n++ } END { printf "%.2f", s / n }'; }

install_tools
install_pesq
mkdir -p "$OUT"
log "building the example"
(cd "$repo_root" && cargo build --release --quiet --example quality_chain)

for voice in "${VOICES[@]}"; do
    make_speech "$voice" "$OUT/ref-$voice.wav"
    log "reference $voice: $(soxi -D "$OUT/ref-$voice.wav") s"
done

: >"$OUT/pairs.txt"
: >"$OUT/stats.txt"
for codec in "${CODECS[@]}"; do
    log "running $codec"
    for condition in "${CONDITIONS[@]}"; do
        IFS=: read -r name loss jitter <<<"$condition"
        for seed in $SEEDS; do
            for voice in "${VOICES[@]}"; do
                deg="$OUT/deg-$codec-$name-$seed-$voice.wav"
                stats=$("$BIN" --codec "$codec" --loss "$loss" --jitter "$jitter" \
                    --seed "$seed" --playout-ms "$PLAYOUT_MS" \
                    --in "$OUT/ref-$voice.wav" --out "$deg" 2>&1 >/dev/null)
                echo "$codec $name $seed $voice $stats" >>"$OUT/stats.txt"
                echo "$OUT/ref-$voice.wav $deg" >>"$OUT/pairs.txt"
            done
        done
    done
done

log "scoring $(wc -l <"$OUT/pairs.txt") clips"
score_all <"$OUT/pairs.txt" >"$OUT/scores.txt"
declare -A SCORE
while read -r deg score; do SCORE[$deg]=$score; done <"$OUT/scores.txt"

header="| |"
rule="| --- |"
for condition in "${CONDITIONS[@]}"; do
    header+=" ${CONDITION_NAME[${condition%%:*}]} |"
    rule+=" ---: |"
done

echo "PESQ MOS-LQO (P.862, narrowband), mean of ${#VOICES[@]} voices × seeds $SEEDS:"
echo
echo "${header/| |/| chain |}"
echo "$rule"
for codec in "${CODECS[@]}"; do
    row="| ${CHAIN_NAME[$codec]} |"
    for condition in "${CONDITIONS[@]}"; do
        name=${condition%%:*}
        row+=" $(for seed in $SEEDS; do
            for voice in "${VOICES[@]}"; do
                echo "${SCORE[$OUT/deg-$codec-$name-$seed-$voice.wav]}"
            done
        done | mean) |"
    done
    echo "$row"
done

# The first hop is PCMU whatever the middle codec, and its trace depends only
# on the seed, so the receive path's counters are read from one chain.
echo
echo "First hop's receive path: packets and frames summed over voices and seeds;"
echo "send-to-playout delay at the start and the end of a clip, range over runs:"
echo
echo "${header/| |/| receive path |}"
echo "$rule"
declare -A LABEL=(
    [sent]="packets sent"
    [dropped]="dropped by the network"
    [reordered]="arrived out of order"
    [too_late]="too late for playout"
    [lost]="played as missing (lost)"
    [underrun_ticks]="underrun ticks"
    [concealed]="concealed frames"
    [delay_start_ms]="delay at the start"
    [delay_end_ms]="delay at the end"
)
for key in sent dropped reordered too_late lost underrun_ticks concealed delay_start_ms delay_end_ms; do
    row="| ${LABEL[$key]} |"
    for condition in "${CONDITIONS[@]}"; do
        name=${condition%%:*}
        values=$(grep "^pcmu $name " "$OUT/stats.txt" | while read -r line; do
            field "$key" "$line"
        done | sort -n)
        case "$key" in
            delay_*)
                low=$(head -1 <<<"$values") high=$(tail -1 <<<"$values")
                if [ "$low" = "$high" ]; then row+=" $low ms |"; else row+=" $low–$high ms |"; fi
                ;;
            *) row+=" $(awk '{ s += $1 } END { print s }' <<<"$values") |" ;;
        esac
    done
    echo "$row"
done
