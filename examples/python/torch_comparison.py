"""The same functions differentiated by libautodiff and by torch.autograd, side by
side: a scalar function of a vector, and a small network's loss with respect to its
weights. Prints both gradients' largest difference; exits non-zero if they disagree.

    python examples/python/torch_comparison.py

Needs PyTorch (`make python-examples` installs it); without it, says so and exits.
"""

from __future__ import annotations

import sys

import numpy as np

import libautodiff as ad


def scalar_function(v, lib):
    # sum_i sin(v_i) * exp(v_{i+1}) + log(1 + v_i²), for either library's math
    s = 0
    for i in range(len(v) - 1):
        s = s + lib.sin(v[i]) * lib.exp(v[i + 1]) + lib.log(1 + v[i] * v[i])
    return s


def main() -> int:
    try:
        import torch
    except ImportError:
        print("torch_comparison: skipped: PyTorch is not installed (pip install torch)")
        return 0
    torch.set_num_threads(1)
    rng = np.random.default_rng(3)
    ok = True

    x0 = rng.uniform(-1, 1, size=8)
    ours = ad.grad(lambda v: scalar_function(v, ad.math))(x0)
    xt = torch.tensor(x0, requires_grad=True)
    scalar_function(xt, torch).backward()
    diff = np.abs(ours - xt.grad.numpy()).max()
    print(f"scalar function of 8 inputs: largest gradient difference {diff:.2e}")
    ok &= diff < 1e-12

    x, y = rng.normal(size=(16, 5)), rng.integers(0, 3, size=16)
    w1, b1, w2, b2 = rng.normal(size=(5, 8)), rng.normal(size=8), rng.normal(size=(8, 3)), rng.normal(size=3)
    with ad.Tape() as tape:
        params = [tape.input(p) for p in (w1, b1, w2, b2)]
        h = ad.linear(tape.const(x), params[0], params[1], "tanh")
        loss = ad.cross_entropy(ad.linear(h, params[2], params[3]), y)
        loss.backward()
        ours_loss, ours_grads = loss.item(), [np.array(p.grad) for p in params]
    tp = [torch.tensor(p, requires_grad=True) for p in (w1, b1, w2, b2)]
    h = torch.tanh(torch.tensor(x) @ tp[0] + tp[1])
    tloss = torch.nn.functional.cross_entropy(h @ tp[2] + tp[3], torch.tensor(y))
    tloss.backward()
    diffs = [np.abs(a - b.grad.numpy()).max() for a, b in zip(ours_grads, tp)]
    print(f"2-layer network, cross-entropy: loss {ours_loss:.12f} vs {tloss.item():.12f}; "
          f"largest gradient difference {max(diffs):.2e}")
    ok &= abs(ours_loss - tloss.item()) < 1e-12 and max(diffs) < 1e-12
    print("torch_comparison: " + ("agree" if ok else "DISAGREE"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
