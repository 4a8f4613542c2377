"""grad / jacobian / value_and_grad: values against finite differences, one recording
per input shape replayed at new points, retape for value-dependent control flow."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import central_difference

import libautodiff as ad


def test_grad_records_once_per_shape_and_replays(rng: np.random.Generator) -> None:
    calls = []

    def f(v):
        calls.append(v.shape)
        return np.sum(np.sin(v) * v * 2.0) + v.reshape(-1)[0] ** 3

    def plain(x: np.ndarray) -> float:
        return float(np.sum(np.sin(x) * x * 2.0) + x.reshape(-1)[0] ** 3)

    g = ad.grad(f)
    for shape in [(4,), (4,), (2, 3), (4,), (2, 3)]:
        x = rng.uniform(-1, 1, size=shape)
        got = g(x)
        assert got.shape == shape
        np.testing.assert_allclose(got, central_difference(plain, x), rtol=1e-7, atol=1e-8)
    assert calls == [(4,), (2, 3)]


def test_value_and_grad_of_rosenbrock(rng: np.random.Generator) -> None:
    def rosen(v):
        return np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2)

    vg = ad.value_and_grad(rosen)
    for _ in range(3):
        x = rng.uniform(-2, 2, size=10)
        value, g = vg(x)
        assert value == pytest.approx(float(rosen(x)), rel=1e-14)
        np.testing.assert_allclose(g, central_difference(lambda v: float(rosen(v)), x), rtol=1e-6, atol=1e-6)


def test_jacobian_shape_and_values(rng: np.random.Generator) -> None:
    def f(v):
        return np.array([[v[0] * v[1], ad.math.exp(v[2])], [v[1] - v[2], v[0] / v[1]]])

    j = ad.jacobian(f)
    for _ in range(2):
        x = rng.uniform(0.5, 1.5, size=3)
        got = j(x)
        assert got.shape == (2, 2, 3)
        plain = lambda v, a, b: float(np.array([[v[0] * v[1], np.exp(v[2])], [v[1] - v[2], v[0] / v[1]]])[a, b])  # noqa: E731
        for a in range(2):
            for b in range(2):
                np.testing.assert_allclose(got[a, b], central_difference(lambda v: plain(v, a, b), x), rtol=1e-7)


def test_retape_follows_value_dependent_branches() -> None:
    def f(v):
        return v[0] * v[0] if v[0] > 0 else -3.0 * v[0]

    replayed, retaped = ad.grad(f), ad.grad(f, retape=True)
    assert replayed([2.0])[0] == 4.0 and retaped([2.0])[0] == 4.0
    assert retaped([-1.0])[0] == -3.0
    assert replayed([-1.0])[0] == -2.0, "a replay follows the branch recorded first"


def test_a_large_function_grows_the_tape() -> None:
    g = ad.grad(lambda v: np.sum(v * v))
    x = np.arange(20000.0)
    np.testing.assert_array_equal(g(x), 2 * x)


def test_f_must_return_vars() -> None:
    with pytest.raises(TypeError):
        ad.grad(lambda v: 1.0)([1.0])
    with pytest.raises(TypeError, match="jacobian"):
        ad.grad(lambda v: [v[0], v[0]])([1.0])


def test_grad_of_a_tensor_function_replays(rng: np.random.Generator) -> None:
    a = rng.normal(size=(4, 3))
    calls = []

    def f(x: ad.Tensor) -> ad.Tensor:
        calls.append(1)
        return (ad.matmul(a, x) .tanh()).sum()

    def plain(x: np.ndarray) -> float:
        return float(np.tanh(a @ x).sum())

    g = ad.value_and_grad(f, tensor=True)
    for _ in range(3):
        x = rng.normal(size=(3, 2))
        value, got = g(x)
        assert value == pytest.approx(plain(x), rel=1e-13)
        np.testing.assert_allclose(got, central_difference(plain, x), rtol=1e-7, atol=1e-9)
    assert len(calls) == 1
