"""libautodiff for Python: automatic differentiation over libautodiff's C API.

A :class:`Tape` records scalar (:class:`Var`) and tensor (:class:`Tensor`) ops in one
block of memory; sweeps give gradients, Jacobians, Jacobian-vector and Hessian-vector
products. ::

    import libautodiff as ad

    with ad.Tape() as tape:
        x, y = tape.var(3.0), tape.var(2.0)
        f = (x + y) * (x - 2 * y)
        f.backward()
        x.grad, y.grad                  # (4.0, -11.0)

    ad.grad(lambda v: (v[0] + v[1]) * (v[0] - 2 * v[1]))([3.0, 2.0])   # array([4., -11.])

Failures raise subclasses of :class:`AutodiffError` (see :mod:`libautodiff.errors`).
"""

from . import _lib, errors, math
from .checkpoint import checkpoint
from .errors import (
    AutodiffError,
    CallbackError,
    ConcurrentUseError,
    DeviceError,
    DtypeError,
    ForeignHandleError,
    InternalError,
    InvalidArgumentError,
    InvalidTapeError,
    ModifiedInPlaceError,
    NonFiniteError,
    OutOfMemoryError,
    ReentrantError,
    ShapeError,
    SizeOverflowError,
    StaleHandleError,
    TapeClosedError,
    TooManyVariablesError,
    ViewsAliveError,
    WrongHandleKindError,
)
from .functional import grad, jacobian, value_and_grad
from .param import SGD, Adam, Parameter
from .tape import Tape
from .tensor import Tensor, cross_entropy, linear, matmul, mse
from .var import Var

__version__: str = _lib.version().decode()

__all__ = [
    "Adam", "AutodiffError", "CallbackError", "ConcurrentUseError", "DeviceError",
    "DtypeError", "ForeignHandleError", "InternalError", "InvalidArgumentError",
    "InvalidTapeError", "ModifiedInPlaceError", "NonFiniteError", "OutOfMemoryError",
    "Parameter", "ReentrantError", "SGD", "ShapeError", "SizeOverflowError",
    "StaleHandleError", "Tape", "TapeClosedError", "Tensor", "TooManyVariablesError",
    "Var", "ViewsAliveError", "WrongHandleKindError", "checkpoint", "cross_entropy",
    "errors", "grad", "jacobian", "linear", "math", "matmul", "mse", "value_and_grad",
]
