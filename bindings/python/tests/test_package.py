"""The installed package: the library inside it, type information, the version."""

from __future__ import annotations

import re
from pathlib import Path

import libautodiff as ad

REPO = Path(__file__).resolve().parents[3]


def test_the_package_carries_its_library_and_type_information() -> None:
    package = Path(ad.__file__).parent
    assert Path(ad._lib.PATH).parent == package, "the library inside the package, not a system one"
    assert (package / "py.typed").exists()
    assert "site-packages" in package.parts, "the tests run against the installed package"


def test_the_version_is_the_librarys() -> None:
    cargo = (REPO / "Cargo.toml").read_text()
    assert ad.__version__ == re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
