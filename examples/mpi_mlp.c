/* The `make demo` network (examples/mlp.c) trained data-parallel over MPI.
 *
 * Every rank builds the same data set and the same shuffle from the same seed, and takes
 * its shard of every batch: rows [rank * b, (rank + 1) * b) with b = batch / ranks. It
 * records its shard's loss scaled by 1 / ranks, so that the sum of the ranks' gradients
 * is the gradient of the mean loss over the whole batch. Rank 0's initial parameters are
 * broadcast to the others (ad_param_group_read_values_f32 / MPI_Bcast /
 * ad_param_group_write_values_f32). After each backward the gradients are summed in
 * place, then every rank takes the same optimizer step:
 *
 *  - by default, one group holds every parameter's gradient, and one
 *    MPI_Allreduce(MPI_IN_PLACE, ...) over its buffer follows ad_backward();
 *  - with --overlap, each layer is a group, and ad_backward_notify() announces each
 *    group as soon as its gradient is complete (the last layer first): the callback
 *    starts an MPI_Iallreduce on that group's buffer while the sweep goes on with the
 *    layers below, and MPI_Waitall completes them before ad_optim_step().
 *
 * A rank whose step fails (--bad-rank R gives rank R's shard a label that is no class
 * at step 3: the loss's record fails, and its backward reports AD_ERR_INVALID_ARGUMENT)
 * prints its status and message, and calls MPI_Abort: the whole job ends with a
 * non-zero status instead of the other ranks waiting forever in the reduction.
 *
 *   mpirun -np 4 mpi_mlp [--epochs N] [--steps N] [--batch B] [--overlap [--sleep-wait]]
 *                        [--dump FILE] [--compare FILE TOL] [--bad-rank R] [--quiet]
 *
 * --steps caps the training (the accuracy threshold is then not checked); --batch is
 * the global batch (default 64; a multiple of the number of ranks); --dump writes rank
 * 0's final parameters (raw float32); --compare reads such a file and fails unless
 * every parameter is within TOL of it. Without a cap, rank 0 exits 0 only if the
 * held-out accuracy reaches 95%, as examples/mlp.c does. Rank 0 prints the median time
 * per step and the median time spent in MPI calls (the reduction) per step.
 */
#define _POSIX_C_SOURCE 199309L
#include <math.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "autodiff.h"
#include "mlp_data.h"

#define DIM 100
#define CLASSES 10
#define WIDTH 100
#define HIDDEN 10
#define LAYERS (HIDDEN + 1)
#define TRAIN 4000
#define TEST 1000
#define MAX_BATCH 512
#define TARGET_ACCURACY 0.95
#define LR 0.01
#define NOISE 1.5f
#define MAX_TIMED 4096

static unsigned char mem[8 << 20];
static float train_x[TRAIN][DIM], test_x[TEST][DIM];
static uint32_t train_y[TRAIN], test_y[TEST];
static float batch_x[MAX_BATCH * DIM], logits[MAX_BATCH * CLASSES];
static uint32_t batch_y[MAX_BATCH];
static size_t order[TRAIN];
static float init[WIDTH * WIDTH];
static float values[(DIM + 1) * WIDTH * LAYERS];
static double step_time[MAX_TIMED], mpi_time[MAX_TIMED];

/* The same data and initial weights on every run (mlp_data.h). */
static void make_data(void) {
    static float centers[CLASSES * DIM];
    make_blobs(DIM, CLASSES, NOISE, centers, TRAIN, &train_x[0][0], train_y, TEST, &test_x[0][0],
               test_y);
}

struct options {
    int epochs, overlap, sleep_wait, bad_rank, quiet;
    long max_steps;
    size_t batch;
    const char *dump, *compare;
    double tolerance;
};

