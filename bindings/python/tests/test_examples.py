"""The worked examples script runs and checks its own values."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def test_worked_examples(capsys: pytest.CaptureFixture[str]) -> None:
    runpy.run_path(str(REPO / "examples" / "python" / "worked_examples.py"), run_name="__main__")
    assert "worked examples: all values as expected" in capsys.readouterr().out
