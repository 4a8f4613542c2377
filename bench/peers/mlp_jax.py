"""JAX peer benchmark: one SGD training step of a small MLP.

Same network and step as mlp_torch.py: 100 inputs, 10 x (Linear(100, 100)
+ ReLU), Linear(100, 10), softmax cross-entropy on integer labels, float32,
plain SGD (lr 0.01). The whole step (forward, backward, update) is one
jax.jit-compiled function with the parameters donated; the batch is fixed
and already on the device. Compilation is excluded (warm-up).

CPU (default): XLA limited to one thread (XLA_FLAGS, and the process pinned
to one CPU unless --no-pin); batches 64 and 1.
CUDA (--device cuda, needs a CUDA jaxlib): batches 64 and 4096.

Prints lines like:  jax mlp batch=64 median_us=...
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

# Must be set before jax is imported.
if args.device == "cpu":
    os.environ["JAX_PLATFORMS"] = "cpu"
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        # intra_op_parallelism_threads=1 is kept for parity with earlier
        # measurements; XLA ignores it. The CPU pinning below is what
        # actually bounds XLA's thread pools.
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # XLA sizes its thread pools from the CPUs the process may run on.
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[-1]})

import time  # noqa: E402
from functools import partial  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

IN, WIDTH, DEPTH, OUT, LR = 100, 100, 10, 10, 0.01


def init_params(key):
    """PyTorch's nn.Linear default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    params = []
    sizes = [IN] + [WIDTH] * DEPTH + [OUT]
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        key, kw, kb = jax.random.split(key, 3)
        bound = 1.0 / fan_in**0.5
        w = jax.random.uniform(kw, (fan_in, fan_out), jnp.float32, -bound, bound)
        b = jax.random.uniform(kb, (fan_out,), jnp.float32, -bound, bound)
        params.append((w, b))
    return params


def loss_fn(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    logp = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=-1))


@partial(jax.jit, donate_argnums=0)
def train_step(params, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    params = jax.tree_util.tree_map(lambda p, g: p - LR * g, params, grads)
    return params, loss


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def bench(batch, device):
    key = jax.random.PRNGKey(0)
    kp, kx, ky = jax.random.split(key, 3)
    params = jax.device_put(init_params(kp), device)
    x = jax.device_put(jax.random.normal(kx, (batch, IN), jnp.float32), device)
    y = jax.device_put(jax.random.randint(ky, (batch,), 0, OUT), device)

    params, loss = train_step(params, x, y)  # compiles
    loss0 = float(loss)
    for _ in range(args.warmup):
        params, loss = train_step(params, x, y)
    jax.block_until_ready(params)
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter_ns()
        params, loss = train_step(params, x, y)
        jax.block_until_ready(params)
        times.append((time.perf_counter_ns() - t0) / 1e3)
    params, loss = train_step(params, x, y)
    return median(times), loss0, float(loss)


def main():
    platform = "gpu" if args.device == "cuda" else "cpu"
    try:
        device = jax.devices(platform)[0]
    except RuntimeError as e:
        print(f"jax: no {platform} device: {e}", file=sys.stderr)
        return 1
    batches = args.batch or ([64, 1] if args.device == "cpu" else [64, 4096])
    import jaxlib

    print(
        f"# jax {jax.__version__} jaxlib {jaxlib.__version__} device={device} "
        f"XLA_FLAGS='{os.environ.get('XLA_FLAGS', '')}' steps={args.steps} warmup={args.warmup}"
    )
    suffix = "" if args.device == "cpu" else f" device={args.device}"
    for b in batches:
        med, l0, l1 = bench(b, device)
        print(f"# jax batch={b} loss first={l0:.4f} after {args.warmup + args.steps + 1} steps={l1:.4f}")
        print(f"jax mlp batch={b}{suffix} median_us={med:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
