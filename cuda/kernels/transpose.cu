// The transpose of a row-major matrix: y = xᵀ, or y += xᵀ (a gradient), for x `rows × cols`
// and y `cols × rows`. Each output element is written by exactly one thread, so the result
// is deterministic and needs no atomics.
#include "common.cuh"

// Side of the square tiles the matrix is moved in.
#define TILE 32

// One block moves one 32 × 32 tile at a time (looping over tiles past the grid): its warps
// read rows of x into shared memory and write rows of y from the tile's columns, so both
// the reads and the writes are coalesced. The tile's extra column puts a column's elements
// in different shared-memory banks. The block is 1-D, a multiple of 32 threads: thread t
// handles column `t % 32` of tile rows `t / 32`, `t / 32 + blockDim.x / 32`, ...
template <typename T>
__device__ void ad_transpose_impl(u64 rows, u64 cols, int accumulate, const T *x, T *y) {
    __shared__ T tile[TILE][TILE + 1];
    const u64 tile_cols = (cols + TILE - 1) / TILE, tiles = (rows + TILE - 1) / TILE * tile_cols;
    const unsigned lane = threadIdx.x % TILE, first = threadIdx.x / TILE, step = blockDim.x / TILE;
    for (u64 t = blockIdx.x; t < tiles; t += gridDim.x) {
        const u64 r0 = t / tile_cols * TILE, c0 = t % tile_cols * TILE;
        for (unsigned i = first; i < TILE; i += step) {
            u64 r = r0 + i, c = c0 + lane;
            if (r < rows && c < cols) tile[i][lane] = x[r * cols + c];
        }
        __syncthreads();
        // y[c0 + i, r0 + lane] = x[r0 + lane, c0 + i]
        for (unsigned i = first; i < TILE; i += step) {
            u64 c = c0 + i, r = r0 + lane;
            if (c < cols && r < rows) {
                T *out = y + c * rows + r;
                T v = tile[lane][i];
                *out = accumulate ? *out + v : v;
            }
        }
        __syncthreads();  // the tile is refilled on the next iteration
    }
}
#define P_TRANSPOSE(T) (u64 rows, u64 cols, int accumulate, const T *x, T *y)
KERNEL(ad_transpose, P_TRANSPOSE, (rows, cols, accumulate, x, y))
