"""The cost of one `ad_mul` call through cffi, ABI mode (dlopen) and API mode (a compiled
module), beside the ctypes call the package makes: the measurement behind the package's
choice of ctypes (bindings/python/README.md). Needs cffi, setuptools and a C compiler."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict

CDEF = """
typedef struct ad_tape ad_tape;
typedef struct { uint32_t index, kind, generation, tape; } ad_var;
int ad_tape_new(size_t bytes, int dtype, ad_tape **tape_out);
void ad_tape_free(ad_tape *tape);
ad_var ad_input(ad_tape *tape, double value);
ad_var ad_mul(ad_tape *tape, ad_var a, ad_var b);
int ad_tape_reset(ad_tape *tape);
"""


def per_call_us(reset: Callable[[], Any], call: Callable[[Any], Any], calls: int = 1000, samples: int = 301) -> float:
    """Median over samples (each on a fresh recording) of the time per call."""
    times = []
    for _ in range(samples):
        x = reset()
        t0 = time.perf_counter_ns()
        for _ in range(calls):
            call(x)
        times.append((time.perf_counter_ns() - t0) / calls / 1e3)
    times.sort()
    return times[len(times) // 2]


def _through(lib: Any, ffi: Any) -> float:
    out = ffi.new("ad_tape **")
    assert lib.ad_tape_new(1 << 24, 2, out) == 0
    tape, mul = out[0], lib.ad_mul

    def reset() -> Any:
        lib.ad_tape_reset(tape)
        return lib.ad_input(tape, 2.0)

    try:
        return per_call_us(reset, lambda x: mul(tape, x, x))
    finally:
        lib.ad_tape_free(tape)


def measure(library: str, include: str) -> Dict[str, float]:
    """µs per `ad_mul` call by cffi ABI mode and API mode ({} without cffi)."""
    try:
        from cffi import FFI
    except ImportError:
        return {}
    abi = FFI()
    abi.cdef(CDEF)
    results = {"cffi ABI mode": _through(abi.dlopen(library), abi)}
    api = FFI()
    api.cdef(CDEF)
    lib_dir = str(Path(library).parent)
    # The library by its path (the package's is only libautodiff.so.1), found at run
    # time through its directory.
    api.set_source("_ad_cffi_bench", '#include "autodiff.h"', include_dirs=[include],
                   extra_link_args=[library, f"-Wl,-rpath,{lib_dir}"])
    with tempfile.TemporaryDirectory() as tmp:
        try:
            api.compile(tmpdir=tmp, verbose=False)
        except Exception as error:  # no compiler or no setuptools: say so, measure the rest
            print(f"# cffi API mode not measured: {error}", file=sys.stderr)
            return results
        sys.path.insert(0, tmp)
        import _ad_cffi_bench  # type: ignore[import-not-found]

        results["cffi API mode"] = _through(_ad_cffi_bench.lib, _ad_cffi_bench.ffi)
        sys.path.remove(tmp)
    return results
