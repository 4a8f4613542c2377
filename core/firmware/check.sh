#!/usr/bin/env bash
# Builds the firmware programs, runs them under QEMU and compares what each printed with
# the same program built for the host; then prints their footprint. `make firmware`
# runs it from the root. Transcripts and the footprint table go to $OUT (default
# build/firmware under the root).
#
#  - thumbv7em-none-eabihf (Cortex-M4F, hardware f32) on QEMU's mps2-an386;
#  - thumbv6m-none-eabi (Cortex-M0 instruction set: no FPU, no atomic read-modify-write)
#    on QEMU's mps2-an385, a Cortex-M3 that runs the same code, because QEMU's only
#    Cortex-M0 board (microbit) has 16 KiB of RAM; the two small scalar programs, which
#    fit, also run on that board.
set -euo pipefail
cd "$(dirname "$0")"
OUT=${OUT:-../../build/firmware}
mkdir -p "$OUT"
PROGRAMS="seed rosenbrock mlp ode"
HOST=x86_64-unknown-linux-gnu
QEMU_TIMEOUT=${QEMU_TIMEOUT:-300}

for tool in qemu-system-arm arm-none-eabi-size arm-none-eabi-nm; do
    command -v $tool >/dev/null || {
        echo "firmware: $tool is missing (apt-get install qemu-system-arm binutils-arm-none-eabi)"
        exit 1
    }
done
for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    rustup target list --installed 2>/dev/null | grep -qx $target ||
        { echo "firmware: rust target $target is missing (rustup target add $target)"; exit 1; }
done

echo "== firmware: fmt, clippy (Cortex-M and host)"
cargo fmt -- --check
cargo clippy -q --release -- -D warnings
cargo clippy -q --release --target $HOST -- -D warnings

echo "== firmware: build for the host and both Cortex-M targets"
cargo build -q --release --target $HOST
cargo build -q --release --target thumbv7em-none-eabihf

# run_on <label> <elf> <qemu machine args...>: runs one program, keeps its transcript,
# and compares it with the host's run of the same program.
run_on() {
    local label=$1 elf=$2; shift 2
    local name; name=$(basename "$elf")
    local transcript="$OUT/$label-$name.txt"
    local status=0
    timeout "$QEMU_TIMEOUT" qemu-system-arm "$@" -display none -monitor none -serial none \
        -semihosting-config enable=on,target=native -kernel "$elf" >"$transcript" || status=$?
    if [ $status -ne 0 ]; then
        cat "$transcript"
        echo "firmware: $name on $label failed (status $status)"; exit 1
    fi
    local compared="$OUT/$label-$name.compare.txt"
    if ! "${HOST_BIN_DIR:-target/$HOST/release}/$name" --compare "$transcript" >"$compared"; then
        cat "$compared"
        echo "firmware: $name on $label disagrees with the host, or failed there"; exit 1
    fi
    echo "$label $name: $(tail -n 1 "$compared")"
}

echo "== firmware: run under QEMU, compare with the host"
for p in $PROGRAMS; do
    run_on cortex-m4f target/thumbv7em-none-eabihf/release/$p -machine mps2-an386 -cpu cortex-m4
done
# footprint <target> <label of the runs>: one table row per program.
footprint() {
    local target=$1 runs=$2
    for p in $PROGRAMS; do
        local elf=target/$target/release/$p
        # Berkeley format: text (code, read-only data and the vector table), data, bss.
        read -r text data bss _ < <(arm-none-eabi-size "$elf" | tail -n 1)
        local stack; stack=$(sed -n 's/^# stack bytes at most //p' "$OUT/$runs-$p.txt")
        printf '%-22s %-10s %8d %8d %8d\n' "$target" "$p" $((text + data)) $((data + bss)) "$stack"
    done
}
{
    printf '%-22s %-10s %8s %8s %8s\n' target program flash static stack
    footprint thumbv7em-none-eabihf cortex-m4f
} >"$OUT/footprint.txt"

# `rosenbrock` records only `+ − ×`: built again without the core's `transcendental`
# feature (in its own target directory), it links none of libm's exp/sin/pow code, which
# is what a scalar reverse-mode program that needs no libm pays.
ALGEBRAIC=target/algebraic
for target in $HOST thumbv7em-none-eabihf; do
    CARGO_TARGET_DIR=$ALGEBRAIC cargo build -q --release --no-default-features --target $target \
        --bin rosenbrock
done
HOST_BIN_DIR=$ALGEBRAIC/$HOST/release run_on cortex-m4f-no-libm "$ALGEBRAIC/thumbv7em-none-eabihf/release/rosenbrock" \
    -machine mps2-an386 -cpu cortex-m4
read -r text data bss _ < <(arm-none-eabi-size "$ALGEBRAIC/thumbv7em-none-eabihf/release/rosenbrock" | tail -n 1)
stack=$(sed -n 's/^# stack bytes at most //p' "$OUT/cortex-m4f-no-libm-rosenbrock.txt")
printf '%-22s %-10s %8d %8d %8d\n' "thumbv7em (no libm)" rosenbrock $((text + data)) $((data + bss)) "$stack" \
    >>"$OUT/footprint.txt"

# What an f32 scalar program must not pay for: tensor, checkpointing or kernel code. (The
# tensor layer's sweeps are reached through function pointers, so if they were linked
# their symbols would be here, whatever the inlining.)
for p in seed rosenbrock; do
    if arm-none-eabi-nm -C target/thumbv7em-none-eabihf/release/$p |
        grep -E 'autodiff_core::(tensor|checkpoint|kernels)'; then
        echo "firmware: the scalar program $p links tensor, checkpoint or kernel code"; exit 1
    fi
done
echo "firmware: the f32 scalar programs link no tensor, checkpointing or kernel code"

cargo build -q --release --target thumbv6m-none-eabi
for p in $PROGRAMS; do
    run_on armv6m-on-m3 target/thumbv6m-none-eabi/release/$p -machine mps2-an385
done
footprint thumbv6m-none-eabi armv6m-on-m3 >>"$OUT/footprint.txt"
SMALL="seed rosenbrock"
AUTODIFF_FIRMWARE_BOARD=microbit cargo build -q --release --target thumbv6m-none-eabi \
    $(printf -- '--bin %s ' $SMALL)
for p in $SMALL; do
    run_on cortex-m0 target/thumbv6m-none-eabi/release/$p -machine microbit
done
# Back to the default board, so the thumbv6m images left behind match the table.
cargo build -q --release --target thumbv6m-none-eabi

echo "== firmware: footprint in bytes (flash = text + data; static RAM = data + bss; peak stack)"
cat "$OUT/footprint.txt"
echo "firmware: all programs ran under QEMU and agreed with the host"
