"""The C ABI of libautodiff, declared for ctypes.

Two handles on the same shared library: calls through ``slow`` release the GIL (ctypes
``CDLL``) and are used for sweeps, tensor kernels and optimizer steps, which can run
for milliseconds; calls through ``fast`` keep it (``PyDLL``), for scalar ops and small
reads that take nanoseconds in C, where releasing and retaking the GIL would cost more
than the call.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int32,
    c_size_t,
    c_uint32,
    c_void_p,
)
from pathlib import Path

#: The ABI version this package was written against (`AD_ABI_VERSION`).
ABI_VERSION = 1

#: The invalid handle's index: what a failed op returns.
INVALID_INDEX = 0xFFFFFFFF

AD_F32, AD_F64, AD_F64_DUAL = 1, 2, 3
AD_BUFFER_VALUE, AD_BUFFER_GRAD = 0, 1
AD_OK = 0
AD_ERR_INVALID_ARGUMENT = 8


class Handle(Structure):
    """`ad_var` and `ad_tensor`: index, kind, generation, tape."""

    _fields_ = [
        ("index", c_uint32),
        ("kind", c_uint32),
        ("generation", c_uint32),
        ("tape", c_uint32),
    ]


class ParamHandle(Structure):
    """`ad_param`: index, kind, tape."""

    _fields_ = [("index", c_uint32), ("kind", c_uint32), ("tape", c_uint32)]


HandleArray = POINTER(Handle)

# ad_status (*ad_segment_fn)(ad_tape *, const ad_var *, size_t, ad_var *, size_t, void *)
SEGMENT_FN = ctypes.CFUNCTYPE(c_int, c_void_p, HandleArray, c_size_t, HandleArray, c_size_t, c_void_p)


def _find_library() -> str:
    """The library beside this file, or the one ``LIBAUTODIFF_PATH`` names."""
    override = os.environ.get("LIBAUTODIFF_PATH")
    if override:
        return override
    here = Path(__file__).resolve().parent
    for name in (f"libautodiff.so.{ABI_VERSION}", "libautodiff.so"):
        candidate = here / name
        if candidate.exists():
            return str(candidate)
    raise ImportError(
        f"libautodiff: no libautodiff.so.{ABI_VERSION} in {here}; install the package with "
        "`pip install ./bindings/python`, or set LIBAUTODIFF_PATH to a built library"
    )


PATH = _find_library()
slow = ctypes.CDLL(PATH)
fast = ctypes.PyDLL(PATH)

if fast.ad_abi_version() != ABI_VERSION:  # pragma: no cover - a mismatched build
    raise ImportError(
        f"libautodiff: {PATH} has ABI version {fast.ad_abi_version()}, this package needs {ABI_VERSION}"
    )


def address(array: "object") -> int:
    """The address of a numpy array's first element."""
    return array.ctypes.data  # type: ignore[attr-defined]


_DIMS = [ctypes.c_size_t * r for r in range(5)]


def dims(shape: "tuple") -> "ctypes.Array":
    """A shape as a C ``size_t`` array (rank 0 to 4; a longer one is refused by C)."""
    rank = len(shape)
    return (_DIMS[rank] if rank < 5 else ctypes.c_size_t * rank)(*shape)


def _declare(lib: ctypes.CDLL, name: str, restype, *argtypes):
    fn = getattr(lib, name)
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


T = c_void_p  # ad_tape *
SZ = c_size_t
PD = c_void_p  # arrays cross as addresses (numpy `.ctypes.data`)
PSZ = POINTER(c_size_t)

# ---- tapes ----
tape_init = _declare(fast, "ad_tape_init", c_int, c_void_p, SZ, c_int, POINTER(c_void_p))
tape_done = _declare(fast, "ad_tape_done", c_int, T)
tape_reset = _declare(fast, "ad_tape_reset", c_int, T)
tape_status = _declare(fast, "ad_tape_status", c_int, T)
tape_error = _declare(fast, "ad_tape_error", c_char_p, T)
tape_num_inputs = _declare(fast, "ad_tape_num_inputs", c_int, T, PSZ)
tape_len = _declare(fast, "ad_tape_len", c_int, T, PSZ)
tape_bytes_used = _declare(fast, "ad_tape_bytes_used", c_int, T, PSZ)
tape_bytes_for = _declare(fast, "ad_tape_bytes_for", c_int, SZ, c_int, PSZ)
tape_dot = _declare(fast, "ad_tape_dot", c_int, T, c_char_p, SZ, PSZ)
status_str = _declare(fast, "ad_status_str", c_char_p, c_int)
version = _declare(fast, "ad_version", c_char_p)

# ---- scalar recording (GIL held: nanoseconds in C) ----
input_ = _declare(fast, "ad_input", Handle, T, c_double)
const = _declare(fast, "ad_const", Handle, T, c_double)
BINARY = {
    name: _declare(fast, f"ad_{name}", Handle, T, Handle, Handle)
    for name in ("add", "sub", "mul", "div", "pow", "atan2", "min", "max", "hypot")
}
UNARY = {
    name: _declare(fast, f"ad_{name}", Handle, T, Handle)
    for name in (
        "neg recip sqrt cbrt exp expm1 log log1p log2 log10 sin cos tan asin acos atan "
        "sinh cosh tanh asinh acosh atanh abs sigmoid softplus erf"
    ).split()
}
scale = _declare(fast, "ad_scale", Handle, T, Handle, c_double)
powf = _declare(fast, "ad_powf", Handle, T, Handle, c_double)
powi = _declare(fast, "ad_powi", Handle, T, Handle, c_int)
value = _declare(fast, "ad_value", c_int, T, Handle, PD)
grad = _declare(fast, "ad_grad", c_int, T, Handle, PD)
tangent = _declare(fast, "ad_tangent", c_int, T, Handle, PD)

