"""Math functions that record on a tape when given a :class:`~libautodiff.Var`.

The names and meanings follow Python's :mod:`math` module; a plain number gives the
plain result (so one function body serves numbers and variables), and a
:class:`~libautodiff.Tensor` the elementwise activation where one exists (``exp``,
``log``, ``sqrt``, ``tanh``, ``sigmoid``).
"""

from __future__ import annotations

import math as _math
from typing import Any, Callable

from . import _lib
from .tensor import Tensor
from .var import Var

__all__ = [
    "sqrt", "cbrt", "exp", "expm1", "log", "log1p", "log2", "log10",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
    "asinh", "acosh", "atanh", "fabs", "sigmoid", "softplus", "erf",
    "atan2", "pow", "hypot", "fmin", "fmax", "relu",
]


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + _math.exp(-x)) if x >= 0 else _math.exp(x) / (1.0 + _math.exp(x))


def _softplus(x: float) -> float:
    return max(x, 0.0) + _math.log1p(_math.exp(-abs(x)))


def _unary(c_name: str, plain: Callable[[float], float], tensor_act: Any = None) -> Callable[[Any], Any]:
    fn = _lib.UNARY[c_name]

    def apply(x: Any) -> Any:
        if type(x) is Var:
            return x._tape._unary(fn, x._h)
        if isinstance(x, Tensor):
            if tensor_act is None:
                raise TypeError(f"{c_name} has no tensor form; tensors have: exp, log, sqrt, tanh, sigmoid")
            return x.activation(tensor_act)
        return plain(x)

    apply.__name__ = c_name
    apply.__doc__ = f"``{c_name}(x)``: recorded for a Var, plain for a number."
    return apply


sqrt = _unary("sqrt", _math.sqrt, "sqrt")
cbrt = _unary("cbrt", lambda x: _math.copysign(abs(x) ** (1.0 / 3.0), x))
exp = _unary("exp", _math.exp, "exp")
expm1 = _unary("expm1", _math.expm1)
log = _unary("log", _math.log, "log")
log1p = _unary("log1p", _math.log1p)
log2 = _unary("log2", _math.log2)
log10 = _unary("log10", _math.log10)
sin = _unary("sin", _math.sin)
cos = _unary("cos", _math.cos)
tan = _unary("tan", _math.tan)
asin = _unary("asin", _math.asin)
acos = _unary("acos", _math.acos)
atan = _unary("atan", _math.atan)
sinh = _unary("sinh", _math.sinh)
cosh = _unary("cosh", _math.cosh)
tanh = _unary("tanh", _math.tanh, "tanh")
asinh = _unary("asinh", _math.asinh)
acosh = _unary("acosh", _math.acosh)
atanh = _unary("atanh", _math.atanh)
fabs = _unary("abs", _math.fabs)
sigmoid = _unary("sigmoid", _sigmoid, "sigmoid")
softplus = _unary("softplus", _softplus)
erf = _unary("erf", _math.erf)


def relu(x: Any) -> Any:
    """``max(x, 0)``: a tensor activation, or ``fmax(x, 0)`` for a scalar."""
    if isinstance(x, Tensor):
        return x.relu()
    return fmax(x, 0.0)


def _binary(c_name: str, plain: Callable[[float, float], float]) -> Callable[[Any, Any], Any]:
    fn = _lib.BINARY[c_name]

    def apply(a: Any, b: Any) -> Any:
        if type(a) is Var:
            return a._tape._binary(fn, a._h, b)
        if type(b) is Var:
            return b._tape._binary_reflected(fn, a, b._h)
        return plain(a, b)

    apply.__name__ = c_name
    apply.__doc__ = f"``{c_name}(a, b)``: recorded when either is a Var."
    return apply


atan2 = _binary("atan2", _math.atan2)
pow = _binary("pow", _math.pow)
hypot = _binary("hypot", _math.hypot)
fmin = _binary("min", min)
fmax = _binary("max", max)
