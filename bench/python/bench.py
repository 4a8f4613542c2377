"""Python-side costs of libautodiff, in one run on one machine:

- the overhead of a scalar op and of a tensor op recorded from Python (against the raw
  ctypes call underneath, and numpy's own per-call cost for scale);
- a Rosenbrock gradient (n = 1000) recorded from Python every call, and replayed;
- the MLP training step (bench/python/mlp_step.c's network: 10 x linear(100) + ReLU,
  100 -> 10, softmax cross-entropy, plain SGD, f32) from Python, in C, and in PyTorch
  (eager, one thread), interleaved in rounds, at batch 64 and 1.

The three MLP steps start from the same weights and batch; the Python and C steps must
give the same losses bit for bit (the run stops otherwise), PyTorch's to float rounding.

    python bench/python/bench.py --c-step build/python/mlp_step [--rounds 3 --steps 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np

import cffi_calls
import libautodiff as ad
from libautodiff import _lib

DIM, WIDTH, CLASSES, HIDDEN = 100, 100, 10, 10
LAYERS = HIDDEN + 1


def median(xs: List[float]) -> float:
    return float(np.median(xs))


def per_call_us(fn: Callable[[], None], calls: int, samples: int) -> float:
    """Median over samples of the time per call, each sample timing `calls` calls."""
    times = []
    for _ in range(samples):
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - t0) / calls / 1e3)
    return median(times)


# ---- the MLP's inputs: mlp_step.c's LCG, reproduced ----


class Lcg:
    def __init__(self) -> None:
        self.state = 12345

    def uniform(self, n: int) -> np.ndarray:
        out = np.empty(n, dtype=np.float32)
        s = self.state
        for i in range(n):
            s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
            out[i] = np.float32(s >> 8) / np.float32(8388608.0) - np.float32(1.0)
        self.state = s
        return out


def mlp_inputs(batch: int) -> Tuple[List[Tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    lcg = Lcg()
    layers = []
    for layer in range(LAYERS):
        fan_in, fan_out = (DIM if layer == 0 else WIDTH), (WIDTH if layer < HIDDEN else CLASSES)
        w = (lcg.uniform(fan_in * fan_out) * np.float32(0.1)).reshape(fan_in, fan_out)
        layers.append((w, np.zeros(fan_out, np.float32)))
    x = lcg.uniform(batch * DIM).reshape(batch, DIM)
    y = (np.arange(batch) % CLASSES).astype(np.uint32)
    return layers, x, y


class PythonStep:
    def __init__(self, batch: int) -> None:
        layers, self.x, self.y = mlp_inputs(batch)
        self.tape = ad.Tape(64 << 20, dtype="f32")
        self.params = [(self.tape.parameter(w), self.tape.parameter(b)) for w, b in layers]
        self.tape.sgd(0.01)

    def __call__(self) -> ad.Tensor:
        tape = self.tape
        tape.reset()
        h = tape.const(self.x)
        for layer, (w, b) in enumerate(self.params):
            h = ad.linear(h, w, b, "relu" if layer < HIDDEN else "identity")
        loss = ad.cross_entropy(h, self.y)
        loss.backward()
        tape.step()
        return loss


class TorchStep:
    def __init__(self, batch: int) -> None:
        import torch

        layers, x, y = mlp_inputs(batch)
        self.torch = torch
        self.params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in layers]
        self.x, self.y = torch.tensor(x), torch.tensor(y.astype(np.int64))
        self.opt = torch.optim.SGD([p for pair in self.params for p in pair], lr=0.01)

    def __call__(self):  # noqa: ANN204
        F = self.torch.nn.functional
        self.opt.zero_grad(set_to_none=True)
        h = self.x
        for layer, (w, b) in enumerate(self.params):
            h = h @ w + b
            if layer < HIDDEN:
                h = F.relu(h)
        loss = F.cross_entropy(h, self.y)
        loss.backward()
        self.opt.step()
        return loss


def time_steps(step: Callable[[], object], steps: int) -> List[float]:
    times = []
    for _ in range(steps):
        t0 = time.perf_counter_ns()
        step()
        times.append((time.perf_counter_ns() - t0) / 1e3)
    return times


def run_c(exe: str, batch: int, steps: int, warmup: int) -> Tuple[float, str]:
    out = subprocess.run([exe, str(batch), str(steps), str(warmup)], check=True, capture_output=True, text=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("c mlp")][0]
    comment = [ln for ln in out.splitlines() if ln.startswith("# c")][0]
    return float(line.split("median_us=")[1]), comment


def bench_mlp(args: argparse.Namespace, batch: int, torch_ok: bool) -> Dict[str, float]:
    # The same computation: Python's losses must equal C's to the last bit.
    check = PythonStep(batch)
    first = check().item()
    for _ in range(args.warmup + args.steps):
        check()
    last = check().item()
    _, c_comment = run_c(args.c_step, batch, args.steps, args.warmup)
    want = f"# c batch={batch} loss first={first:.6f} after {args.warmup + args.steps + 2} steps={last:.6f}"
    if c_comment != want:
        sys.exit(f"the Python and C steps differ:\n  {c_comment}\n  {want}")
    print(f"# batch={batch}: Python and C losses identical ({first:.6f} -> {last:.6f})")

    results: Dict[str, List[float]] = {"python": [], "c": [], "torch": []}
    py = PythonStep(batch)
    time_steps(py, args.warmup)
    th = TorchStep(batch) if torch_ok else None
    if th is not None:
        print(f"# torch batch={batch} loss first={th().detach().item():.6f} (the same weights and batch)")
        time_steps(th, args.warmup)
    for _ in range(args.rounds):
        c_median, _ = run_c(args.c_step, batch, args.steps, args.warmup)
        results["c"].append(c_median)
        results["python"].extend(time_steps(py, args.steps))
        if th is not None:
            results["torch"].extend(time_steps(th, args.steps))
    return {k: median(v) for k, v in results.items() if v}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--c-step", required=True, help="the built bench/python/mlp_step.c")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args()
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    try:
        import torch

        torch.set_num_threads(1)
        torch_ok = True
        torch_version = torch.__version__
    except ImportError:
        torch_ok, torch_version = False, "not installed"
    print(f"# python {platform.python_version()}, numpy {np.__version__}, torch {torch_version}, "
          f"libautodiff {ad.__version__}; {platform.processor() or platform.machine()}, "
          f"pinned to CPU(s) {sorted(os.sched_getaffinity(0))}; load {os.getloadavg()}")

    # ---- per-op overhead ----
    tape = ad.Tape(256 << 20)
    x, y = tape.var(1.0), tape.var(2.0)
    ptr, hx, hy, mul = tape._ptr, x._h, y._h, _lib.BINARY["mul"]
    raw = per_call_us(lambda: mul(ptr, hx, hy), 1000, 200)
    small = ad.Tape(1 << 24)
    small_ptr = small._ptr

    def fresh() -> Any:
        small.reset()
        return small.var(2.0)._h

    raw_fresh = cffi_calls.per_call_us(fresh, lambda h: mul(small_ptr, h, h))
    var_fresh = cffi_calls.per_call_us(lambda: fresh() and small.var(2.0), lambda v: v * v)
    small.close()
    cffi = cffi_calls.measure(_lib.PATH, str(Path(__file__).resolve().parents[2] / "include"))
    var_mul = per_call_us(lambda: x * y, 1000, 200)
    var_const = per_call_us(lambda: x * 2.0 + 1.0, 1000, 200) / 2
    var_sin = per_call_us(lambda: ad.math.sin(x), 1000, 200)
    tape.close()
    tape = ad.Tape(256 << 20)
    a, b = tape.input(np.ones(4)), tape.input(np.ones(4))
    t_add = per_call_us(lambda: a + b, 1000, 100)
    t_relu = per_call_us(lambda: a.relu(), 1000, 100)
    m1, m2 = tape.input(np.ones((64, 100))), tape.input(np.ones((100, 100)))
    t_matmul = per_call_us(lambda: m1 @ m2, 20, 20)
    tape.close()
    na, nb = np.ones(4), np.ones(4)
    np_add = per_call_us(lambda: np.add(na, nb), 1000, 100)
    nm1, nm2 = np.ones((64, 100)), np.ones((100, 100))
    np_matmul = per_call_us(lambda: nm1 @ nm2, 20, 20)

    def rosen(v):  # noqa: ANN001, ANN202
        return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)

    xr = np.linspace(-1, 1, 1000)
    replayed, retaped = ad.grad(rosen), ad.grad(rosen, retape=True)
    replayed(xr)
    rosen_replay = per_call_us(lambda: replayed(xr), 10, 30)
    rosen_retape = per_call_us(lambda: retaped(xr), 1, 15)

    print("\n## Python-side overhead per op (µs per call, medians)\n")
    print("| op | from Python | for scale |")
    print("|---|---:|---:|")
    print(f"| scalar `x * y` (`Var`) | {var_mul:.3f} | raw ctypes call `ad_mul`: {raw:.3f} |")
    print(f"| scalar `x * 2.0 + 1.0`, per op | {var_const:.3f} | |")
    print(f"| scalar `ad.math.sin(x)` | {var_sin:.3f} | |")
    print(f"| tensor `a + b`, shape [4] | {t_add:.3f} | numpy `np.add`, [4]: {np_add:.3f} |")
    print(f"| tensor `a.relu()`, shape [4] | {t_relu:.3f} | |")
    print(f"| tensor `a @ b`, [64,100]·[100,100] f64 | {t_matmul:.2f} | numpy (BLAS): {np_matmul:.2f} |")
    print(f"| Rosenbrock n=1000 gradient, `ad.grad` (replayed tape) | {rosen_replay:.1f} | |")
    print(f"| Rosenbrock n=1000 gradient, recorded from Python every call | {rosen_retape:.1f} | |")

    print("\n## One `ad_mul` call by binding (µs per call, medians; fresh recordings)\n")
    print("| binding | call | `Var * Var` from the package |")
    print("|---|---:|---:|")
    print(f"| ctypes (the package's `PyDLL` declaration) | {raw_fresh:.3f} | {var_fresh:.3f} |")
    for name, us in cffi.items():
        print(f"| {name} | {us:.3f} | |")
    if not cffi:
        print("| cffi | not installed | |")

    print("\n## MLP step: Python vs C vs PyTorch (µs per step, medians)\n")
    rows = []
    for batch in (64, 1):
        r = bench_mlp(args, batch, torch_ok)
        rows.append((batch, r))
    print("\n| batch | C | Python | Python ÷ C | PyTorch (eager, 1 thread) | PyTorch ÷ Python |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch, r in rows:
        tq = f"{r['torch']:.1f}" if "torch" in r else "n/a"
        tr = f"{r['torch'] / r['python']:.2f}" if "torch" in r else "n/a"
        print(f"| {batch} | {r['c']:.1f} | {r['python']:.1f} | {r['python'] / r['c']:.3f} | {tq} | {tr} |")
    for batch, r in rows:
        print(f"python mlp batch={batch} median_us={r['python']:.1f} c_median_us={r['c']:.1f} "
              f"ratio={r['python'] / r['c']:.3f}")
    print(f"# load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