struct job {
    int rank, ranks;
    ad_tape *t;
    ad_param weight[LAYERS], bias[LAYERS];
    ad_param_group all, layer[LAYERS];
    float *layer_grads[LAYERS];
    size_t layer_len[LAYERS], total;
    MPI_Request requests[LAYERS];
    int started[LAYERS];
    double mpi_seconds; /* time inside MPI calls during this step */
};

/* Ends the whole job: the failing rank's status and message first. */
static void abort_job(const struct job *j, const char *what, ad_status status) {
    fprintf(stderr, "mpi_mlp: rank %d: %s: %s (%s); aborting the job\n", j->rank, what,
            j->t ? ad_tape_error(j->t) : "", ad_status_str(status));
    MPI_Abort(MPI_COMM_WORLD, 3);
}

#define TRY(j, call, what)                                                                        \
    do {                                                                                          \
        ad_status try_status_ = (call);                                                           \
        if (try_status_ != AD_OK) abort_job((j), (what), try_status_);                           \
    } while (0)

/* Records the network on `rows` samples at batch_x: the logits, [rows, 10]. */
static ad_tensor forward(struct job *j, size_t rows) {
    const size_t dims[2] = {rows, DIM};
    ad_tensor h = ad_tensor_const_f32(j->t, dims, 2, batch_x, rows * DIM);
    int l;
    for (l = 0; l < LAYERS; l++)
        h = ad_linear(j->t, h, ad_param_use(j->t, j->weight[l]), ad_param_use(j->t, j->bias[l]),
                      l < HIDDEN ? AD_ACT_RELU : AD_ACT_IDENTITY);
    return h;
}

/* Parameters as in examples/mlp.c (rank 0's are broadcast), one group per layer for the
 * overlapped reduction and one of everything for the blocking one. */
static void build(struct job *j, const struct options *o) {
    int l;
    size_t i;
    TRY(j, ad_tape_init(mem, sizeof mem, AD_F32, &j->t), "ad_tape_init");
    for (l = 0; l < LAYERS; l++) {
        const size_t out = l < HIDDEN ? WIDTH : CLASSES, in = l == 0 ? DIM : WIDTH;
        const size_t wdims[2] = {in, out}, bdims[1] = {out};
        for (i = 0; i < in * out; i++) init[i] = (float)(gaussian() * sqrt(2.0 / (double)in));
        TRY(j, ad_param_new_f32(j->t, wdims, 2, init, in * out, &j->weight[l]), "weight");
        for (i = 0; i < out; i++) init[i] = 0.0f;
        TRY(j, ad_param_new_f32(j->t, bdims, 1, init, out, &j->bias[l]), "bias");
    }
    TRY(j, ad_optim_sgd(j->t, LR, 0.9, 0.0), "ad_optim_sgd");
    if (o->overlap) {
        for (l = 0; l < LAYERS; l++) {
            const ad_param pair[2] = {j->weight[l], j->bias[l]};
            TRY(j, ad_param_group_new(j->t, pair, 2, &j->layer[l]), "ad_param_group_new");
            TRY(j,
                ad_param_group_grads_f32(j->t, j->layer[l], &j->layer_grads[l],
                                         &j->layer_len[l]),
                "ad_param_group_grads_f32");
        }
    } else {
        TRY(j, ad_param_group_all(j->t, &j->all), "ad_param_group_all");
    }
    /* Every rank starts from rank 0's parameters. The groups above cover all of them, in
     * creation order either way; a group of all would do too, but a parameter can be in
     * one group only. */
    for (l = 0; l < (o->overlap ? LAYERS : 1); l++) {
        ad_param_group g = o->overlap ? j->layer[l] : j->all;
        size_t n = 0;
        TRY(j, ad_param_group_len(j->t, g, &n), "ad_param_group_len");
        TRY(j, ad_param_group_read_values_f32(j->t, g, values, n), "read values");
        MPI_Bcast(values, (int)n, MPI_FLOAT, 0, MPI_COMM_WORLD);
        TRY(j, ad_param_group_write_values_f32(j->t, g, values, n), "write values");
        j->total += n;
    }
}

