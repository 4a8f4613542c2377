#!/usr/bin/env bash
# The sparse benchmarks: ours (core/examples/sparse_bench.rs) and ADOL-C with ColPack
# (bench/peers/adolc_sparse.cpp) back to back, each pinned to one core where possible.
# Prints markdown to paste into BENCHMARKS.md.
#
#   bench/sparse.sh [--quick] [--cpu K]
#
#   --quick   only n = 10^4 (both problems)
#   --cpu     the core to pin to (default 1, or 0 on a one-core machine)
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
quick=()
cpu=""
while [ $# -gt 0 ]; do
    case "$1" in
        --quick) quick=(--quick) ;;
        --cpu) cpu="$2"; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$cpu" ]; then
    if [ "$(nproc)" -ge 2 ]; then cpu=1; else cpu=0; fi
fi
pin=()
if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
    pin=(taskset -c "$cpu")
fi
echo "## Machine"
echo
echo "- CPU: $(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1), $(nproc) cores online"
echo "- pinned: ${pin[*]:-not pinned}"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- $(rustc --version); $(g++ --version | head -1)"
echo "- ADOL-C $(dpkg-query -W -f='${Version}' libadolc-dev 2>/dev/null || echo '?'), ColPack $(dpkg-query -W -f='${Version}' libcolpack-dev 2>/dev/null || echo '?')"
echo "- commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo
cargo build --release -q -p autodiff-core --example sparse_bench || exit 1
echo "## libautodiff"
echo
"${pin[@]}" target/release/examples/sparse_bench "${quick[@]}" || exit 1
if [ -d /usr/include/adolc ] && [ -d /usr/include/ColPack ]; then
    build="$root/build/bench"
    mkdir -p "$build"
    g++ -O2 -std=c++17 -I/usr/include/ColPack -o "$build/adolc_sparse" \
        bench/peers/adolc_sparse.cpp -ladolc -lColPack || exit 1
    echo "## ADOL-C (jac_pat/hess_pat + ColPack + fov_forward/hess_mat + ColPack recovery)"
    echo
    # ADOL-C writes tapes that overflow its buffers to files in the working directory.
    (cd "$build" && "${pin[@]}" ./adolc_sparse --jacobians "${quick[@]}") || exit 1
    # A process of their own: after the n = 10^6 tape, ADOL-C's Hessians run far slower.
    (cd "$build" && "${pin[@]}" ./adolc_sparse --hessians "${quick[@]}") || exit 1
else
    echo "ADOL-C or ColPack headers not installed: the peer is skipped"
fi
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
