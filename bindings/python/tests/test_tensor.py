"""Tensors: every op's gradient against central finite differences on f64 tensors
(the loss is a random weighting of the op's output, so every output element counts),
numpy interop, parameters and optimizers step by step."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_difference

import libautodiff as ad


def weighted(t: ad.Tensor, w: np.ndarray) -> ad.Tensor:
    return (t * w).sum()


# name, input shapes, op on (tape-side) tensors, the same op in numpy
OPS = [
    ("add_broadcast", [(2, 3), (3,)], lambda a, b: a + b, lambda a, b: a + b),
    ("sub", [(2, 3), (2, 3)], lambda a, b: a - b, lambda a, b: a - b),
    ("mul_broadcast", [(2, 3), (2, 1)], lambda a, b: a * b, lambda a, b: a * b),
    ("div", [(2, 3), (2, 3)], lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    ("matmul", [(2, 3), (3, 4)], lambda a, b: a @ b, lambda a, b: a @ b),
    ("matmul_t", [(3, 2), (4, 3)], lambda a, b: ad.matmul(a, b, True, True), lambda a, b: a.T @ b.T),
    ("scale_neg", [(4,)], lambda a: -(2.5 * a), lambda a: -(2.5 * a)),
    ("transpose", [(2, 3)], lambda a: a.T, lambda a: a.T),
    ("reshape", [(2, 3)], lambda a: a.reshape(3, -1), lambda a: a.reshape(3, 2)),
    ("sum_axis", [(2, 3, 2)], lambda a: a.sum(axis=1), lambda a: a.sum(axis=1)),
    ("mean_axis", [(2, 3)], lambda a: a.mean(axis=-1), lambda a: a.mean(axis=-1)),
    ("mean", [(2, 3)], lambda a: a.mean() * 1.0, lambda a: a.mean()),
    ("relu", [(2, 3)], lambda a: a.relu(), lambda a: np.maximum(a, 0)),
    ("leaky_relu", [(2, 3)], lambda a: a.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a)),
    ("sigmoid", [(2, 3)], lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    ("tanh", [(2, 3)], lambda a: ad.math.tanh(a), np.tanh),
    ("exp", [(2, 3)], lambda a: a.exp(), np.exp),
    ("log_sqrt", [(2, 3)], lambda a: (a * a + 1.0).log() + (a * a + 1.0).sqrt(), lambda a: np.log(a * a + 1) + np.sqrt(a * a + 1)),
    ("square", [(2, 3)], lambda a: a.square(), np.square),
    ("softmax", [(2, 4)], lambda a: a.softmax(), lambda a: np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
    ("log_softmax", [(2, 4)], lambda a: a.log_softmax(), lambda a: a - np.log(np.exp(a).sum(-1, keepdims=True))),
    ("linear_tanh", [(3, 4), (4, 2), (2,)], lambda x, w, b: ad.linear(x, w, b, "tanh"), lambda x, w, b: np.tanh(x @ w + b)),
    ("mse", [(2, 3), (2, 3)], lambda a, b: ad.mse(a, b) * 1.0, lambda a, b: np.mean((a - b) ** 2)),
]


@pytest.mark.parametrize("name,shapes,op,reference", OPS, ids=[o[0] for o in OPS])
def test_tensor_op_value_and_gradient(name, shapes, op, reference, rng: np.random.Generator) -> None:
    inputs = [rng.uniform(-1, 1, size=s) for s in shapes]
    expected = np.asarray(reference(*inputs))
    w = rng.normal(size=expected.shape)
    with ad.Tape() as tape:
        ts = [tape.input(x) for x in inputs]
        out = op(*ts)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)
        weighted(out, w).backward()
        for i, t in enumerate(ts):
            def loss(x, i=i):
                args = list(inputs)
                args[i] = x
                return float((np.asarray(reference(*args)) * w).sum())

            np.testing.assert_allclose(np.asarray(t.grad), central_difference(loss, inputs[i]), rtol=1e-6, atol=1e-7)


def test_cross_entropy_gradient(rng: np.random.Generator) -> None:
    logits, labels = rng.normal(size=(4, 3)), np.array([0, 2, 1, 2])

    def reference(z):
        logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
        return -logp[np.arange(4), labels].mean()

    with ad.Tape() as tape:
        z = tape.input(logits)
        loss = ad.cross_entropy(z, labels)
        assert loss.item() == pytest.approx(reference(logits), rel=1e-12)
        loss.backward()
        np.testing.assert_allclose(z.grad, central_difference(reference, logits), rtol=1e-6, atol=1e-8)


def test_values_view_input_memory_of_the_tape_and_copies_are_independent(rng: np.random.Generator) -> None:
    memory = bytearray(1 << 16)
    data = rng.normal(size=(3, 4))
    with ad.Tape(memory) as tape:
        t = tape.input(data)
        view = np.asarray(t)
        assert view.shape == (3, 4) and view.dtype == np.float64
        np.testing.assert_array_equal(view, data)
        address = view.__array_interface__["data"][0]
        base = np.frombuffer(memory, dtype=np.uint8).__array_interface__["data"][0]
        assert base <= address < base + len(memory), "the view is inside the tape's memory"
        copy = t.numpy()
        assert not np.shares_memory(copy, view)
        t.set_value(data * 2)
        np.testing.assert_array_equal(view, data * 2)  # live
        np.testing.assert_array_equal(copy, data)
        del view


def test_rank0_tensors_read_as_copies() -> None:
    with ad.Tape() as tape:
        s = tape.input(np.array([1.0, 2.0])).sum()
        assert s.shape == () and s.item() == 3.0 and float(np.asarray(s)) == 3.0
        s.backward()
        assert float(s.grad) == 1.0


def test_tensor_replay_and_tangents(rng: np.random.Generator) -> None:
    a0, a1 = rng.normal(size=(2, 2)), rng.normal(size=(2, 2))
    with ad.Tape() as tape:
        a = tape.input(a0)
        f = (a @ a).sum()
        a.set_value(a1)
        tape.replay([])
        assert f.item() == pytest.approx((a1 @ a1).sum(), rel=1e-12)
        direction = rng.normal(size=(2, 2))
        a.seed_tangent(direction)
        tape.jvp([])
        tangent = float(f.tangent)
        f.backward()
        assert tangent == pytest.approx(float((np.asarray(a.grad) * direction).sum()), rel=1e-12)


def test_sgd_with_momentum_step_by_step(rng: np.random.Generator) -> None:
    w0, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    lr, mu = 0.1, 0.9
    with ad.Tape() as tape:
        w = tape.parameter(w0)
        ad.SGD(tape, lr, momentum=mu)
        want, velocity = w0.copy(), np.zeros_like(w0)
        for _ in range(3):
            tape.reset()
            loss = ((x @ w) * (x @ w)).sum()
            loss.backward()
            grad = 2 * x.T @ (x @ want)
            np.testing.assert_allclose(w.grad, grad, rtol=1e-12)
            tape.step()
            velocity = mu * velocity + grad
            want = want - lr * velocity
            np.testing.assert_allclose(w.value, want, rtol=1e-12)


def test_adam_step_matches_the_formula(rng: np.random.Generator) -> None:
    w0 = rng.normal(size=5)
    with ad.Tape() as tape:
        w = tape.parameter(w0)
        ad.Adam(tape, lr=0.01)
        (w * w).sum().backward()
        tape.step()
        g = 2 * w0
        m, v = 0.1 * g, 0.001 * g * g
        want = w0 - 0.01 * (m / 0.1) / (np.sqrt(v / 0.001) + 1e-8)
        np.testing.assert_allclose(w.numpy(), want, rtol=1e-10)


def test_parameter_assign_and_reuse_within_a_recording() -> None:
    with ad.Tape() as tape:
        p = tape.parameter(np.ones(3))
        p.assign([1.0, 2.0, 3.0])
        assert p.use() is p.use(), "one use per recording"
        (p * p).sum().backward()
        np.testing.assert_array_equal(p.grad, [2.0, 4.0, 6.0])
        assert repr(p) == "Parameter(shape=(3,))"


def test_an_f32_mlp_layer_trains() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.uint32)
    with ad.Tape(1 << 20, dtype="f32") as tape:
        w1, b1 = tape.parameter(rng.normal(size=(4, 8)) * 0.5), tape.parameter(np.zeros(8))
        w2, b2 = tape.parameter(rng.normal(size=(8, 2)) * 0.5), tape.parameter(np.zeros(2))
        tape.sgd(0.5)
        losses = []
        for _ in range(60):
            tape.reset()
            h = ad.linear(tape.const(x), w1, b1, "relu")
            loss = ad.cross_entropy(ad.linear(h, w2, b2), y)
            loss.backward()
            tape.step()
            losses.append(loss.item())
        assert w1.value.dtype == np.float32
        assert losses[-1] < 0.25 * losses[0]
