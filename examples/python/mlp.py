"""The MLP of `make demo` (examples/mlp.c), trained from Python.

The same network (10 fused linear layers of width 100 with ReLU, then 100 -> 10,
softmax cross-entropy, SGD with momentum 0.9, lr 0.01, batch 64, f32), the same data
set (10 Gaussian blobs in 100 dimensions from the same splitmix64 stream), the same He
initialisation and the same shuffles: the Python run computes what the C run computes,
bit for bit, and prints the same lines. Exits non-zero below 95% held-out accuracy.

    python examples/python/mlp.py [epochs [steps]]
"""

from __future__ import annotations

import math
import sys
import time
from typing import List, Optional, Tuple

import numpy as np

import libautodiff as ad

DIM, CLASSES, WIDTH, HIDDEN = 100, 10, 100, 10
LAYERS = HIDDEN + 1
TRAIN, TEST, BATCH = 4000, 1000, 64
TARGET_ACCURACY, LR = 0.95, 0.01
NOISE = np.float32(1.5)
MEMORY = 4 << 20


class SplitMix64:
    """examples/mlp.c's generator. State k is seed + k·γ, so a block of draws is one
    vectorised computation in wrapping 64-bit arithmetic."""

    GAMMA = np.uint64(0x9E3779B97F4A7C15)

    def __init__(self, seed: int) -> None:
        self.state = np.uint64(seed)

    def take(self, n: int) -> np.ndarray:
        with np.errstate(over="ignore"):
            z = self.state + self.GAMMA * np.arange(1, n + 1, dtype=np.uint64)
            self.state = z[-1] if n else self.state
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def gaussians(self, n: int) -> np.ndarray:
        """n draws of mlp.c's gaussian(): sqrt(-2 log u1) cos(2π u2), in libm's double
        (Python's math calls the same libm)."""
        u = ((self.take(2 * n) >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
        return np.array(
            [math.sqrt(-2.0 * math.log(a)) * math.cos(6.283185307179586 * b) for a, b in zip(u[0::2], u[1::2])]
        )


def make_data(rng: SplitMix64) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    centers = rng.gaussians(CLASSES * DIM).astype(np.float32).reshape(CLASSES, DIM)
    draws = rng.take((TRAIN + TEST) * (1 + 2 * DIM)).reshape(TRAIN + TEST, 1 + 2 * DIM)
    labels = (draws[:, 0] % np.uint64(CLASSES)).astype(np.uint32)
    u = ((draws[:, 1:] >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0
    g = np.array([math.sqrt(-2.0 * math.log(a)) * math.cos(6.283185307179586 * b)
                  for a, b in zip(u[:, 0::2].reshape(-1), u[:, 1::2].reshape(-1))])
    x = centers[labels] + NOISE * g.astype(np.float32).reshape(TRAIN + TEST, DIM)
    return x[:TRAIN], labels[:TRAIN], x[TRAIN:], labels[TRAIN:]


class Mlp:
    """The network's parameters on one f32 tape, with SGD set."""

    def __init__(self, rng: SplitMix64, memory: int = MEMORY) -> None:
        self.tape = ad.Tape(memory, dtype="f32")
        self.layers: List[Tuple[ad.Parameter, ad.Parameter]] = []
        for layer in range(LAYERS):
            fan_in, fan_out = (DIM if layer == 0 else WIDTH), (WIDTH if layer < HIDDEN else CLASSES)
            w = (rng.gaussians(fan_in * fan_out) * math.sqrt(2.0 / fan_in)).astype(np.float32)
            self.layers.append(
                (self.tape.parameter(w.reshape(fan_in, fan_out)), self.tape.parameter(np.zeros(fan_out, np.float32)))
            )
        ad.SGD(self.tape, LR, momentum=0.9)

    def forward(self, x: np.ndarray) -> ad.Tensor:
        h = self.tape.const(x)
        for layer, (w, b) in enumerate(self.layers):
            h = ad.linear(h, w, b, "relu" if layer < HIDDEN else "identity")
        return h

    def step(self, x: np.ndarray, y: np.ndarray) -> ad.Tensor:
        """One training step: reset, record, backward, update. Returns the loss."""
        self.tape.reset()
        loss = ad.cross_entropy(self.forward(x), y)
        loss.backward()
        self.tape.step()
        return loss

    def accuracy(self, x: np.ndarray, y: np.ndarray) -> float:
        correct = 0
        for start in range(0, len(x), BATCH):
            self.tape.reset()
            logits = self.forward(x[start : start + BATCH]).numpy()
            correct += int((logits.argmax(axis=1) == y[start : start + BATCH]).sum())
        return correct / len(x)


def train(epochs: int = 5, max_steps: int = 0, log=print) -> Tuple[float, List[float]]:
    """mlp.c's run: returns the last held-out accuracy and the loss of every step."""
    rng = SplitMix64(0x5EED2024)
    train_x, train_y, test_x, test_y = make_data(rng)
    net = Mlp(rng)
    log(f"mlp: {HIDDEN} x linear({WIDTH}) + relu, linear({WIDTH} -> {CLASSES}); {TRAIN} train / {TEST} "
        f"held-out samples, batch {BATCH}, SGD lr {LR:g} momentum 0.9, f32, from Python")
    order = np.arange(TRAIN)
    losses: List[float] = []
    accuracy = 0.0
    step = 0
    for epoch in range(1, epochs + 1):
        for i in range(TRAIN - 1, 0, -1):  # shuffle, one draw at a time as mlp.c does
            j = int(rng.take(1)[0] % np.uint64(i + 1))
            order[i], order[j] = order[j], order[i]
        for b in range(0, TRAIN - BATCH + 1, BATCH):
            if max_steps and step >= max_steps:
                break
            batch = order[b : b + BATCH]
            loss = net.step(train_x[batch], train_y[batch])
            losses.append(loss.item())
            if step % 20 == 0:
                log(f"  step {step:4d}  train batch loss {losses[-1]:.4f}")
            step += 1
        accuracy = net.accuracy(test_x, test_y)
        log(f"epoch {epoch}: held-out accuracy {100 * accuracy:.1f}%")
    net.tape.close()
    return accuracy, losses


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    epochs = int(argv[0]) if argv else 5
    max_steps = int(argv[1]) if len(argv) > 1 else 0
    start = time.perf_counter()
    accuracy, _ = train(epochs, max_steps)
    print(f"time: {time.perf_counter() - start:.2f} s")
    if max_steps:
        print(f"mlp: a run capped at {max_steps} steps; accuracy threshold not checked")
        return 0
    if accuracy < TARGET_ACCURACY:
        print(f"mlp: held-out accuracy {100 * accuracy:.1f}% is below {100 * TARGET_ACCURACY:.0f}%", file=sys.stderr)
        return 1
    print(f"mlp: reached {100 * accuracy:.1f}% held-out accuracy (threshold {100 * TARGET_ACCURACY:.0f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
