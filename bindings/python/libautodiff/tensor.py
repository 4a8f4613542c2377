"""`Tensor`: an array of rank 0 to 4 on a tape, with numpy interop."""

from __future__ import annotations

import ctypes
from numbers import Real
from typing import TYPE_CHECKING, Any, Optional, Sequence, Tuple, Union

import numpy as np

from . import _lib
from .errors import InvalidArgumentError, ReentrantError, ShapeError
from .views import TENSOR, arena_view

if TYPE_CHECKING:  # pragma: no cover
    from .tape import Tape
    from .var import Var

#: Activations by name, as `ad_activation` numbers.
ACTIVATIONS = {
    "identity": 0, None: 0, "relu": 1, "leaky_relu": 2, "sigmoid": 3, "tanh": 4,
    "gelu": 5, "exp": 6, "log": 7, "sqrt": 8, "square": 9,
}


def as_c_array(data: Any, dtype: np.dtype) -> np.ndarray:
    """``data`` as a C-contiguous array of ``dtype``: the same array, no copy, when it
    is one already."""
    array = np.ascontiguousarray(data, dtype=dtype)
    if array.ndim > 4:
        raise ShapeError(f"tensors have rank 0 to 4, not {array.ndim}")
    return array


def activation_code(act: Any) -> int:
    try:
        return ACTIVATIONS[act]
    except (KeyError, TypeError):
        raise InvalidArgumentError(f"unknown activation {act!r}: one of {sorted(k for k in ACTIVATIONS if k)}") from None


