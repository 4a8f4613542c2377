"""The worked examples of the chapter libautodiff comes from, from Python, with their
exact values (core/tests/seed_examples.rs checks the same in Rust).

    python examples/python/worked_examples.py
"""

from __future__ import annotations

import math

import numpy as np

import libautodiff as ad


def product_of_sum_and_difference() -> None:
    # f(x, y) = (x + y)(x − 2y): ∂f/∂x = 2x − y = 4, ∂f/∂y = −x − 4y = −11 at (3, 2).
    with ad.Tape(4096) as tape:
        x, y = tape.var(3.0), tape.var(2.0)
        f = (x + y) * (x - 2 * y)
        f.backward()
        assert (f.value, x.grad, y.grad) == (-5.0, 4.0, -11.0)
        print(f"f(x, y) = (x + y)(x - 2y) at (3, 2): f = {f.value:g}, df/dx = {x.grad:g}, df/dy = {y.grad:g}")
    # The same as a function of an array, recorded once and replayed:
    g = ad.grad(lambda v: (v[0] + v[1]) * (v[0] - 2 * v[1]))
    assert list(g([3.0, 2.0])) == [4.0, -11.0]


def two_x_squared_plus_sin_x() -> None:
    # f(x) = 2x² + sin x at 3, by reverse mode and by forward mode: 4x + cos x.
    with ad.Tape(4096) as tape:
        x = tape.var(3.0)
        f = 2.0 * x * x + ad.math.sin(x)
        f.backward()
        reverse = x.grad
        tape.jvp([1.0])
        forward = f.tangent
        assert reverse == forward == 12.0 + math.cos(3.0)
        print(f"f(x) = 2x^2 + sin x at 3: f = {f.value:.6f}, f' = {reverse:.6f} (reverse) = {forward:.6f} (forward)")


def sum_of_squares() -> None:
    with ad.Tape(4096) as tape:
        x, y = tape.var(3.0), tape.var(4.0)
        z = x * x + y * y
        g = tape.gradient(z)
        assert z.value == 25.0 and list(g) == [6.0, 8.0]
        print(f"z = x^2 + y^2 at (3, 4): z = {z.value:g}, grad = {g}")


def hessian_vector_product_of_a_cubic() -> None:
    # f(x, y) = x³y + y²: ∇f = (3x²y, x³ + 2y), ∇²f = [[6xy, 3x²], [3x², 2]].
    with ad.Tape(8192, dtype="f64_dual") as tape:
        x, y = tape.var(0.0), tape.var(0.0)
        f = x**3 * y + y * y
        g, hv = tape.hvp(f, [2.0, 3.0], [1.0, -1.0])
        assert list(g) == [36.0, 14.0] and list(hv) == [24.0, 10.0]
        print(f"f(x, y) = x^3 y + y^2 at (2, 3): grad = {g}, H·(1, -1) = {hv}")


def a_tensor_gradient() -> None:
    # d/dW sum(tanh(x W)) = xᵀ (1 − tanh²(x W)), viewed in the tape's memory.
    rng = np.random.default_rng(0)
    x0, w0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    with ad.Tape() as tape:
        w = tape.input(w0)
        (tape.const(x0) @ w).tanh().sum().backward()
        grad = np.asarray(w.grad)  # a read-only view, no copy
        want = x0.T @ (1 - np.tanh(x0 @ w0) ** 2)
        assert np.allclose(grad, want, rtol=1e-14)
        print(f"d/dW sum(tanh(x W)) =\n{grad}")
        del grad  # views must go before the tape's memory is reused


if __name__ == "__main__":
    product_of_sum_and_difference()
    two_x_squared_plus_sin_x()
    sum_of_squares()
    hessian_vector_product_of_a_cubic()
    a_tensor_gradient()
    print("worked examples: all values as expected")