/* ad_backward_notify's callback: start reducing the finished layer, and give MPI a
 * chance to progress the reductions already started. */
static void layer_ready(ad_tape *t, ad_param_group g, void *user_data) {
    struct job *j = user_data;
    double start = MPI_Wtime();
    float *grads = NULL;
    size_t n = 0;
    int l = (int)g.index, done = 0;
    if (ad_param_group_grads_f32(t, g, &grads, &n) != AD_OK) return; /* backward reports it */
    MPI_Iallreduce(MPI_IN_PLACE, grads, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                   &j->requests[l]);
    j->started[l] = 1;
    MPI_Testall(LAYERS, j->requests, &done, MPI_STATUSES_IGNORE);
    j->mpi_seconds += MPI_Wtime() - start;
}

/* Completes the layers' reductions. With --sleep-wait, polls and sleeps 20 us between
 * polls instead of spinning inside MPI_Waitall: with more ranks than cores (or a busy
 * machine) a spinning rank holds the core that the rank it waits for needs. */
static void wait_all(struct job *j, const struct options *o) {
    const struct timespec pause = {0, 20000};
    int done = 0;
    if (!o->sleep_wait) {
        MPI_Waitall(LAYERS, j->requests, MPI_STATUSES_IGNORE);
        return;
    }
    for (;;) {
        MPI_Testall(LAYERS, j->requests, &done, MPI_STATUSES_IGNORE);
        if (done) return;
        nanosleep(&pause, NULL);
    }
}

/* One training step on this rank's shard of the batch in batch_x / batch_y. */
static void train_step(struct job *j, const struct options *o, size_t shard) {
    ad_var loss;
    int l;
    j->mpi_seconds = 0.0;
    TRY(j, ad_tape_reset(j->t), "reset");
    loss = ad_tensor_as_var(j->t, ad_tensor_scale(j->t, ad_cross_entropy(j->t, forward(j, shard),
                                                                          batch_y, shard),
                                                  1.0 / j->ranks));
    if (o->overlap) {
        double start;
        for (l = 0; l < LAYERS; l++) {
            j->requests[l] = MPI_REQUEST_NULL;
            j->started[l] = 0;
        }
        TRY(j, ad_backward_notify(j->t, loss, layer_ready, j), "backward");
        start = MPI_Wtime();
        for (l = LAYERS - 1; l >= 0; l--) /* a layer the sweep did not announce */
            if (!j->started[l])
                MPI_Iallreduce(MPI_IN_PLACE, j->layer_grads[l], (int)j->layer_len[l], MPI_FLOAT,
                               MPI_SUM, MPI_COMM_WORLD, &j->requests[l]);
        wait_all(j, o);
        j->mpi_seconds += MPI_Wtime() - start;
    } else {
        float *grads = NULL;
        size_t n = 0;
        double start;
        TRY(j, ad_backward(j->t, loss), "backward");
        TRY(j, ad_param_group_grads_f32(j->t, j->all, &grads, &n), "ad_param_group_grads_f32");
        start = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, grads, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        j->mpi_seconds += MPI_Wtime() - start;
    }
    TRY(j, ad_optim_step(j->t), "ad_optim_step");
}

static double accuracy(struct job *j) {
    size_t start, correct = 0;
    for (start = 0; start < TEST; start += 64) {
        size_t rows = TEST - start < 64 ? TEST - start : 64, i, c;
        for (i = 0; i < rows; i++) memcpy(batch_x + i * DIM, test_x[start + i], sizeof test_x[0]);
        TRY(j, ad_tape_reset(j->t), "reset");
        TRY(j, ad_tensor_value_f32(j->t, forward(j, rows), logits, rows * CLASSES), "evaluation");
        for (i = 0; i < rows; i++) {
            uint32_t best = 0;
            for (c = 1; c < CLASSES; c++)
                if (logits[i * CLASSES + c] > logits[i * CLASSES + best]) best = (uint32_t)c;
            correct += best == test_y[start + i];
        }
    }
    return (double)correct / TEST;
}