class Tensor:
    """A tensor recorded on a :class:`~libautodiff.Tape`: row-major, rank 0 to 4, of
    the tape's dtype.

    ``+ - * /`` broadcast like numpy (numbers and arrays mix in as constants), ``@`` is
    the matrix product, ``.T`` the transpose. ``np.asarray(t)`` and ``t.value`` view
    the value in the tape's memory without copying, ``t.grad`` the gradient after
    backward (read-only views, see :mod:`libautodiff.views`); :meth:`numpy` copies.
    Valid until the tape's next reset or its close, like a :class:`Var`.
    """

    __slots__ = ("_tape", "_h", "_shape")

    # numpy defers arithmetic with an array to this class's reflected operators, which
    # record the array as a constant (instead of making an object array).
    __array_ufunc__ = None

    _tape: "Tape"
    _h: _lib.Handle
    _shape: Optional[Tuple[int, ...]]

    @classmethod
    def _wrap(cls, tape: "Tape", h: _lib.Handle) -> "Tensor":
        if h.index == _lib.INVALID_INDEX:
            raise tape._sticky()
        t = cls.__new__(cls)
        t._tape = tape
        t._h = h
        t._shape = None
        return t

    @property
    def tape(self) -> "Tape":
        return self._tape

    # ---- shape ----

    @property
    def shape(self) -> Tuple[int, ...]:
        """The dimensions (a tensor's shape never changes, so it is read once)."""
        if self._shape is None:
            tape = self._tape
            with tape._calling() as ptr:
                dims = (ctypes.c_size_t * 4)()
                rank = ctypes.c_size_t()
                tape._check(_lib.tensor_dims(ptr, self._h, dims, 4, ctypes.byref(rank)))
                self._shape = tuple(dims[: rank.value])
        return self._shape

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def dtype(self) -> np.dtype:
        return self._tape._np_dtype

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a rank-0 tensor")
        return self.shape[0]

    # ---- data ----

    def _copy_out(self, what: str) -> np.ndarray:
        tape = self._tape
        out = np.empty(self.shape, dtype=tape._np_dtype)
        with tape._calling() as ptr:
            tape._check(_lib.TENSOR_DATA[(what, tape._dt)](ptr, self._h, _lib.address(out), out.size))
        return out

    def _view(self, which: int, what: str) -> np.ndarray:
        if not self.shape:  # rank 0: no buffer of its own, a copy is one number
            return self._copy_out(what)
        tape = self._tape
        if tape._callback_depth:
            raise ReentrantError(
                "no views inside a checkpointed block: its tensors' memory is given back when the "
                "block ends; copy with .numpy()"
            )
        with tape._calling() as ptr:
            address = ctypes.c_void_p()
            count = ctypes.c_size_t()
            tape._check(_lib.tensor_buffer(ptr, self._h, which, ctypes.byref(address), ctypes.byref(count)))
            return arena_view(tape, address.value or 0, count.value, self.shape, TENSOR)

    @property
    def value(self) -> np.ndarray:
        """The value: a read-only view of the tape's memory (a copy for rank 0)."""
        return self._view(_lib.AD_BUFFER_VALUE, "value")

    @property
    def grad(self) -> np.ndarray:
        """The gradient after the last backward: a read-only view (a copy for rank 0)."""
        return self._view(_lib.AD_BUFFER_GRAD, "grad")

    @property
    def tangent(self) -> np.ndarray:
        """The tangent after the last :meth:`Tape.jvp` (a copy)."""
        return self._copy_out("tangent")

    def numpy(self) -> np.ndarray:
        """A copy of the value, independent of the tape."""
        return self._copy_out("value")

    def item(self) -> float:
        """The value of a tensor of one element, as a float."""
        return float(self._copy_out("value").reshape(-1)[0]) if self.size == 1 else self._not_one()

    def _not_one(self) -> float:
        raise ShapeError(f"item() of a tensor of shape {self.shape}")

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray:
        if copy:
            array = self.numpy()
        else:
            array = self.value
        return array if dtype is None else array.astype(dtype, copy=False)

    def __float__(self) -> float:
        return self.item()

    def set_value(self, data: Any) -> None:
        """Overwrites an input or constant with ``data`` (for :meth:`Tape.replay`)."""
        self._write("set_value", data)

    def seed_tangent(self, data: Any) -> None:
        """Sets an input's tangent for the next :meth:`Tape.jvp`."""
        self._write("seed_tangent", data)

    def _write(self, what: str, data: Any) -> None:
        tape = self._tape
        array = as_c_array(data, tape._np_dtype)
        with tape._calling() as ptr:
            tape._check(_lib.TENSOR_DATA[(what, tape._dt)](ptr, self._h, array.ctypes.data, array.size))

    def backward(self) -> None:
        """Runs backward from this rank-0 tensor."""
        self._tape.backward(self)

    def __repr__(self) -> str:
        try:
            return f"Tensor({self.numpy()!r})"
        except Exception as error:
            return f"Tensor(<{type(error).__name__}>)"

    # ---- recording ----

    def _record(self, fn: Any, *args: Any) -> "Tensor":
        tape = self._tape
        ptr = tape._enter()
        try:
            h = fn(ptr, *args)
        finally:
            tape._lock.release()
        return Tensor._wrap(tape, h)

    def _operand(self, other: Any) -> Optional[_lib.Handle]:
        if type(other) is Tensor:
            return other._h
        if isinstance(other, Parameter):
            return other.use()._h
        if isinstance(other, (Real, np.ndarray, np.generic, list, tuple)):
            return self._tape.const(np.asarray(other, dtype=self._tape._np_dtype))._h
        return None

    def _binary(self, name: str, other: Any, reflected: bool = False) -> Any:
        b = self._operand(other)
        if b is None:
            return NotImplemented
        a = self._h
        if reflected:
            a, b = b, a
        return self._record(_lib.TENSOR_BINARY[name], a, b)

    def __add__(self, other: Any) -> "Tensor":
        return self._binary("add", other)

    def __radd__(self, other: Any) -> "Tensor":
        return self._binary("add", other, reflected=True)

    def __sub__(self, other: Any) -> "Tensor":
        return self._binary("sub", other)

    def __rsub__(self, other: Any) -> "Tensor":
        return self._binary("sub", other, reflected=True)

    def __mul__(self, other: Any) -> "Tensor":
        if type(other) is float or type(other) is int or isinstance(other, Real):
            return self._record(_lib.tensor_scale, self._h, float(other))
        return self._binary("mul", other)

    def __rmul__(self, other: Any) -> "Tensor":
        if isinstance(other, Real):
            return self._record(_lib.tensor_scale, self._h, float(other))
        return self._binary("mul", other, reflected=True)

    def __truediv__(self, other: Any) -> "Tensor":
        return self._binary("div", other)

    def __rtruediv__(self, other: Any) -> "Tensor":
        return self._binary("div", other, reflected=True)

    def __neg__(self) -> "Tensor":
        return self._record(_lib.tensor_scale, self._h, -1.0)

    def __matmul__(self, other: Any) -> "Tensor":
        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> "Tensor":
        b = self._operand(other)
        if b is None:
            return NotImplemented
        return self._record(_lib.matmul, b, self._h, 0, 0)

    @property
    def T(self) -> "Tensor":
        """The transpose of a 2-D tensor."""
        return self._record(_lib.TENSOR_UNARY["transpose"], self._h)

    def reshape(self, *dims: Union[int, Sequence[int]]) -> "Tensor":
        """The same elements in another shape of the same size (``-1`` infers one)."""
        wanted: Tuple[int, ...] = tuple(dims[0]) if len(dims) == 1 and not isinstance(dims[0], int) else dims  # type: ignore[assignment]
        shape = np.empty(self.shape, dtype=np.int8).reshape(wanted).shape if -1 in wanted else wanted
        return self._record(_lib.reshape, self._h, _lib.dims(shape), len(shape))

    def sum(self, axis: Optional[int] = None) -> "Tensor":
        """The sum of all elements (rank 0), or along ``axis``, removing it."""
        if axis is None:
            return self._record(_lib.TENSOR_UNARY["tensor_sum"], self._h)
        return self._record(_lib.sum_axis, self._h, axis % max(self.ndim, 1))

    def mean(self, axis: Optional[int] = None) -> "Tensor":
        """The mean of all elements (rank 0), or along ``axis``, removing it."""
        if axis is None:
            return self._record(_lib.TENSOR_UNARY["tensor_mean"], self._h)
        return self._record(_lib.mean_axis, self._h, axis % max(self.ndim, 1))

    def activation(self, act: str) -> "Tensor":
        """``act(self)`` elementwise, ``act`` one of :data:`ACTIVATIONS`."""
        return self._record(_lib.tensor_activation, self._h, activation_code(act))

    def relu(self) -> "Tensor":
        return self.activation("relu")

    def sigmoid(self) -> "Tensor":
        return self.activation("sigmoid")

    def tanh(self) -> "Tensor":
        return self.activation("tanh")

    def gelu(self) -> "Tensor":
        return self.activation("gelu")

    def exp(self) -> "Tensor":
        return self.activation("exp")

    def log(self) -> "Tensor":
        return self.activation("log")

    def sqrt(self) -> "Tensor":
        return self.activation("sqrt")

    def square(self) -> "Tensor":
        return self.activation("square")

    def leaky_relu(self, slope: float = 0.01) -> "Tensor":
        return self._record(_lib.leaky_relu, self._h, float(slope))

    def softmax(self) -> "Tensor":
        """Softmax along the last axis."""
        return self._record(_lib.TENSOR_UNARY["softmax"], self._h)

    def log_softmax(self) -> "Tensor":
        """Log-softmax along the last axis."""
        return self._record(_lib.TENSOR_UNARY["log_softmax"], self._h)

    def as_var(self) -> "Var":
        """A rank-0 tensor as a scalar :class:`Var`."""
        return self._tape._wrap(self._scalar_handle())

    def _scalar_handle(self) -> _lib.Handle:
        tape = self._tape
        ptr = tape._enter()
        try:
            h = _lib.tensor_as_var(ptr, self._h)
        finally:
            tape._lock.release()
        if h.index == _lib.INVALID_INDEX:
            raise tape._sticky()
        return h