# ---- sweeps (GIL released) ----
backward = _declare(slow, "ad_backward", c_int, T, Handle)
gradient = _declare(slow, "ad_gradient", c_int, T, Handle, PD, SZ)
jvp = _declare(slow, "ad_jvp", c_int, T, PD, SZ)
replay = _declare(slow, "ad_replay", c_int, T, PD, SZ)
jacobian = _declare(slow, "ad_jacobian", c_int, T, HandleArray, SZ, PD, SZ)
jacobian_fwd = _declare(slow, "ad_jacobian_fwd", c_int, T, HandleArray, SZ, PD, SZ)
hvp = _declare(slow, "ad_hvp", c_int, T, Handle, PD, PD, PD, PD, SZ)

# ---- checkpointing ----
checkpoint = _declare(slow, "ad_checkpoint", c_int, T, SEGMENT_FN, c_void_p, HandleArray, SZ, HandleArray, SZ)
checkpoint_tensors = _declare(
    slow, "ad_checkpoint_tensors", c_int, T, SEGMENT_FN, c_void_p, HandleArray, SZ, HandleArray, SZ
)

# ---- tensors (GIL released: kernels) ----
tensor_is_valid = _declare(fast, "ad_tensor_is_valid", ctypes.c_bool, Handle)
TENSOR_LEAF = {
    (kind, dt): _declare(slow, f"ad_tensor_{kind}_{dt}", Handle, T, PSZ, SZ, c_void_p, SZ)
    for kind in ("input", "const")
    for dt in ("f32", "f64")
}
TENSOR_BINARY = {
    name: _declare(slow, f"ad_tensor_{name}", Handle, T, Handle, Handle) for name in ("add", "sub", "mul", "div")
}
matmul = _declare(slow, "ad_matmul", Handle, T, Handle, Handle, c_int, c_int)
linear = _declare(slow, "ad_linear", Handle, T, Handle, Handle, Handle, c_int)
tensor_scale = _declare(slow, "ad_tensor_scale", Handle, T, Handle, c_double)
tensor_activation = _declare(slow, "ad_tensor_activation", Handle, T, Handle, c_int)
leaky_relu = _declare(slow, "ad_leaky_relu", Handle, T, Handle, c_double)
TENSOR_UNARY = {
    name: _declare(slow, f"ad_{name}", Handle, T, Handle)
    for name in ("tensor_sum", "tensor_mean", "transpose", "softmax", "log_softmax")
}
sum_axis = _declare(slow, "ad_tensor_sum_axis", Handle, T, Handle, SZ)
mean_axis = _declare(slow, "ad_tensor_mean_axis", Handle, T, Handle, SZ)
reshape = _declare(slow, "ad_reshape", Handle, T, Handle, PSZ, SZ)
cross_entropy = _declare(slow, "ad_cross_entropy", Handle, T, Handle, c_void_p, SZ)
mse = _declare(slow, "ad_mse", Handle, T, Handle, Handle)
tensor_as_var = _declare(fast, "ad_tensor_as_var", Handle, T, Handle)
tensor_dims = _declare(fast, "ad_tensor_dims", c_int, T, Handle, PSZ, SZ, PSZ)
TENSOR_DATA = {
    (what, dt): _declare(slow, f"ad_tensor_{what}_{dt}", c_int, T, Handle, c_void_p, SZ)
    for what in ("value", "grad", "tangent", "set_value", "seed_tangent")
    for dt in ("f32", "f64")
}
tensor_buffer = _declare(fast, "ad_tensor_buffer", c_int, T, Handle, c_int, POINTER(c_void_p), PSZ)

# ---- parameters and optimizers ----
PARAM_NEW = {dt: _declare(fast, f"ad_param_new_{dt}", c_int, T, PSZ, SZ, c_void_p, SZ, POINTER(ParamHandle)) for dt in ("f32", "f64")}
param_use = _declare(fast, "ad_param_use", Handle, T, ParamHandle)
PARAM_DATA = {
    (what, dt): _declare(slow, f"ad_param_{what}_{dt}", c_int, T, ParamHandle, c_void_p, SZ)
    for what in ("read", "grad", "write")
    for dt in ("f32", "f64")
}
param_buffer = _declare(fast, "ad_param_buffer", c_int, T, ParamHandle, c_int, POINTER(c_void_p), PSZ)
optim_sgd = _declare(fast, "ad_optim_sgd", c_int, T, c_double, c_double, c_double)
optim_adam = _declare(fast, "ad_optim_adam", c_int, T, c_double, c_double, c_double, c_double, c_double, c_int32)
optim_step = _declare(slow, "ad_optim_step", c_int, T)
