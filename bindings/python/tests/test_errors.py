"""Every failure a caller can provoke raises the exception of its status, carrying the
tape's message, and the tape is usable again after a reset."""

from __future__ import annotations

import numpy as np
import pytest

import libautodiff as ad
from libautodiff import errors


def test_every_status_has_its_class_and_name() -> None:
    for status, name in errors.STATUS_NAMES.items():
        if status == 0:
            continue
        error = errors.error_for(status, "message")
        assert isinstance(error, errors.STATUS_CLASSES[status]) and isinstance(error, ad.AutodiffError)
        assert error.status == status and error.status_name == name and name in str(error)
    unknown = errors.error_for(99, "from a newer library")
    assert type(unknown) is ad.AutodiffError and unknown.status == 99
    assert issubclass(ad.ShapeError, ValueError) and issubclass(ad.DtypeError, TypeError)
    assert issubclass(ad.OutOfMemoryError, MemoryError) and issubclass(ad.ViewsAliveError, BufferError)


def test_shape_mismatch_names_both_shapes_and_reset_recovers() -> None:
    with ad.Tape() as tape:
        a, b = tape.input(np.ones((2, 3))), tape.input(np.ones((4, 5)))
        with pytest.raises(ad.ShapeError, match=r"\[2, 3\] and \[4, 5\]") as info:
            a @ b
        assert info.value.status_name == "AD_ERR_SHAPE_MISMATCH"
        with pytest.raises(ad.ShapeError):  # sticky: later ops fail with the first error
            a + a
        assert isinstance(tape.status, ad.ShapeError)
        tape.reset()
        assert tape.status is None
        x = tape.var(2.0)
        (x * x).backward()
        assert x.grad == 4.0


def test_handles_of_another_tape_and_stale_handles() -> None:
    with ad.Tape() as t1, ad.Tape() as t2:
        x, y = t1.var(1.0), t2.var(2.0)
        with pytest.raises(ad.ForeignHandleError):
            x + y
        t1.reset()
        with pytest.raises(ad.StaleHandleError):
            x.value


def test_out_of_memory_says_how_much() -> None:
    with ad.Tape(2048) as tape:
        with pytest.raises(ad.OutOfMemoryError, match="needed"):
            tape.input(np.ones(1000))
    with pytest.raises(ad.OutOfMemoryError):
        ad.Tape(16)


def test_bad_memory_and_dtypes_are_refused() -> None:
    with pytest.raises(ad.InvalidArgumentError, match="read-only"):
        ad.Tape(bytes(4096))
    with pytest.raises(ad.InvalidArgumentError, match="contiguous"):
        ad.Tape(np.zeros((64, 64), dtype=np.uint8)[:, ::2])
    with pytest.raises(TypeError):
        ad.Tape("memory")  # type: ignore[arg-type]
    with pytest.raises(ad.InvalidArgumentError):
        ad.Tape(0)
    with pytest.raises(ad.InvalidArgumentError, match="unknown dtype"):
        ad.Tape(dtype="f16")


def test_tensors_on_a_dual_tape_are_a_dtype_error() -> None:
    with ad.Tape(dtype="f64_dual") as tape:
        with pytest.raises(ad.DtypeError):
            tape.input(np.ones(3))


def test_hvp_on_a_plain_tape_is_a_dtype_error() -> None:
    with ad.Tape() as tape:
        x = tape.var(1.0)
        with pytest.raises(ad.DtypeError):
            tape.hvp(x * x, [1.0], [1.0])


def test_backward_from_nan_is_non_finite() -> None:
    with ad.Tape() as tape:
        x = tape.var(-1.0)
        with pytest.raises(ad.NonFiniteError):
            ad.math.sqrt(x).backward()


def test_writing_a_parameter_after_its_use_is_caught() -> None:
    with ad.Tape() as tape:
        p = tape.parameter(np.ones(2))
        loss = (p * p).sum()
        p.assign([2.0, 2.0])
        with pytest.raises(ad.ModifiedInPlaceError):
            loss.backward()


def test_wrong_lengths_and_arguments() -> None:
    with ad.Tape() as tape:
        x = tape.var(1.0)
        f = x * x
        with pytest.raises(ad.InvalidArgumentError, match="2 values for 1 inputs"):
            tape.replay([1.0, 2.0])
        with pytest.raises(ad.InvalidArgumentError):
            tape.jacobian([f], mode="sideways")
        with pytest.raises(TypeError):
            tape.backward("f")  # type: ignore[arg-type]
        t = tape.input(np.ones((2, 2)))
        with pytest.raises(ad.InvalidArgumentError, match="unknown activation"):
            t.activation("swish")
        with pytest.raises(ad.ShapeError):
            tape.input(np.ones((1, 1, 1, 1, 2)))
        with pytest.raises(ad.InvalidArgumentError):
            t.set_value(np.ones(3))
    with ad.Tape() as tape:
        logits = tape.input(np.zeros((2, 3)))
        with pytest.raises(ad.InvalidArgumentError, match="label"):
            ad.cross_entropy(logits, [0, 3])
    with ad.Tape() as tape:
        with pytest.raises(ad.ShapeError):
            tape.input(np.zeros(3)).item()


def test_a_constant_has_no_gradient() -> None:
    with ad.Tape() as tape:
        c = tape.const(np.ones(2))
        x = tape.input(np.ones(2))
        (c * x).sum().backward()
        with pytest.raises(ad.InvalidArgumentError, match="no gradient"):
            c.grad


def test_parameters_after_recording_are_refused() -> None:
    with ad.Tape() as tape:
        tape.var(1.0)
        with pytest.raises(ad.InvalidArgumentError):
            tape.parameter(np.ones(2))


def test_a_tensor_where_a_variable_goes() -> None:
    with ad.Tape() as tape:
        t = tape.input(np.ones(2))
        with pytest.raises(ad.ShapeError):
            t.as_var()  # rank 1
        tape.reset()
        t = tape.input(np.ones(2))
        with pytest.raises(TypeError):
            tape.var(1.0) + t  # type: ignore[operator]


def test_a_panic_inside_the_library_is_a_status_not_a_crash() -> None:
    from libautodiff import _lib

    status = _lib.fast.ad_debug_panic_for_test()  # exported for tests, not in the header
    assert status == 3
    error = errors.error_for(status, _lib.status_str(status).decode())
    assert isinstance(error, ad.InternalError) and "panic" in str(error)
    with ad.Tape() as tape:  # and the interpreter goes on
        x = tape.var(2.0)
        (x * x).backward()
        assert x.grad == 4.0
