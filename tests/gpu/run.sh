#!/usr/bin/env bash
# GPU checks for the CUDA backend, run on a GPU machine from artifacts built elsewhere;
# needs no Rust and no nvcc. It CANNOT RUN on the CPU-only build machines (there the check
# binary reports "no device" and this script exits 77).
#
# Build on any machine with `make cuda` (installs the pinned nvcc 13.0 if needed), copy
# the repository (or just build/gpu/) to the GPU machine, then run:
#
#     tests/gpu/run.sh            # or GPU_CHECK=/path/to/gpu_check tests/gpu/run.sh
#
# It runs, and summarises:
#   1. gpu_check: every op's forward and backward on the GPU against the CPU backend
#      (f32 and f64; tolerances in cuda/examples/gpu_check.rs: f32 1e-5 relative for
#      elementwise ops and optimizers, 1e-4 for reductions, softmax, losses and matmul);
#      the same ops through a tape with the GPU attached (inputs on the device) against
#      the host tape, loss and every input gradient; then the MLP demo trained on the CPU
#      tape, with raw GPU ops, and through the tape with its parameters on the GPU, losses
#      compared, device memory constant across tape steps, and GPU step times both ways
#      at batch 64 and 4096;
#  1b. build/gpu/mlp (examples/mlp.c linked to the `cuda` build of libautodiff.so): the
#      `make demo` network trained through the C API with everything on the GPU, which
#      must reach the demo's accuracy threshold;
#   2. the same binary under compute-sanitizer memcheck (with leak check), when a CUDA
#      toolkit with compute-sanitizer is installed.
# Exit status: 0 all passed, 1 a failure, 77 no GPU.
set -uo pipefail
cd "$(dirname "$0")/../.."

bin=${GPU_CHECK:-build/gpu/gpu_check}
if [ ! -x "$bin" ]; then
    echo "run.sh: $bin is missing: run 'make cuda' on a build machine first" >&2
    exit 1
fi
# cuBLAS is loaded at run time; on the GPU machines it lives here.
for dir in /usr/local/cuda-13.0/targets/x86_64-linux/lib /usr/local/cuda/lib64; do
    [ -d "$dir" ] && export LD_LIBRARY_PATH="$dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
done
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv

echo "== 1. parity with the CPU backend, directly and through the tape, and the MLP demo"
"$bin"
parity=$?
if [ "$parity" -eq 77 ]; then
    echo "run.sh: no GPU on this machine: nothing was checked"
    exit 77
fi

echo "== 1b. the MLP demo through the C API, everything on the GPU"
if [ -x build/gpu/mlp ]; then
    build/gpu/mlp 5 0 cuda
    demo=$?
else
    echo "run.sh: build/gpu/mlp is missing (make cuda builds it)"
    demo=1
fi

echo "== 2. compute-sanitizer memcheck"
mkdir -p build/gpu
sanitizer=$(ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -n 1)
[ -n "$sanitizer" ] || sanitizer=$(command -v compute-sanitizer || true)
if [ -n "$sanitizer" ]; then
    GPU_CHECK_NO_TIMING=1 "$sanitizer" --tool memcheck --leak-check full --error-exitcode 3 "$bin" \
        > build/gpu/memcheck.log 2>&1
    memcheck=$?
    tail -n 5 build/gpu/memcheck.log
else
    memcheck=skipped
fi

echo "== summary"
echo "parity and MLP: $([ "$parity" -eq 0 ] && echo passed || echo "FAILED (status $parity)")"
echo "MLP demo (C API) on the GPU: $([ "$demo" -eq 0 ] && echo passed || echo "FAILED (status $demo)")"
case "$memcheck" in
    skipped) echo "memcheck: skipped (no compute-sanitizer under /usr/local/cuda*/bin or on PATH)" ;;
    0) echo "memcheck: clean" ;;
    *) echo "memcheck: FAILED (status $memcheck; see build/gpu/memcheck.log)" ;;
esac
[ "$parity" -eq 0 ] && [ "$demo" -eq 0 ] && { [ "$memcheck" = skipped ] || [ "$memcheck" -eq 0 ]; }