/* All parameters in creation order, as --dump writes them. */
static size_t all_values(struct job *j, const struct options *o) {
    size_t at = 0, n = 0;
    int l;
    for (l = 0; l < (o->overlap ? LAYERS : 1); l++) {
        ad_param_group g = o->overlap ? j->layer[l] : j->all;
        TRY(j, ad_param_group_len(j->t, g, &n), "ad_param_group_len");
        TRY(j, ad_param_group_read_values_f32(j->t, g, values + at, n), "read values");
        at += n;
    }
    return at;
}

/* --dump and --compare, on rank 0; 0 when the comparison passes or there is none. */
static int dump_or_compare(struct job *j, const struct options *o) {
    size_t n = all_values(j, o), i;
    if (o->dump) {
        FILE *f = fopen(o->dump, "wb");
        if (!f || fwrite(values, sizeof(float), n, f) != n || fclose(f) != 0) {
            fprintf(stderr, "mpi_mlp: cannot write %s\n", o->dump);
            return 1;
        }
    }
    if (o->compare) {
        static float reference[(DIM + 1) * WIDTH * LAYERS];
        double worst = 0.0;
        FILE *f = fopen(o->compare, "rb");
        size_t got = f ? fread(reference, sizeof(float), n + 1, f) : 0;
        if (f) fclose(f);
        if (got != n) {
            fprintf(stderr, "mpi_mlp: %s holds %zu parameters, not %zu\n", o->compare, got, n);
            return 1;
        }
        for (i = 0; i < n; i++) {
            double d = fabs((double)values[i] - (double)reference[i]);
            if (!(d <= worst)) worst = d; /* a NaN makes worst NaN */
        }
        printf("mpi_mlp: %d ranks against %s: largest parameter difference %.3g (tolerance %g)\n",
               j->ranks, o->compare, worst, o->tolerance);
        if (!(worst <= o->tolerance)) {
            fprintf(stderr, "mpi_mlp: parameters differ from %s by %.3g > %g\n", o->compare,
                    worst, o->tolerance);
            return 1;
        }
    }
    return 0;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *xs, size_t n) {
    if (n == 0) return 0.0;
    qsort(xs, n, sizeof *xs, compare_doubles);
    return xs[n / 2];
}

static int parse(int argc, char **argv, struct options *o) {
    int i;
    memset(o, 0, sizeof *o);
    o->epochs = 5;
    o->batch = 64;
    o->bad_rank = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (strcmp(a, "--epochs") == 0 && more)
            o->epochs = atoi(argv[++i]);
        else if (strcmp(a, "--steps") == 0 && more)
            o->max_steps = atol(argv[++i]);
        else if (strcmp(a, "--batch") == 0 && more)
            o->batch = (size_t)atol(argv[++i]);
        else if (strcmp(a, "--overlap") == 0)
            o->overlap = 1;
        else if (strcmp(a, "--sleep-wait") == 0)
            o->sleep_wait = 1;
        else if (strcmp(a, "--quiet") == 0)
            o->quiet = 1;
        else if (strcmp(a, "--dump") == 0 && more)
            o->dump = argv[++i];
        else if (strcmp(a, "--compare") == 0 && i + 2 < argc) {
            o->compare = argv[++i];
            o->tolerance = atof(argv[++i]);
        } else if (strcmp(a, "--bad-rank") == 0 && more)
            o->bad_rank = atoi(argv[++i]);
        else
            return 0;
    }
    return o->epochs > 0 && o->max_steps >= 0 && o->batch > 0 && o->batch <= MAX_BATCH;
}

