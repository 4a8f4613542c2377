"""PyTorch DDP peer for the MPI scaling benchmark: the MLP step data-parallel over Gloo.

Network and step as bench/peers/mlp_torch.py and examples/mpi_mlp.c: 100 inputs,
10 x (Linear(100, 100) + ReLU), Linear(100, 10), softmax cross-entropy, float32, SGD
(lr 0.01, momentum 0.9). Each of --ranks processes (one thread each) trains on its own
batch of --batch rows; DistributedDataParallel averages the gradients with Gloo
allreduce (its default buckets: the whole 0.4 MB model fits one).

The reduction's share is measured as DDP allows: the median step with gradient
synchronisation against the median step under no_sync() (no allreduce), on the same
processes, alternating blocks of steps. Rank 0 prints:

  ddp ranks=P batch=B median_ms=... nosync_ms=... comm_share=...
"""

import argparse
import os

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--ranks", type=int, default=2)
parser.add_argument("--batch", type=int, default=32, help="rows per rank")
parser.add_argument("--steps", type=int, default=200, help="timed steps of each kind")
parser.add_argument("--warmup", type=int, default=20)
parser.add_argument("--port", type=int, default=29517)
args = parser.parse_args()

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "1"

import time  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

IN, WIDTH, DEPTH, OUT, LR = 100, 100, 10, 10, 0.01


def make_model():
    layers, fan_in = [], IN
    for _ in range(DEPTH):
        layers += [nn.Linear(fan_in, WIDTH), nn.ReLU()]
        fan_in = WIDTH
    layers.append(nn.Linear(fan_in, OUT))
    return nn.Sequential(*layers)


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def worker(rank, world, batch, steps, warmup, port):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)  # the same initial model on every rank (DDP broadcasts it too)
    model = DDP(make_model())
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    gen = torch.Generator().manual_seed(1 + rank)
    x = torch.randn(batch, IN, generator=gen)
    y = torch.randint(0, OUT, (batch,), generator=gen)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    def timed(n, sync):
        out = []
        for _ in range(n):
            dist.barrier()
            start = time.perf_counter()
            if sync:
                step()
            else:
                with model.no_sync():
                    step()
            out.append(time.perf_counter() - start)
        return out

    timed(warmup, True)
    with_sync, without = [], []
    for _ in range(4):
        with_sync += timed(steps // 4, True)
        without += timed(steps // 4, False)
    if rank == 0:
        s, n = median(with_sync), median(without)
        print(
            f"ddp ranks={world} batch={batch} median_ms={1e3 * s:.3f} nosync_ms={1e3 * n:.3f} "
            f"comm_share={max(0.0, (s - n) / s):.2f} torch={torch.__version__}",
            flush=True,
        )
    dist.destroy_process_group()


if __name__ == "__main__":
    mp.spawn(worker, args=(args.ranks, args.batch, args.steps, args.warmup, args.port), nprocs=args.ranks)
