#!/usr/bin/env bash
# bench/run.sh — `make bench`: wall time, CPU time and peak RSS of the boot-initrd builder
# (cold build, full rebuild from the cache, warm in-place update; zstd/gzip/none) against
# `cp`, `cp`+fsync and a naive in-memory gzip baseline, for a 240 MiB incompressible base, a
# 100 MiB ELF-like binary and a ~4 KiB config. Figures only: it fails only when a command
# fails or an output is wrong (inspect, byte comparison), never because of a timing.
#
#   bench/run.sh PATH/TO/ephemerd-vmhost
#
# Environment: BENCH_RUNS (timed runs per mode, default 5), BENCH_DIR (work tree, default
# build/bench), CC (default cc). Tools (bench/*.c) are built into $BENCH_DIR/tools, inputs
# are generated once into $BENCH_DIR/inputs and reused. See bench/README.md.
set -euo pipefail

die() {
    echo "bench: $*" >&2
    exit 1
}

[ $# -eq 1 ] || die "usage: bench/run.sh PATH/TO/ephemerd-vmhost"
if [ ! -f "$1" ] || [ ! -x "$1" ]; then
    die "$1: not an executable file"
fi
VMHOST=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/bench
OUT=${BENCH_DIR:-$ROOT/build/bench}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
RUNS=${BENCH_RUNS:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer, not '$RUNS'"
CC=${CC:-cc}

TOOLS=$OUT/tools
INPUTS=$OUT/inputs
WORK=$OUT/work
RES=$WORK/results
LOG=$WORK/bench.log
mkdir -p "$TOOLS" "$INPUTS" "$WORK" "$RES"
: >"$LOG"
T_START=$(date +%s)

# ---- tools ------------------------------------------------------------------------------
CFLAGS=(-std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes
    -Wmissing-prototypes -Wvla)
build_tool() { # name [libs...]
    local name=$1
    shift
    if [ ! -x "$TOOLS/$name" ] || [ "$SRC/$name.c" -nt "$TOOLS/$name" ]; then
        "$CC" "${CFLAGS[@]}" -o "$TOOLS/$name" "$SRC/$name.c" "$@" ||
            die "building $TOOLS/$name failed"
    fi
}
build_tool measure
build_tool gen
build_tool naive -lz
MEASURE=$TOOLS/measure

# ---- inputs (generated once, cached) ----------------------------------------------------
MIB=1048576
BASE_SIZE=$((240 * MIB))
BASE_SEED=1
BIN_SIZE=$((100 * MIB))
ELF_DIRS=(/usr/bin /usr/lib/x86_64-linux-gnu)
BASE=$INPUTS/base-240MiB-seed$BASE_SEED.cpio
BIN=$INPUTS/ephemerd-linux-100MiB
BIN_LIST=$INPUTS/ephemerd-linux-100MiB.files
CONFIG_TEMPLATE=$INPUTS/config.toml

size_of() { stat -c %s "$1"; }

if [ ! -f "$BASE" ] || [ "$(size_of "$BASE")" != "$BASE_SIZE" ]; then
    echo "bench: generating $BASE" >&2
    "$TOOLS/gen" base "$BASE" "$BASE_SIZE" "$BASE_SEED"
fi
if [ ! -f "$BIN" ] || [ ! -f "$BIN_LIST" ] || [ "$(size_of "$BIN")" != "$BIN_SIZE" ]; then
    echo "bench: generating $BIN from the ELF files in ${ELF_DIRS[*]}" >&2
    find "${ELF_DIRS[@]}" -type f -print0 | LC_ALL=C sort -z |
        "$TOOLS/gen" elf "$BIN" "$BIN_SIZE" "$BIN_LIST"
fi
cmp -s "$SRC/config.toml" "$CONFIG_TEMPLATE" 2>/dev/null || cp "$SRC/config.toml" "$CONFIG_TEMPLATE"

# ---- modes ------------------------------------------------------------------------------
declare -A LABEL
ORDER=()
CMD=()

BOOT_ID=be0c0000000000000000000000000001 # (a), (b): the same in every run

# run_mode KEY LABEL PREP_FN CMD_FN: one untimed warm-up run (index 0), then RUNS timed
# runs. Before each: PREP_FN <index>, then `sync` (untimed) so no earlier run's dirty pages
# are written back during this one. CMD_FN <index> fills CMD.
run_mode() {
    local key=$1 label=$2 prep=$3 cmdfn=$4 i line
    : >"$RES/$key"
    for ((i = 0; i <= RUNS; i++)); do
        "$prep" "$i"
        sync
        "$cmdfn" "$i"
        local what="run $i"
        [ "$i" -gt 0 ] || what="warm-up run"
        printf '=== %s, %s: %s\n' "$label" "$what" "${CMD[*]}" >>"$LOG"
        if ! line=$("$MEASURE" -l "$LOG" -- "${CMD[@]}"); then
            echo "bench: $label failed: ${CMD[*]}" >&2
            echo "bench: last lines of $LOG:" >&2
            tail -n 15 "$LOG" >&2
            exit 1
        fi
        if [ "$i" -gt 0 ]; then
            echo "$line" >>"$RES/$key"
        fi
    done
    LABEL[$key]=$label
    ORDER+=("$key")
    printf 'bench: %-44s median wall %8.1f ms\n' "$label" "$(col_median "$key" 1)" >&2
}

# Median of column N over a mode's timed runs; max for RSS.
col_median() {
    awk -v k="$2" '{print $k}' "$RES/$1" | sort -g |
        awk '{a[NR] = $1} END {if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}
col_min() { awk -v k="$2" 'NR == 1 || $k < m {m = $k} END {print m}' "$RES/$1"; }
col_max() { awk -v k="$2" 'NR == 1 || $k > m {m = $k} END {print m}' "$RES/$1"; }

no_prep() { :; }

COMP=zstd
build_cmd_id() { # build_cmd_id BOOT_ID [OUT]
    CMD=("$VMHOST" initrd build --base "$BASE" --binary "$BIN" --config "$WORK/$COMP/config.toml"
        --boot-id "$1" --compress "$COMP" --cache-dir "$WORK/$COMP/cache"
        -o "${2:-$WORK/$COMP/boot.img}")
}
build_cmd() { build_cmd_id "$BOOT_ID"; }
# (b') a new boot id every run, as every boot has
inplace_id() { printf 'be0c%028x' "$((0x1000 + $1))"; }
inplace_cmd() { build_cmd_id "$(inplace_id "$1")"; }
cold_prep() {
    rm -rf "$WORK/$COMP/cache" "$WORK/$COMP/boot.img.record" # no cache, no in-place update
    mkdir -p "$WORK/$COMP/cache" # empty
    cp "$CONFIG_TEMPLATE" "$WORK/$COMP/config.toml"
}
warm_prep() {
    cp "$CONFIG_TEMPLATE" "$WORK/$COMP/config.toml"
    printf '# bench warm run %d\n' "$1" >>"$WORK/$COMP/config.toml"
}
# (b): without the record beside the output the builder cannot update it in place: a full
# build, the binary member copied from the cache.
rebuild_prep() {
    warm_prep "$1"
    rm -f -- "$WORK/$COMP/boot.img.record"
}

CP_SRC=$WORK/zstd/boot.img
CP_DST=$WORK/cp/boot.img
cp_prep() { mkdir -p "$WORK/cp"; }
cp_cmd() { CMD=(cp -- "$CP_SRC" "$CP_DST"); }
# shellcheck disable=SC2016 # $1/$2 are expanded by that sh, not here
cpsync_cmd() { CMD=(sh -c 'cp -- "$1" "$2" && sync -- "$2"' sh "$CP_SRC" "$CP_DST"); }
naive_prep() { mkdir -p "$WORK/naive"; }
naive_cmd() { CMD=("$TOOLS/naive" "$BASE" "$BIN" "$CONFIG_TEMPLATE" "$WORK/naive/boot.img"); }

IN_PLACE_MARK='kept (in-place update)' # what `initrd build` prints for an in-place update
marks() { grep -cF -- "$IN_PLACE_MARK" "$LOG" || true; }
inode_of() { stat -c %i -- "$1"; }

# The in-place runs: each must have said so and kept the output's inode; the result must
# be byte-identical to a full build of the same inputs (last run's boot id and config).
check_in_place() { # check_in_place MARKS_BEFORE INODE_BEFORE
    local img=$WORK/$COMP/boot.img ref=$WORK/$COMP/full.img
    [ $(($(marks) - $1)) -eq $((RUNS + 1)) ] ||
        die "$COMP: $(($(marks) - $1)) of $((RUNS + 1)) in-place runs were in place (see $LOG)"
    [ "$(inode_of "$img")" = "$2" ] || die "$COMP: the in-place runs replaced $img"
    rm -f -- "$ref" "$ref.record"
    build_cmd_id "$(inplace_id "$RUNS")" "$ref"
    printf '=== full build to compare: %s\n' "${CMD[*]}" >>"$LOG"
    "${CMD[@]}" >>"$LOG" 2>&1 || die "$COMP: the comparison build failed (see $LOG)"
    cmp -s -- "$img" "$ref" || die "$COMP: the in-place output differs from a full build's"
    echo "bench: $COMP in-place output: same inode, byte-identical to a full build" >&2
    rm -f -- "$ref" "$ref.record"
}

declare -A TAIL_SIZE
check_output() { # the builder's output must inspect cleanly; records the tail size
    local img=$WORK/$COMP/boot.img
    printf '=== inspect %s\n' "$img" >>"$LOG"
    "$VMHOST" initrd inspect "$img" >>"$LOG" 2>&1 ||
        die "ephemerd-vmhost initrd inspect $img failed (see $LOG)"
    TAIL_SIZE[$COMP]=$(($(size_of "$img") - BASE_SIZE))
}

cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
echo "== ephemerd-vmhost boot-initrd bench, $(date -u '+%Y-%m-%d %H:%M UTC') =="
echo "host:    $(uname -srm), ${cpu_model:-unknown CPU}, $(nproc) CPUs," \
    "$(awk '/^MemTotal/ {printf "%d MiB RAM", $2 / 1024}' /proc/meminfo)," \
    "work dir on $(findmnt -n -o FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")"
echo "builder: $VMHOST"
echo "inputs:  base   $(size_of "$BASE") B  newc cpio: one file of seeded xoshiro256** bytes (seed $BASE_SEED),"
echo "                incompressible (like the base's compressed rootfs tarball)"
echo "         binary $(size_of "$BIN") B  $(wc -l <"$BIN_LIST") real ELF files from ${ELF_DIRS[*]},"
echo "                concatenated in C-locale path order, last one truncated" \
    "($(head -n 1 "$BIN_LIST" | cut -d' ' -f2-) .. $(tail -n 1 "$BIN_LIST" | cut -d' ' -f2-))"
echo "         config $(size_of "$CONFIG_TEMPLATE") B  bench/config.toml (warm runs append a comment line)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start — other work on this machine inflates wall times"
echo "method:  $RUNS timed runs per mode after 1 untimed warm-up run; inputs are page-cached"
echo "         (the page cache is not dropped); 'sync' before every run (untimed);"
echo "         wall/CPU = median over the runs, peak RSS = largest ru_maxrss over the runs."
echo

for COMP in zstd gzip none; do
    m0=$(marks)
    run_mode "cold-$COMP" "(a) cold build, --compress $COMP" cold_prep build_cmd
    run_mode "rebuild-$COMP" "(b) full rebuild, cache hit, --compress $COMP" rebuild_prep build_cmd
    [ "$(marks)" -eq "$m0" ] || die "$COMP: a cold or full-rebuild run was in place (see $LOG)"
    m0=$(marks)
    i0=$(inode_of "$WORK/$COMP/boot.img")
    run_mode "inplace-$COMP" "(b') warm in-place update, --compress $COMP" warm_prep inplace_cmd
    check_in_place "$m0" "$i0"
    check_output
    if [ "$COMP" = zstd ]; then
        run_mode cp "(c) cp of the zstd output (no fsync)" cp_prep cp_cmd
        run_mode cp-sync "(c') cp + sync FILE (fsync) of it" cp_prep cpsync_cmd
        run_mode naive "(d) naive: in memory, gzip -6, no fsync" naive_prep naive_cmd
        # the baseline's output must be a valid initrd too (it has no manifest)
        printf '=== inspect %s\n' "$WORK/naive/boot.img" >>"$LOG"
        "$VMHOST" initrd inspect "$WORK/naive/boot.img" >>"$LOG" 2>&1 ||
            die "ephemerd-vmhost initrd inspect $WORK/naive/boot.img failed (see $LOG)"
    fi
done

# ---- report -----------------------------------------------------------------------------
printf '%-44s %9s %19s %9s %13s\n' mode "wall ms" "(wall min..max)" "cpu ms" "peak RSS MiB"
for key in "${ORDER[@]}"; do
    printf '%-44s %9.1f %19s %9.1f %13.1f\n' "${LABEL[$key]}" "$(col_median "$key" 1)" \
        "($(col_min "$key" 1)..$(col_max "$key" 1))" "$(col_median "$key" 2)" \
        "$(awk -v k="$(col_max "$key" 5)" 'BEGIN {print k / 1024}')"
done
echo

ratio() { awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {printf "%.*f", d, (b > 0 ? a / b : 0)}'; }
wall() { col_median "$1" 1; }
echo "ratios (median wall times):"
for COMP in zstd gzip none; do
    printf '  %-5s in-place / cp %6sx (goal <= 0.2x)   rebuild / cp %5sx (goal <= 1.5x)   rebuild / (cp+sync) %5sx   naive / cold %5sx (goal >= 7x)\n' \
        "$COMP" "$(ratio "$(wall "inplace-$COMP")" "$(wall cp)" 3)" \
        "$(ratio "$(wall "rebuild-$COMP")" "$(wall cp)")" \
        "$(ratio "$(wall "rebuild-$COMP")" "$(wall cp-sync)")" \
        "$(ratio "$(wall naive)" "$(wall "cold-$COMP")")"
done
echo
echo "peak RSS vs the 16 MiB goal (every ephemerd-vmhost mode):"
for COMP in zstd gzip none; do
    for kind in cold rebuild inplace; do
        rss=$(col_max "$kind-$COMP" 5)
        awk -v r="$rss" -v m="$kind $COMP" 'BEGIN {
            printf "  %-13s %6.1f MiB  %5.1f%% of 16 MiB  %s\n", m, r / 1024, r / 1024 / 16 * 100,
                (r < 16 * 1024 ? "under" : "OVER") }'
    done
done
echo
echo "output tail bytes (output size - base size; binary member + boot member + padding):"
for COMP in zstd gzip none; do
    printf '  %-5s %11d B  (%.1f%% of the %d B binary)\n' "$COMP" "${TAIL_SIZE[$COMP]}" \
        "$(awk -v t="${TAIL_SIZE[$COMP]}" -v b="$BIN_SIZE" 'BEGIN {print t * 100 / b}')" "$BIN_SIZE"
done
naive_tail=$(($(size_of "$WORK/naive/boot.img") - BASE_SIZE))
printf '  naive %11d B  (gzip -6 of the whole tail, for comparison)\n' "$naive_tail"
echo
echo "bench: done in $(($(date +%s) - T_START)) s, load $(cut -d' ' -f1-3 /proc/loadavg) at the end; command log: $LOG"
