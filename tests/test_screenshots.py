"""docs/screenshots.py: the README's pictures of the window, rendered offscreen against the
simulated pad. The whole launch runs once here, at a smaller size, into a temporary folder."""

import importlib.util
import os
import pathlib

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

import numpy as np
from PySide6.QtGui import QImage

ROOT = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "docs" / "screenshots.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SMALL_SIZE = (1280, 800)
MIN_COLOURS = 200  # a blank or single-colour grab has a handful; text and plots bring hundreds


@pytest.fixture(scope="module")
def screenshots():
    spec = importlib.util.spec_from_file_location("coalwood_docs_screenshots", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _colours(image):
    """How many distinct colours the image holds."""
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32,
                           count=image.bytesPerLine() * image.height() // 4)
    return len(np.unique(pixels))


def _check_png(path, size):
    assert path.read_bytes()[:8] == PNG_SIGNATURE, path
    image = QImage(str(path))
    assert not image.isNull(), path
    assert (image.width(), image.height()) == size, path
    assert _colours(image) >= MIN_COLOURS, path


def test_every_state_is_rendered_at_the_size_asked(qapp, screenshots, tmp_path, capsys,
                                                   monkeypatch):
    monkeypatch.setenv("COALWOOD_LIBRARY", str(tmp_path / "the-users-library"))
    out = tmp_path / "shots"
    code = screenshots.main(["--out", str(out), "--size", "%dx%d" % SMALL_SIZE])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    names = [screenshots.FILE_PATTERN % shot for shot in screenshots.SHOTS]
    assert printed.out.split() == [str(out / name) for name in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)
    for name in names:
        _check_png(out / name, SMALL_SIZE)
    # the run used its own library and put the user's setting back
    assert not (tmp_path / "the-users-library").exists()
    assert os.environ["COALWOOD_LIBRARY"] == str(tmp_path / "the-users-library")


def test_only_writes_the_shots_named(qapp, screenshots, tmp_path, capsys):
    code = screenshots.main(["--out", str(tmp_path), "--only", "connected"])
    assert code == 0, capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["window-connected.png"]
    _check_png(tmp_path / "window-connected.png", screenshots.DEFAULT_SIZE)


@pytest.mark.parametrize("args, words", [
    (["--size", "big"], "WIDTHxHEIGHT"),
    (["--size", "100x100"], "between"),
    (["--only", "sunset"], "choose from"),
    (["--frobnicate"], "unrecognized"),
])
def test_bad_arguments_are_one_line_and_status_2(screenshots, tmp_path, capsys, args, words):
    code = screenshots.main(["--out", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and words in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_a_window_that_cannot_take_the_size_is_one_line(qapp, screenshots, tmp_path, capsys):
    code = screenshots.main(["--out", str(tmp_path), "--size", "400x300", "--only", "connected"])
    err = capsys.readouterr().err
    assert code == 2 and "not the 400x300 asked for" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_the_readme_pictures_are_in_docs(screenshots):
    for shot in screenshots.SHOTS:
        _check_png(ROOT / "docs" / (screenshots.FILE_PATTERN % shot), screenshots.DEFAULT_SIZE)