int main(int argc, char **argv) {
    struct options o;
    struct job j;
    size_t step = 0, timed = 0, shard, i;
    int epoch, status = 0;
    double acc = 0.0, start;

    MPI_Init(&argc, &argv);
    memset(&j, 0, sizeof j);
    MPI_Comm_rank(MPI_COMM_WORLD, &j.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &j.ranks);
    if (!parse(argc, argv, &o) || o.batch % (size_t)j.ranks != 0) {
        if (j.rank == 0)
            fprintf(stderr, "usage: mpirun -np P mpi_mlp [--epochs N] [--steps N] [--batch B "
                            "(a multiple of P, at most %d)] [--overlap [--sleep-wait]] "
                            "[--dump FILE] [--compare FILE TOL] [--bad-rank R] [--quiet]\n",
                    MAX_BATCH);
        MPI_Finalize();
        return 2;
    }
    shard = o.batch / (size_t)j.ranks;
    make_data();
    build(&j, &o);
    if (j.rank == 0 && !o.quiet)
        printf("mpi_mlp: %d ranks, global batch %zu (%zu per rank), %zu parameters, %s "
               "reduction\n",
               j.ranks, o.batch, shard, j.total,
               o.overlap ? "layer-by-layer overlapped (MPI_Iallreduce)" : "one MPI_Allreduce");

    for (i = 0; i < TRAIN; i++) order[i] = i;
    for (epoch = 1; epoch <= o.epochs; epoch++) {
        size_t b;
        for (i = TRAIN - 1; i > 0; i--) { /* the same shuffle on every rank */
            size_t r = (size_t)(next_u64() % (i + 1)), tmp = order[i];
            order[i] = order[r];
            order[r] = tmp;
        }
        for (b = 0; b + o.batch <= TRAIN && (o.max_steps == 0 || step < (size_t)o.max_steps);
             b += o.batch, step++) {
            size_t first = b + (size_t)j.rank * shard;
            for (i = 0; i < shard; i++) {
                memcpy(batch_x + i * DIM, train_x[order[first + i]], sizeof train_x[0]);
                batch_y[i] = train_y[order[first + i]];
            }
            if (j.rank == o.bad_rank && step == 3)
                batch_y[shard - 1] = CLASSES + 5; /* no such class */
            start = MPI_Wtime();
            train_step(&j, &o, shard);
            if (timed < MAX_TIMED) {
                step_time[timed] = MPI_Wtime() - start;
                mpi_time[timed++] = j.mpi_seconds;
            }
        }
        if (o.max_steps == 0 || step < (size_t)o.max_steps) {
            acc = accuracy(&j);
            if (j.rank == 0 && !o.quiet)
                printf("epoch %d: held-out accuracy %.1f%%\n", epoch, 100.0 * acc);
        }
    }
    if (j.rank == 0) {
        /* The first steps warm caches and MPI's connections: leave them out. */
        size_t skip = timed > 10 ? 5 : 0;
        double step_med = median(step_time + skip, timed - skip);
        double mpi_med = median(mpi_time + skip, timed - skip);
        printf("mpi_mlp: ranks %d batch %zu overlap %d steps %zu: median step %.3f ms, in MPI "
               "%.3f ms (%.0f%%)\n",
               j.ranks, o.batch, o.overlap, step, 1e3 * step_med, 1e3 * mpi_med,
               step_med > 0 ? 100.0 * mpi_med / step_med : 0.0);
        status = dump_or_compare(&j, &o);
        if (status == 0 && o.max_steps == 0) {
            if (acc < TARGET_ACCURACY) {
                fprintf(stderr, "mpi_mlp: held-out accuracy %.1f%% is below %.0f%%\n",
                        100.0 * acc, 100.0 * TARGET_ACCURACY);
                status = 1;
            } else if (!o.quiet) {
                printf("mpi_mlp: reached %.1f%% held-out accuracy (threshold %.0f%%)\n",
                       100.0 * acc, 100.0 * TARGET_ACCURACY);
            }
        }
    }
    ad_tape_done(j.t);
    MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Finalize();
    return status;
}
