#!/usr/bin/env bash
# The MPI examples as tests (make mpi-test), each run under a timeout so that a job that
# hangs fails instead of blocking:
#  - examples/mpi_mlp.c after 30 steps on 2 and 4 ranks (one MPI_Allreduce, and the
#    layer-by-layer MPI_Iallreduce) against 1 rank over the full batch. The tolerance is
#    f32 rounding from the order of summation: each rank averages its shard and the
#    allreduce adds the ranks' parts, where one rank averages the whole batch. That moves
#    parameters by about 1e-7 after 30 steps (training amplifies it: about 1e-4 after
#    100), so 1e-5 is allowed; a reduction without the 1/P scale is off by 1e-2 after
#    one step;
#  - a full training run on 2 ranks, overlapped, which must reach 95% held-out accuracy;
#  - examples/mpi_sensitivity.c on 2 and 4 ranks: the reduced ensemble gradient against
#    the sum computed in one process (1e-12 relative) and finite differences;
#  - a bad input on one rank (a label that is no class; a NaN parameter): that rank
#    reports its status and the job aborts with a non-zero status, within the timeout.
# Usage: tests/mpi/run.sh BUILD_DIR (holding mpi_mlp and mpi_sensitivity).
set -u
dir="$1"
mpirun_cmd=(mpirun --oversubscribe)
[ "$(id -u)" = 0 ] && mpirun_cmd+=(--allow-run-as-root)
limit="${MPI_TEST_TIMEOUT:-300}"
passed=0
failed=0

run() { # run NAME NP PROGRAM ARGS...: must exit 0
    local name="$1" np="$2"
    shift 2
    echo "== $name (-np $np)"
    if timeout "$limit" "${mpirun_cmd[@]}" -np "$np" "$@"; then
        passed=$((passed + 1))
    else
        echo "mpi-test: $name failed (status $?)"
        failed=$((failed + 1))
    fi
}

aborts() { # aborts NAME NP EXPECTED_TEXT PROGRAM ARGS...: must fail, not hang, and say why
    local name="$1" np="$2" text="$3" status=0
    shift 3
    echo "== $name (-np $np): must abort"
    timeout "$limit" "${mpirun_cmd[@]}" -np "$np" "$@" >"$dir/abort.log" 2>&1 || status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && grep -q "$text" "$dir/abort.log"; then
        grep "$text" "$dir/abort.log"
        echo "aborted with status $status"
        passed=$((passed + 1))
    else
        cat "$dir/abort.log"
        echo "mpi-test: $name: status $status (124: hung), expected an abort saying '$text'"
        failed=$((failed + 1))
    fi
}

ref="$dir/mlp_1rank.bin"
run "mpi_mlp 30 steps, full batch on 1 rank" 1 "$dir/mpi_mlp" --steps 30 --quiet --dump "$ref"
for np in 2 4; do
    run "mpi_mlp 30 steps, allreduce" "$np" "$dir/mpi_mlp" --steps 30 --quiet --compare "$ref" 1e-5
    run "mpi_mlp 30 steps, overlapped" "$np" "$dir/mpi_mlp" --steps 30 --quiet --overlap \
        --compare "$ref" 1e-5
done
run "mpi_mlp 30 steps, overlapped, sleeping waits" 4 "$dir/mpi_mlp" --steps 30 --quiet --overlap \
    --sleep-wait --compare "$ref" 1e-5
run "mpi_mlp trained to 95%, overlapped" 2 "$dir/mpi_mlp" --overlap
aborts "mpi_mlp, a bad label on rank 2" 4 "rank 2: backward" "$dir/mpi_mlp" --steps 20 --overlap \
    --bad-rank 2
for np in 2 4; do
    run "mpi_sensitivity, ensemble of 4" "$np" "$dir/mpi_sensitivity" --check
done
aborts "mpi_sensitivity, a NaN parameter on rank 1" 4 "rank 1, member 1" "$dir/mpi_sensitivity" \
    --bad-rank 1
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