def _tensor_of(x: Any, like: Tensor) -> Tensor:
    if type(x) is Tensor:
        return x
    if isinstance(x, Parameter):
        return x.use()
    return like._tape.const(np.asarray(x, dtype=like._tape._np_dtype))


def _first_tensor(*xs: Any) -> Tensor:
    for x in xs:
        if type(x) is Tensor:
            return x
        if isinstance(x, Parameter):
            return x.use()
    raise TypeError("expected at least one Tensor or Parameter")


def matmul(a: Any, b: Any, transpose_a: bool = False, transpose_b: bool = False) -> Tensor:
    """``op(a) @ op(b)`` for 2-D tensors, ``op`` transposing when asked."""
    like = _first_tensor(a, b)
    a, b = _tensor_of(a, like), _tensor_of(b, like)
    return like._record(_lib.matmul, a._h, b._h, int(transpose_a), int(transpose_b))


def linear(x: Any, w: Any, b: Any, activation: Optional[str] = "identity") -> Tensor:
    """The fused layer ``activation(x @ w + b)``: ``x`` ``[batch, in]``, ``w`` ``[in,
    out]``, ``b`` ``[out]``; ``activation`` is identity, relu, sigmoid, tanh or exp."""
    like = _first_tensor(x, w, b)
    x, w, b = (_tensor_of(v, like) for v in (x, w, b))
    return like._record(_lib.linear, x._h, w._h, b._h, activation_code(activation))


def cross_entropy(logits: Tensor, labels: Any) -> Tensor:
    """The mean softmax cross-entropy of ``logits`` ``[batch, classes]`` against
    integer ``labels`` (one per row): a rank-0 tensor."""
    array = np.ascontiguousarray(labels, dtype=np.uint32).reshape(-1)
    return logits._record(_lib.cross_entropy, logits._h, _lib.address(array), array.size)


def mse(prediction: Tensor, target: Any) -> Tensor:
    """The mean squared error of two tensors of one shape: a rank-0 tensor."""
    target = _tensor_of(target, prediction)
    return prediction._record(_lib.mse, prediction._h, target._h)


# Parameters stand for their use in arithmetic; param.py builds on this module.
from .param import Parameter  # noqa: E402
