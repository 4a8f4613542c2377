"""PyTorch peer benchmark: one SGD training step of a small MLP.

Network: 100 inputs, 10 x (Linear(100, 100) + ReLU), Linear(100, 10),
softmax cross-entropy on integer labels, float32, plain SGD (lr 0.01).
One step = forward, backward, parameter update; the batch is fixed and
already on the device (no data loading is timed).

CPU (default): one thread (torch.set_num_threads(1), OMP/MKL env vars, and
the process pinned to one CPU unless --no-pin); batches 64 and 1.
CUDA (--device cuda): batches 64 and 4096, eager and with the whole step
captured as one CUDA graph.

Prints lines like:  torch mlp batch=64 median_us=...
"""

import argparse
import os
import sys

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
parser.add_argument("--batch", type=int, nargs="*", help="batch sizes (default: cpu 64 1, cuda 64 4096)")
parser.add_argument("--steps", type=int, default=300, help="timed steps (median reported)")
parser.add_argument("--warmup", type=int, default=50)
parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
args = parser.parse_args()

# Single-threaded CPU: must be set before torch is imported.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(var, "1")
if args.device == "cpu" and not args.no_pin and hasattr(os, "sched_setaffinity"):
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})

import time  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

IN, WIDTH, DEPTH, OUT, LR = 100, 100, 10, 10, 0.01


def make_model(device):
    layers = []
    fan_in = IN
    for _ in range(DEPTH):
        layers += [nn.Linear(fan_in, WIDTH), nn.ReLU()]
        fan_in = WIDTH
    layers.append(nn.Linear(fan_in, OUT))
    return nn.Sequential(*layers).to(device=device, dtype=torch.float32)


def make_batch(batch, device, gen):
    x = torch.randn(batch, IN, generator=gen).to(device)
    y = torch.randint(0, OUT, (batch,), generator=gen).to(device)
    return x, y


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def sync(device):
    if device == "cuda":
        torch.cuda.synchronize()


def bench_eager(batch, device):
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = make_model(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    x, y = make_batch(batch, device, gen)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    loss0 = step().item()
    for _ in range(args.warmup):
        step()
    sync(device)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter_ns()
        step()
        sync(device)
        times.append((time.perf_counter_ns() - t0) / 1e3)
    loss1 = step().item()
    return median(times), loss0, loss1


def bench_cuda_graph(batch):
    """Whole step (forward, backward, SGD update) captured as one CUDA graph."""
    device = "cuda"
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    model = make_model(device)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    static_x, static_y = make_batch(batch, device, gen)

    # Warm up on a side stream before capture (as the PyTorch docs require).
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(static_x), static_y).backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(s)

    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = F.cross_entropy(model(static_x), static_y)
        static_loss.backward()
        opt.step()

    graph.replay()
    loss0 = static_loss.item()
    for _ in range(args.warmup):
        graph.replay()
    torch.cuda.synchronize()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter_ns()
        graph.replay()
        torch.cuda.synchronize()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    graph.replay()
    loss1 = static_loss.item()
    return median(times), loss0, loss1


def main():
    device = args.device
    if device == "cuda" and not torch.cuda.is_available():
        print("torch: CUDA not available", file=sys.stderr)
        return 1
    if device == "cpu":
        torch.set_num_threads(1)
        torch.set_num_interop_threads(1)
    batches = args.batch or ([64, 1] if device == "cpu" else [64, 4096])
    where = torch.cuda.get_device_name() if device == "cuda" else f"{torch.get_num_threads()} thread(s)"
    print(f"# torch {torch.__version__} device={device} ({where}) steps={args.steps} warmup={args.warmup}")
    suffix = "" if device == "cpu" else f" device={device}"
    for b in batches:
        med, l0, l1 = bench_eager(b, device)
        print(f"# torch batch={b} loss first={l0:.4f} after {args.warmup + args.steps + 1} steps={l1:.4f}")
        print(f"torch mlp batch={b}{suffix} median_us={med:.1f}", flush=True)
        if device == "cuda":
            med, l0, l1 = bench_cuda_graph(b)
            print(f"# torch cudagraph batch={b} loss first={l0:.4f} later={l1:.4f}")
            print(f"torch mlp cudagraph batch={b}{suffix} median_us={med:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
