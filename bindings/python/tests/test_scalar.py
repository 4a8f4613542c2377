"""Scalar variables: values and gradients of every op against the plain function and
central finite differences, forward mode against reverse, replay, Jacobians, and
Hessian-vector products."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import central_difference

import libautodiff as ad
from libautodiff import math as am

# name, function of (x,) or (x, y) on Vars or floats alike, domain of the inputs
UNARY = [
    ("sqrt", am.sqrt, (0.2, 3.0)), ("cbrt", am.cbrt, (0.2, 3.0)), ("exp", am.exp, (-2, 2)),
    ("expm1", am.expm1, (-2, 2)), ("log", am.log, (0.2, 3)), ("log1p", am.log1p, (-0.5, 3)),
    ("log2", am.log2, (0.2, 3)), ("log10", am.log10, (0.2, 3)), ("sin", am.sin, (-3, 3)),
    ("cos", am.cos, (-3, 3)), ("tan", am.tan, (-1.2, 1.2)), ("asin", am.asin, (-0.9, 0.9)),
    ("acos", am.acos, (-0.9, 0.9)), ("atan", am.atan, (-3, 3)), ("sinh", am.sinh, (-2, 2)),
    ("cosh", am.cosh, (-2, 2)), ("tanh", am.tanh, (-2, 2)), ("asinh", am.asinh, (-2, 2)),
    ("acosh", am.acosh, (1.2, 3)), ("atanh", am.atanh, (-0.9, 0.9)), ("fabs", am.fabs, (0.1, 2)),
    ("sigmoid", am.sigmoid, (-3, 3)), ("softplus", am.softplus, (-3, 3)), ("erf", am.erf, (-2, 2)),
    ("neg", lambda x: -x, (-2, 2)), ("recip", lambda x: 1.0 / x, (0.5, 2)),
    ("powi", lambda x: x**3, (-2, 2)), ("powf", lambda x: x**2.5, (0.3, 2)),
    ("rpow", lambda x: 2.0**x, (-2, 2)), ("abs", lambda x: abs(x), (-2, -0.1)),
]
BINARY = [
    ("add", lambda x, y: x + y), ("sub", lambda x, y: x - y), ("mul", lambda x, y: x * y),
    ("div", lambda x, y: x / y), ("pow", lambda x, y: x**y), ("atan2", am.atan2),
    ("hypot", am.hypot), ("fmin", am.fmin), ("fmax", am.fmax),
    ("mixed", lambda x, y: 3.0 * x - y / 2.0 + 1.0 - (2.0 - x) + 4.0 / y),
]


def test_the_seed_example_gives_4_and_minus_11() -> None:
    with ad.Tape() as tape:
        x, y = tape.var(3.0), tape.var(2.0)
        f = (x + y) * (x - 2 * y)
        f.backward()
        assert (f.value, x.grad, y.grad) == (-5.0, 4.0, -11.0)


@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_op_value_and_gradient(name: str, fn, domain, rng: np.random.Generator) -> None:
    for x0 in rng.uniform(*domain, size=3):
        with ad.Tape(1 << 12) as tape:
            x = tape.var(x0)
            f = fn(x)
            f.backward()
            assert f.value == pytest.approx(fn(float(x0)), rel=1e-14, abs=1e-15)
            want = central_difference(lambda v: fn(float(v[0])), np.array([x0]))[0]
            assert x.grad == pytest.approx(want, rel=1e-7, abs=1e-8), name


@pytest.mark.parametrize("name,fn", BINARY, ids=[b[0] for b in BINARY])
def test_binary_op_value_and_gradient(name: str, fn, rng: np.random.Generator) -> None:
    for x0, y0 in rng.uniform(0.3, 2.5, size=(3, 2)):
        if name in ("fmin", "fmax") and abs(x0 - y0) < 1e-3:
            continue
        with ad.Tape(1 << 12) as tape:
            x, y = tape.var(x0), tape.var(y0)
            f = fn(x, y)
            grads = tape.gradient(f)
            assert f.value == pytest.approx(fn(float(x0), float(y0)), rel=1e-14)
            want = central_difference(lambda v: fn(float(v[0]), float(v[1])), np.array([x0, y0]))
            np.testing.assert_allclose(grads, want, rtol=1e-7, atol=1e-8)
            assert (x.grad, y.grad) == tuple(grads)


def rosenbrock(v):
    return sum(100.0 * (v[i + 1] - v[i] ** 2) ** 2 + (1.0 - v[i]) ** 2 for i in range(len(v) - 1))


def test_forward_mode_agrees_with_reverse_mode(rng: np.random.Generator) -> None:
    x0 = rng.uniform(-1, 1, size=6)
    with ad.Tape() as tape:
        xs = tape.vars(x0)
        f = am.sin(rosenbrock(xs)) + am.exp(xs[0] * xs[3])
        g = tape.gradient(f)
        direction = rng.normal(size=6)
        tape.jvp(direction)
        assert f.tangent == pytest.approx(float(g @ direction), rel=1e-12)


def test_replay_gives_the_function_and_gradient_at_new_points(rng: np.random.Generator) -> None:
    with ad.Tape() as tape:
        xs = tape.vars(rng.uniform(-1, 1, size=5))
        f = rosenbrock(xs)
        for _ in range(3):
            x1 = rng.uniform(-1, 1, size=5)
            tape.replay(x1)
            assert f.value == pytest.approx(rosenbrock(list(x1)), rel=1e-14)
            np.testing.assert_allclose(tape.gradient(f), central_difference(rosenbrock, x1), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["reverse", "forward", "auto"])
def test_jacobian_against_finite_differences(mode: str, rng: np.random.Generator) -> None:
    def f(v):
        return [v[0] * v[1] * v[2], am.sin(v[0]) + v[3] ** 2, am.hypot(v[1], v[4]) / v[2]]

    x0 = rng.uniform(0.5, 1.5, size=5)
    with ad.Tape() as tape:
        xs = tape.vars(x0)
        jac = tape.jacobian(f(xs), mode=mode)
    want = np.stack([central_difference(lambda v, i=i: float(f(list(v))[i]), x0) for i in range(3)])
    np.testing.assert_allclose(jac, want, rtol=1e-7, atol=1e-8)


def test_hessian_vector_product_against_finite_differences_of_the_gradient(rng: np.random.Generator) -> None:
    x0, v = rng.uniform(-1, 1, size=4), rng.normal(size=4)
    with ad.Tape(dtype="f64_dual") as tape:
        f = rosenbrock(tape.vars(x0))
        g, hv = tape.hvp(f, x0, v)

    def grad_at(x):
        with ad.Tape() as t:
            return t.gradient(rosenbrock(t.vars(x)))

    np.testing.assert_allclose(g, grad_at(x0), rtol=1e-13)
    h = 1e-6
    want = (grad_at(x0 + h * v) - grad_at(x0 - h * v)) / (2 * h)
    np.testing.assert_allclose(hv, want, rtol=1e-6, atol=1e-6)


def test_numpy_ufuncs_on_arrays_of_vars_record(rng: np.random.Generator) -> None:
    x0 = rng.uniform(0.2, 1.0, size=4)
    with ad.Tape() as tape:
        xs = np.array(tape.vars(x0), dtype=object)
        f = np.sum(np.sin(xs) * np.exp(xs) + np.sqrt(xs) ** 2)
        g = tape.gradient(f)
    np.testing.assert_allclose(g, np.cos(x0) * np.exp(x0) + np.sin(x0) * np.exp(x0) + 1.0, rtol=1e-12)


def test_math_functions_give_plain_results_for_numbers() -> None:
    assert am.sin(0.5) == math.sin(0.5) and am.atan2(1.0, 2.0) == math.atan2(1.0, 2.0)
    assert am.sigmoid(0.0) == 0.5 and am.relu(-2.0) == 0.0


def test_f32_tapes_round_values() -> None:
    with ad.Tape(dtype=np.float32) as tape:
        x = tape.var(0.1)
        assert x.value == float(np.float32(0.1))
        (x * x).backward()
        assert x.grad == pytest.approx(0.2, rel=1e-6)


def test_comparisons_read_values() -> None:
    with ad.Tape() as tape:
        x = tape.var(2.0)
        assert x > 1 and x >= 2.0 and x < 3 and x <= 2 and float(x) == 2.0
        assert "Var(2.0)" == repr(x)


def test_tape_counts_and_dot() -> None:
    with ad.Tape() as tape:
        x, y = tape.var(1.0), tape.var(2.0)
        x * y + 1.0
        assert tape.num_inputs == 2 and len(tape) == 5 and tape.bytes_used > 0
        assert tape.dot().startswith("digraph")
