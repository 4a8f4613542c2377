"""A PEP 517 build backend for the libautodiff Python package, with no dependencies.

``build_wheel`` builds the C library with the project's own Makefile (``make ffi-lib``,
which runs cargo) in the repository that holds this directory, and writes a wheel
holding ``libautodiff/`` and the library as ``libautodiff/libautodiff.so.<ABI>``. The
package calls the library through ctypes, so the wheel does not depend on the Python
version: it is tagged ``py3-none-<platform>``.

Environment:
  LIBAUTODIFF_SOURCE    the repository root (default: two levels above this file)
  LIBAUTODIFF_PREBUILT  a built libautodiff.so to pack instead of running make
  MAKE                  the make program (default: make)
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Dict, List, Optional

NAME = "libautodiff"
HERE = Path(__file__).resolve().parent
ABI = 1
SUMMARY = "Automatic differentiation with no heap: Python bindings of libautodiff over its C API"
REQUIRES = ["numpy>=1.20"]


def _source_root() -> Path:
    root = Path(os.environ.get("LIBAUTODIFF_SOURCE", HERE.parent.parent))
    if not (root / "Cargo.toml").exists() or not (root / "Makefile").exists():
        raise RuntimeError(
            f"libautodiff: {root} is not the libautodiff repository (no Cargo.toml and Makefile); "
            "build from a checkout, or set LIBAUTODIFF_SOURCE or LIBAUTODIFF_PREBUILT"
        )
    return root


def _version() -> str:
    cargo = (_source_root() / "Cargo.toml").read_text()
    found = re.search(r'^version = "([^"]+)"', cargo, re.M)
    if not found:
        raise RuntimeError("libautodiff: no version in Cargo.toml")
    return found.group(1)


def _library() -> Path:
    prebuilt = os.environ.get("LIBAUTODIFF_PREBUILT")
    if prebuilt:
        return Path(prebuilt)
    root = _source_root()
    make = os.environ.get("MAKE", "make")
    # make's output goes to stderr: pip shows it with -v, and on failure.
    subprocess.run([make, "-C", str(root), "ffi-lib"], check=True, stdout=sys.stderr)
    return root / "build" / "lib" / f"libautodiff.so.{_version()}"


def _tag() -> str:
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _metadata() -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {NAME}",
        f"Version: {_version()}",
        f"Summary: {SUMMARY}",
        "Requires-Python: >=3.8",
        *(f"Requires-Dist: {r}" for r in REQUIRES),
        "Description-Content-Type: text/markdown",
        "",
        (HERE / "README.md").read_text(),
    ]
    return "\n".join(lines)


def _wheel_file() -> str:
    return f"Wheel-Version: 1.0\nGenerator: {NAME} build_backend\nRoot-Is-Purelib: false\nTag: {_tag()}\n"


def _dist_info() -> str:
    return f"{NAME}-{_version()}.dist-info"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, str]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, str]] = None) -> str:
    target = Path(metadata_directory) / _dist_info()
    target.mkdir(parents=True, exist_ok=True)
    (target / "METADATA").write_text(_metadata())
    (target / "WHEEL").write_text(_wheel_file())
    return target.name


def build_wheel(
    wheel_directory: str,
    config_settings: Optional[Dict[str, str]] = None,
    metadata_directory: Optional[str] = None,
) -> str:
    library = _library()
    files: Dict[str, bytes] = {}
    for path in sorted((HERE / NAME).rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and not path.name.startswith("libautodiff.so"):
            files[path.relative_to(HERE).as_posix()] = path.read_bytes()
    files[f"{NAME}/libautodiff.so.{ABI}"] = library.read_bytes()
    dist = _dist_info()
    files[f"{dist}/METADATA"] = _metadata().encode()
    files[f"{dist}/WHEEL"] = _wheel_file().encode()
    record = [_record_line(name, data) for name, data in files.items()] + [f"{dist}/RECORD,,"]
    files[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()

    wheel_name = f"{NAME}-{_version()}-{_tag()}.whl"
    Path(wheel_directory).mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(Path(wheel_directory) / wheel_name, "w", zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            # The library must stay executable once unpacked.
            mode = 0o755 if name.endswith(f".so.{ABI}") else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return wheel_name
