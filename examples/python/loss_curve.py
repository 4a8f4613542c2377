"""Trains the MLP of `make demo` from Python (examples/python/mlp.py) and plots its
training loss, step by step, with the held-out accuracy, to a PNG.

    python examples/python/loss_curve.py [out.png [epochs]]

Needs matplotlib (`make python-examples` installs it); without it, says so and exits.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlp  # noqa: E402


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("loss.png")
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("loss_curve: skipped: matplotlib is not installed (pip install matplotlib)")
        return 0
    lines: list = []
    accuracy, losses = mlp.train(epochs=epochs, log=lines.append)
    per_epoch = len(losses) // epochs
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    ax.semilogy(range(len(losses)), losses, lw=1, label="training batch loss")
    for e in range(1, epochs):
        ax.axvline(e * per_epoch, color="0.8", lw=0.8)
    ax.set_xlabel("step (batch 64)")
    ax.set_ylabel("softmax cross-entropy")
    ax.set_title(f"MLP 10×100 ReLU, f32, SGD momentum, from Python: held-out accuracy {100 * accuracy:.1f}%")
    ax.title.set_fontsize(9)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    print(f"loss_curve: {len(losses)} steps, loss {losses[0]:.3f} -> {losses[-1]:.4f}, "
          f"held-out accuracy {100 * accuracy:.1f}%; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
