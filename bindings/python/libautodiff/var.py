"""`Var`: a scalar variable on a tape, with the Python operators."""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Union

from . import _lib

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape

Number = Union[int, float]
Operand = Union["Var", Number]

_ADD, _SUB, _MUL, _DIV, _POW = (_lib.BINARY[n] for n in ("add", "sub", "mul", "div", "pow"))


class Var:
    """A scalar variable recorded on a :class:`~libautodiff.Tape`.

    Arithmetic (``+ - * / **``, unary ``-``, ``abs``) records ops on the same tape;
    Python numbers mix in as constants. The functions of :mod:`libautodiff.math` (and
    numpy's ufuncs on object arrays of variables: ``np.sin``, ``np.exp``, ...) record
    the rest. Comparisons compare values and are not differentiated.

    A variable is valid until its tape's next reset (then it is stale and using it
    raises :class:`~libautodiff.StaleHandleError`) or the tape's close
    (:class:`~libautodiff.TapeClosedError`).
    """

    __slots__ = ("_tape", "_h")

    _tape: "Tape"
    _h: _lib.Handle

    # ---- reading ----

    @property
    def tape(self) -> "Tape":
        """The tape this variable lives on."""
        return self._tape

    @property
    def value(self) -> float:
        """The variable's value (after :meth:`Tape.replay`, the replayed one)."""
        return self._tape._read_scalar(_lib.value, self._h)

    @property
    def grad(self) -> float:
        """d(output)/d(self) after the last :meth:`Tape.backward`."""
        return self._tape._read_scalar(_lib.grad, self._h)

    @property
    def tangent(self) -> float:
        """The directional derivative after the last :meth:`Tape.jvp`."""
        return self._tape._read_scalar(_lib.tangent, self._h)

    def backward(self) -> None:
        """Runs backward from this variable (see :meth:`Tape.backward`)."""
        self._tape.backward(self)

    def __float__(self) -> float:
        return self.value

    def __repr__(self) -> str:
        try:
            return f"Var({self.value!r})"
        except Exception as error:  # a closed tape, a stale handle
            return f"Var(<{type(error).__name__}>)"

    # ---- arithmetic ----

    def __add__(self, other: Operand) -> "Var":
        return self._tape._binary(_ADD, self._h, other)

    def __radd__(self, other: Number) -> "Var":
        return self._tape._binary_reflected(_ADD, other, self._h)

    def __sub__(self, other: Operand) -> "Var":
        return self._tape._binary(_SUB, self._h, other)

    def __rsub__(self, other: Number) -> "Var":
        return self._tape._binary_reflected(_SUB, other, self._h)

    def __mul__(self, other: Operand) -> "Var":
        if type(other) is float or (type(other) is not Var and isinstance(other, Real)):
            return self._tape._unary_arg(_lib.scale, self._h, float(other))
        return self._tape._binary(_MUL, self._h, other)

    def __rmul__(self, other: Number) -> "Var":
        if type(other) is float or type(other) is int or isinstance(other, Real):
            return self._tape._unary_arg(_lib.scale, self._h, float(other))
        return NotImplemented

    def __truediv__(self, other: Operand) -> "Var":
        return self._tape._binary(_DIV, self._h, other)

    def __rtruediv__(self, other: Number) -> "Var":
        return self._tape._binary_reflected(_DIV, other, self._h)

    def __pow__(self, other: Operand) -> "Var":
        if type(other) is int and -(2**31) <= other < 2**31:
            return self._tape._unary_arg(_lib.powi, self._h, other)
        if type(other) is not Var and isinstance(other, Real):
            return self._tape._unary_arg(_lib.powf, self._h, float(other))
        return self._tape._binary(_POW, self._h, other)

    def __rpow__(self, other: Number) -> "Var":
        return self._tape._binary_reflected(_POW, other, self._h)

    def __neg__(self) -> "Var":
        return self._tape._unary(_lib.UNARY["neg"], self._h)

    def __pos__(self) -> "Var":
        return self

    def __abs__(self) -> "Var":
        return self._tape._unary(_lib.UNARY["abs"], self._h)

    # ---- comparisons: on values, not differentiated ----

    def __lt__(self, other: Operand) -> bool:
        return self.value < float(other)

    def __le__(self, other: Operand) -> bool:
        return self.value <= float(other)

    def __gt__(self, other: Operand) -> bool:
        return self.value > float(other)

    def __ge__(self, other: Operand) -> bool:
        return self.value >= float(other)


def _method(name: str):
    fn = _lib.UNARY[name]

    def method(self: Var) -> Var:
        return self._tape._unary(fn, self._h)

    method.__name__ = name
    method.__doc__ = f"``{name}(self)``, recorded (numpy's object ufuncs call it too)."
    return method


# numpy applies a ufunc to an object array by calling the method of its name on each
# element: these make `np.sin(xs)`, `np.exp(xs)`, ... record on the tape.
for _numpy_name, _c_name in {
    "sqrt": "sqrt", "cbrt": "cbrt", "exp": "exp", "expm1": "expm1", "log": "log",
    "log1p": "log1p", "log2": "log2", "log10": "log10", "sin": "sin", "cos": "cos",
    "tan": "tan", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "sinh": "sinh",
    "cosh": "cosh", "tanh": "tanh", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "absolute": "abs", "fabs": "abs",
}.items():
    setattr(Var, _numpy_name, _method(_c_name))
del _numpy_name, _c_name

