"""Against the C results: the C programs of examples/, built against the library this
package carries, print what the same computations from Python print."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path


import libautodiff as ad

REPO = Path(__file__).resolve().parents[3]


def build_c(tmp_path: Path, example: str) -> Path:
    """examples/<example>.c compiled and linked to the package's libautodiff.so."""
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    assert cc, "a C compiler is needed to build the C side of this comparison"
    lib = Path(ad._lib.PATH)
    link = tmp_path / "libautodiff.so"
    link.symlink_to(lib)
    exe = tmp_path / example
    subprocess.run(
        [cc, "-std=c99", "-O2", "-I", str(REPO / "include"), str(REPO / "examples" / f"{example}.c"),
         "-L", str(tmp_path), "-lautodiff", f"-Wl,-rpath,{lib.parent}", "-lm", "-o", str(exe)],
        check=True,
    )
    return exe


def test_the_quickstart_prints_the_python_gradients(tmp_path: Path) -> None:
    out = subprocess.run([build_c(tmp_path, "quickstart")], check=True, capture_output=True, text=True).stdout
    with ad.Tape() as tape:
        x, y = tape.var(3.0), tape.var(2.0)
        f = (x + y) * (x - 2 * y)
        f.backward()
        assert out.strip() == f"f(3, 2) = {f.value:g}, df/dx = {x.grad:g}, df/dy = {y.grad:g}"


def test_the_python_mlp_trains_as_the_c_mlp_does(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("mlp_example", REPO / "examples" / "python" / "mlp.py")
    assert spec and spec.loader
    mlp = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mlp)
    c_lines = subprocess.run([build_c(tmp_path, "mlp"), "1", "62"], check=True, capture_output=True, text=True).stdout.splitlines()
    py_lines: list = []
    accuracy, losses = mlp.train(epochs=1, max_steps=62, log=py_lines.append)
    pick = lambda lines: [line for line in lines if line.lstrip().startswith(("step", "epoch"))]  # noqa: E731
    assert len(pick(c_lines)) == 5  # steps 0, 20, 40, 60 and the epoch's accuracy
    assert pick(py_lines) == pick(c_lines)
    assert len(losses) == 62 and accuracy >= 0.9
