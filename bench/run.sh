#!/usr/bin/env bash
# Run libautodiff's benchmarks and the peers' back to back on this machine, pinned to
# one core where possible, and print markdown tables to paste into BENCHMARKS.md.
#
#   bench/run.sh [--mlp] [--samples N] [--cpu K] [--raw FILE]
#
#   CODIPACK=<CoDiPack>/include adds CoDiPack (header-only, not in Debian) beside ADOL-C.
#
#   --mlp      also the MLP training step: ours (`cargo bench --bench mlp`, skipped when
#              core/benches/mlp.rs does not exist) and PyTorch / JAX (bench/peers, after
#              bench/peers/setup_venv.sh, which installs a venv of several GB)
#   --samples  samples per median for our scalar report (default 2000)
#   --cpu      the core to pin to (default 1, or 0 on a one-core machine); PIN_CPU works too
#   --raw      also keep the raw result lines in FILE
#
# Progress goes to stderr; the markdown goes to stdout.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

mlp=0
samples=2000
cpu="${PIN_CPU:-}"
raw_copy=""
while [ $# -gt 0 ]; do
    case "$1" in
        --mlp) mlp=1 ;;
        --samples) samples="$2"; shift ;;
        --cpu) cpu="$2"; shift ;;
        --raw) raw_copy="$2"; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$cpu" ]; then
    if [ "$(nproc)" -ge 2 ]; then cpu=1; else cpu=0; fi
fi
pin=()
pin_note="not pinned (taskset unavailable)"
if command -v taskset >/dev/null 2>&1 && taskset -c "$cpu" true 2>/dev/null; then
    pin=(taskset -c "$cpu")
    pin_note="each benchmark pinned to CPU $cpu with \`taskset -c $cpu\`"
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
say() { echo "bench/run.sh: $*" >&2; }

# ---- machine and tools ----
cpu_model="$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -1)"
online="$(lscpu 2>/dev/null | sed -n 's/^CPU(s):[[:space:]]*//p' | head -1)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
rustc_version="$(rustc --version 2>/dev/null)"
gxx_version="$(g++ --version 2>/dev/null | head -1)"
started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
commit="$(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet HEAD 2>/dev/null || echo '+uncommitted')"

# ---- ours: scalar report ----
say "building the scalar report (release)"
if cargo build -q --release -p autodiff-core --example bench_report >&2; then
    say "running the scalar report ($samples samples per median)"
    "${pin[@]}" target/release/examples/bench_report --samples "$samples" >>"$log" || status=1
else
    say "build failed: scalar report skipped"
    status=1
fi

