"""The code stays in one style: ruff's linter and formatter pass on the whole tree."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["check"], ["format", "--check", "--diff"]], ids=["lint", "format"])
def test_ruff(args: list[str]) -> None:
    ruff = shutil.which("ruff") or str(pathlib.Path(__import__("sys").executable).parent / "ruff")
    if not pathlib.Path(ruff).exists():
        pytest.skip("ruff is not installed: pip install -e '.[test]' brings it")
    run = subprocess.run([ruff, *args, "pager", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