# ---- ADOL-C ----
say "running ADOL-C (bench/peers/adolc.sh)"
if [ ${#pin[@]} -gt 0 ]; then
    PIN_CPU="$cpu" bench/peers/adolc.sh >>"$log" 2>&1 || status=1
else
    bench/peers/adolc.sh >>"$log" 2>&1 || status=1
fi

# ---- CoDiPack (when CODIPACK is given) ----
if [ -n "${CODIPACK:-}" ]; then
    say "running CoDiPack (bench/peers/codipack.sh)"
    if [ ${#pin[@]} -gt 0 ]; then
        PIN_CPU="$cpu" bench/peers/codipack.sh >>"$log" 2>&1 || status=1
    else
        bench/peers/codipack.sh >>"$log" 2>&1 || status=1
    fi
fi

# ---- MLP (opt-in) ----
mlp_ours_note=""
if [ "$mlp" = 1 ]; then
    if [ -f core/benches/mlp.rs ]; then
        say "building and running cargo bench --bench mlp"
        if cargo bench -q -p autodiff-core --bench mlp --no-run >&2; then
            "${pin[@]}" cargo bench -q -p autodiff-core --bench mlp 2>&1 \
                | sed 's/^/# mlp-bench: /' >>"$log" || status=1
        else
            status=1
        fi
    else
        mlp_ours_note="core/benches/mlp.rs does not exist yet: our MLP step was skipped"
        say "$mlp_ours_note"
    fi
    say "setting up the Python peers (bench/peers/setup_venv.sh)"
    if bench/peers/setup_venv.sh >&2; then
        py=bench/peers/.venv/bin/python
        export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
        export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1}"
        echo "# python $("$py" -c 'import sys; print(sys.version.split()[0])')" >>"$log"
        for script in mlp_torch.py mlp_jax.py; do
            say "running $script"
            "${pin[@]}" "$py" "bench/peers/$script" >>"$log" 2>&1 || status=1
        done
    else
        say "venv setup failed: Python peers skipped"
        status=1
    fi
fi
load_after="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
[ -n "$raw_copy" ] && cp "$log" "$raw_copy"

# ---- markdown ----
# val PREFIX KEY: the value of KEY=... on the first result line starting with PREFIX.
val() { grep -m1 "^$1 " "$log" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
div() { if [ -z "$1" ] || [ -z "$2" ]; then echo "n/a"; else awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; fi; }
orna() { if [ -n "$1" ]; then echo "$1"; else echo "n/a"; fi; }
# met VALUE LIMIT: "met" when VALUE <= LIMIT.
met() {
    if [ -z "$1" ] || [ "$1" = "n/a" ]; then echo "not measured"; return; fi
    awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "**met**" : "**not met**" }'
}

adolc_version="$(sed -n 's/^# adolc version //p' "$log" | head -1)"
codipack_version="$(sed -n 's/^# codipack version //p' "$log" | head -1)"
echo "### Machine and run"
echo
echo "- CPU: ${cpu_model:-unknown}, $(nproc) CPU(s) available to this process, ${online:-?} online"
echo "- $pin_note"
echo "- load average (1, 5, 15 min): ${load_before:-?} before the run, ${load_after:-?} after"
echo "- ${rustc_version:-rustc unknown}; ${gxx_version:-g++ unknown}; ADOL-C ${adolc_version:-not installed}; CoDiPack ${codipack_version:-not given}"
echo "- commit ${commit:-unknown}, started $started"
echo "- ours: \`bench_report\` example, release profile, medians over $samples samples;" \
     "ADOL-C: \`bench/peers/adolc_bench.cpp\`, g++ -O2; CoDiPack:" \
     "\`bench/peers/codipack_bench.cpp\` (\`codi::RealReverse\`), g++ -O3; peers' medians over 200 samples"
echo

for w in rosenbrock chain; do
    ours_rg="$(val "autodiff $w" record_grad_us)"
    ours_pg="$(val "autodiff $w" replay_grad_us)"
    ours_p="$(val "autodiff $w" plain_us)"
    ad_rg="$(val "adolc $w" retape_us)"
    ad_pg="$(val "adolc $w" reuse_us)"
    ad_p="$(val "adolc $w" plain_us)"
    cd_rg="$(val "codipack $w" retape_us)"
    cd_b="$(val "codipack $w" backward_us)"
    cd_p="$(val "codipack $w" plain_us)"
    case "$w" in
        rosenbrock) echo "### Rosenbrock, n = 1000 (µs per call, medians)" ;;
        chain) echo "### Transcendental chain, n = 1000 (µs per call, medians)" ;;
    esac
    echo
    echo "| | libautodiff | ADOL-C | ADOL-C ÷ libautodiff | CoDiPack | CoDiPack ÷ libautodiff |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| gradient including recording (peers: taped every call) | $(orna "$ours_rg") | $(orna "$ad_rg") | $(div "$ad_rg" "$ours_rg") | $(orna "$cd_rg") | $(div "$cd_rg" "$ours_rg") |"
    echo "| gradient on a tape recorded once, at another point (ours: \`replay\` + \`gradient_into\`; ADOL-C: \`gradient\` on the reused tape; CoDiPack's Jacobian tape cannot) | $(orna "$ours_pg") | $(orna "$ad_pg") | $(div "$ad_pg" "$ours_pg") | | |"
    echo "| backward alone on a recorded tape, at its point | $(orna "$(val "autodiff $w" backward_us)") | | | $(orna "$cd_b") | $(div "$cd_b" "$(val "autodiff $w" backward_us)") |"
    echo "| plain f64 function (ours: Rust; the peers': C++ on \`double\`) | $(orna "$ours_p") | $(orna "$ad_p") | $(div "$ad_p" "$ours_p") | $(orna "$cd_p") | $(div "$cd_p" "$ours_p") |"
    echo "| gradient including recording ÷ plain function | $(div "$ours_rg" "$ours_p")× | $(div "$ad_rg" "$ad_p")× | | $(div "$cd_rg" "$cd_p")× | |"
    echo "| gradient on a recorded tape ÷ plain function | $(div "$ours_pg" "$ours_p")× | $(div "$ad_pg" "$ad_p")× | | | |"
    echo
done

echo "### libautodiff tape statistics (f64)"
echo
echo "| workload | records (inputs / constants / inline-constant ops / unary / binary) | record µs | ns per record, recording | backward µs | ns per record, backward | replay µs | bytes per record | arena bytes per record | arena bytes per op (all but inputs and constants) |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for w in rosenbrock chain; do
    p="autodiff $w"
    echo "| $w | $(orna "$(val "$p" records)") ($(val "$p" inputs) / $(val "$p" constants) / $(val "$p" inline_constant) / $(val "$p" unary) / $(val "$p" binary)) | $(orna "$(val "$p" record_us)") | $(orna "$(val "$p" ns_per_record)") | $(orna "$(val "$p" backward_us)") | $(orna "$(val "$p" ns_per_backward_record)") | $(orna "$(val "$p" replay_us)") | $(orna "$(val "$p" bytes_per_record)") | $(orna "$(val "$p" used_bytes_per_record)") | $(orna "$(val "$p" used_bytes_per_op)") |"
done
echo
echo "\"backward µs\" is \`gradient_into\` alone on a recorded tape, including the pass that clears"
echo "the previous call's adjoints (right after recording or replay that pass is skipped)."
echo

rg="$(val "autodiff rosenbrock" record_grad_us)"
chain_ratio="$(div "$(val "autodiff chain" record_grad_us)" "$(val "autodiff chain" plain_us)")"
bpr="$(val "autodiff rosenbrock" bytes_per_record)"
echo "### Targets"
echo
echo "| target | libautodiff, this run | ADOL-C, this run | CoDiPack, this run | status |"
echo "|---|---:|---:|---:|---|"
echo "| Rosenbrock gradient including recording ≤ 25 µs | $(orna "$rg") µs | $(orna "$(val "adolc rosenbrock" retape_us)") µs retaped, $(orna "$(val "adolc rosenbrock" reuse_us)") µs reused | $(orna "$(val "codipack rosenbrock" retape_us)") µs retaped | $(met "$rg" 25) |"
echo "| chain: gradient including recording ≤ 4× the plain f64 function | ${chain_ratio}× | $(div "$(val "adolc chain" retape_us)" "$(val "adolc chain" plain_us)")× retaped | $(div "$(val "codipack chain" retape_us)" "$(val "codipack chain" plain_us)")× retaped | $(met "$chain_ratio" 4) |"
echo "| ≤ 24 bytes per recorded binary op | $(orna "$bpr") B per record | | | $(met "$bpr" 24) |"
echo

if [ "$mlp" = 1 ]; then
    echo "### MLP training step (raw lines)"
    echo
    [ -n "$mlp_ours_note" ] && echo "$mlp_ours_note." && echo
    echo '```'
    grep -E '^(torch|jax) |^# mlp-bench: ' "$log"
    echo '```'
    echo
fi

echo "### Raw result lines"
echo
echo '```'
cat "$log"
echo '```'
exit $status
