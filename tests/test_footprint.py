"""The firmware's footprint (ground/footprint.py): .mpy sizes and MicroPython heap against budgets.

The heap figures come from one real run of tests/micropython/footprint_mp.py on
MicroPython 1.29 under node (about 25 s), shared by the tests below. Budgets are
requirements and the figures are deterministic (sizes, and heap on a simulated clock),
so asserting them is not a timing test.
"""

import json
import shutil

import pytest

from ground import footprint

PICO = footprint.BUDGETS["pico"]
KIB = 1024


@pytest.fixture(scope="module")
def sizes():
    return footprint.mpy_sizes()


def _heap(layout):
    if shutil.which("node") is None:
        pytest.skip("node is not installed (CI installs it with the npm package)")
    result = footprint.micropython_heap(layout=layout)
    assert result["status"] == "measured", result["status"]
    return result


@pytest.fixture(scope="module")
def heap():
    return _heap("files")


@pytest.fixture(scope="module")
def romfs_heap():
    return _heap("romfs")


def test_every_source_file_is_compiled_and_the_totals_add_up(sizes):
    files = sizes["files"]
    assert set(files) == set(footprint.source_files())
    assert "firmware/app.py" in files and "protocol/connection.py" in files
    assert all(n > 0 for n in files.values())
    assert sizes["mpy_bytes_total"] == sum(files.values())
    assert sizes["mpy_bytes_firmware"] + sizes["mpy_bytes_protocol"] == sizes["mpy_bytes_total"]
    # bytecode is smaller than its source
    assert sizes["mpy_bytes_total"] < sum(
        (footprint.ROOT / rel).stat().st_size for rel in files)


def test_the_sizes_do_not_depend_on_where_the_checkout_is(sizes, tmp_path):
    for pkg in footprint.PACKAGES:
        shutil.copytree(footprint.ROOT / pkg, tmp_path / "deeper" / "checkout" / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    again = footprint.mpy_sizes(tmp_path / "deeper" / "checkout")
    assert again["files"] == sizes["files"]


def test_mpy_total_is_within_the_pico_budget(sizes):
    assert sizes["mpy_bytes_total"] <= PICO["mpy_bytes_total"] == 96 * KIB


def test_the_heap_figures_are_plausible(heap, sizes):
    # the imported bytecode is of the order of the .mpy files it came from
    assert 0.3 * sizes["mpy_bytes_total"] < heap["heap_imports_bytes"] < 2 * sizes["mpy_bytes_total"]
    # the app holds at least its 12,000-byte sample ring on top of the code
    assert heap["heap_app_built_bytes"] >= heap["heap_imports_bytes"] + 12000
    assert heap["heap_after_boot_bytes"] >= heap["heap_app_built_bytes"] - 1024
    assert heap["heap_peak_during_flight_bytes"] >= heap["heap_after_boot_bytes"]
    # the fake HAL's 64 KiB of port buffers were measured and left out
    assert heap["harness_bytes"] > 64 * KIB
    # the flight really ran and was logged
    assert heap["flight_passes"] > 10000 and heap["flight_logged_bytes"] > 10000


def test_logging_a_flight_allocates_almost_nothing(heap):
    # only opening and closing the flight file allocate; the passes in between do not
    assert heap["flight_passes_allocating"] <= 4
    assert heap["heap_alloc_during_flight_bytes"] <= 4 * KIB
    assert heap["heap_after_flight_bytes"] - heap["heap_after_boot_bytes"] <= 1024


def test_outputs_go_off_within_250_ms_of_the_last_fire(heap):
    assert heap["latency_trials"] >= 40 and 0 < heap["worst_output_off_ms"] <= 250


def test_heap_peak_during_flight_is_within_the_pico_budget(heap):
    assert heap["heap_peak_during_flight_bytes"] <= PICO["heap_peak_during_flight_bytes"]


@pytest.mark.xfail(strict=True, reason="over budget as .mpy files: importing them copies about "
                   "30 KiB of bytecode and 18 KiB of names into the heap; a ROMFS image or a "
                   "frozen build is needed for 48 KiB")
def test_heap_after_boot_is_within_the_pico_budget(heap):
    assert heap["heap_after_boot_bytes"] <= PICO["heap_after_boot_bytes"]


def test_a_romfs_image_runs_the_bytecode_in_place(heap, romfs_heap):
    # the same code, the same app: only the imports differ, by the bytecode left in flash
    # (within a few GC blocks: the two runs' harnesses differ by the ROMFS mount's objects)
    saved = heap["heap_after_boot_bytes"] - romfs_heap["heap_after_boot_bytes"]
    assert abs(saved - (heap["heap_imports_bytes"] - romfs_heap["heap_imports_bytes"])) <= 256
    assert saved >= 25 * KIB, saved
    app_files = heap["heap_app_built_bytes"] - heap["heap_imports_bytes"]
    app_romfs = romfs_heap["heap_app_built_bytes"] - romfs_heap["heap_imports_bytes"]
    assert abs(app_files - app_romfs) <= 256, (app_files, app_romfs)
    assert romfs_heap["heap_alloc_during_flight_bytes"] <= 2048


def test_the_interned_names_are_counted_and_are_most_of_what_romfs_keeps(romfs_heap):
    qstr = romfs_heap["heap_qstr_bytes"]
    assert 8 * KIB <= qstr < romfs_heap["heap_imports_bytes"], (qstr, romfs_heap)


def test_heap_after_boot_frozen_is_within_the_pico_budget(romfs_heap):
    # the frozen estimate: what the ROMFS run keeps in the heap, less the names a frozen
    # build keeps in the firmware's flash (ground/footprint.py's docstring)
    frozen = romfs_heap["heap_after_boot_bytes"] - romfs_heap["heap_qstr_bytes"]
    assert frozen <= PICO["heap_after_boot_bytes"], frozen


def _reuse_the_runs(monkeypatch, heap, romfs_heap):
    """measure() without running MicroPython again: the module's two runs stand in."""
    runs = {"files": heap, "romfs": romfs_heap}
    monkeypatch.setattr(footprint, "micropython_heap",
                        lambda root=footprint.ROOT, layout="files": dict(runs[layout],
                                                                          status="measured"))


def test_measure_gives_every_layout_its_figures(heap, romfs_heap, monkeypatch):
    _reuse_the_runs(monkeypatch, heap, romfs_heap)
    fig = footprint.measure()
    for key in footprint.HEAP_CHECKS:
        assert fig[key] == fig[footprint.layout_key(key, "files")] == heap[key]
        assert fig[footprint.layout_key(key, "romfs")] == romfs_heap[key]
        assert fig[footprint.layout_key(key, "frozen")] == \
            romfs_heap[key] - romfs_heap["heap_qstr_bytes"]
    report = footprint.check_report("pico", fig)
    assert "frozen" in report["fits"] and "files" not in report["fits"]
    assert report["ok"] is True
    assert footprint.check_report("pico", fig, layout="files")["ok"] is False


def _figures(mpy, boot, peak, layout=None):
    fig = {"mpy_bytes_total": mpy, "heap_status": "measured"}
    if layout is None:
        fig.update({"heap_after_boot_bytes": boot, "heap_peak_during_flight_bytes": peak})
    else:
        fig.update({footprint.layout_key("heap_after_boot_bytes", layout): boot,
                    footprint.layout_key("heap_peak_during_flight_bytes", layout): peak})
    return fig


def _verdicts(report, layout="files"):
    return {c["figure"]: c["verdict"] for c in report["checks"] if c["layout"] in (None, layout)}


def test_check_report_says_ok_and_over_per_budget():
    report = footprint.check_report("pico", _figures(96 * KIB, 48 * KIB + 1, 90 * KIB))
    assert _verdicts(report) == {"mpy_bytes_total": "OK", "heap_after_boot_bytes": "OVER",
                                 "heap_peak_during_flight_bytes": "OK"}
    assert report["ok"] is False and report["fits"] == []
    over = [line for line in report["lines"] if "49,153 B" in line]
    assert len(over) == 1 and over[0].endswith("OVER") and ".mpy files" in over[0]
    assert report["lines"][1].endswith("OK") and "96.0 KiB (98,304 B)" in report["lines"][1]
    assert report["lines"][-1] == "  fits the budgets: no layout"
    fine = footprint.check_report("pico", _figures(60000, 40000, 80000))
    assert fine["ok"] is True and fine["fits"] == ["files"]
    assert set(_verdicts(fine).values()) == {"OK"}


def test_one_layout_that_fits_is_enough_unless_a_layout_is_asked_for():
    fig = _figures(60000, 60000, 80000, "files")
    fig.update(_figures(60000, 40000, 70000, "frozen"))
    report = footprint.check_report("pico", fig)
    assert report["fits"] == ["frozen"] and report["ok"] is True
    assert _verdicts(report, "romfs") == {"mpy_bytes_total": "OK",
                                          "heap_after_boot_bytes": "not measured",
                                          "heap_peak_during_flight_bytes": "not measured"}
    assert footprint.check_report("pico", fig, layout="files")["ok"] is False
    assert footprint.check_report("pico", fig, layout="frozen")["ok"] is True
    assert "fits the budgets: frozen in the firmware (estimated)" in report["lines"][-1]
    with pytest.raises(ValueError, match="unknown layout"):
        footprint.check_report("pico", fig, layout="flash")


def test_the_esp32_budgets_are_tighter_for_the_same_figures():
    figures = _figures(60000, 40000, 80000)
    assert footprint.check_report("pico", figures)["ok"] is True
    esp = footprint.check_report("esp32", figures)
    assert _verdicts(esp) == {"mpy_bytes_total": "OK", "heap_after_boot_bytes": "OVER",
                              "heap_peak_during_flight_bytes": "OVER"}
    esp_budget = footprint.BUDGETS["esp32"]
    assert esp_budget["heap_peak_during_flight_bytes"] < esp_budget["heap_total_bytes"] // 2 + KIB
    with pytest.raises(ValueError, match="unknown board"):
        footprint.check_report("uno", figures)


def test_without_node_the_heap_is_not_measured_and_the_sizes_still_are(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # a real PATH that holds no node
    status = footprint.micropython_heap()["status"]
    assert status.startswith("not measured: node was not found")
    assert "npm ci --prefix tests/micropython" in status
    report = footprint.check_report("pico")
    verdicts = _verdicts(report)
    assert verdicts["mpy_bytes_total"] == "OK"
    assert verdicts["heap_after_boot_bytes"] == verdicts["heap_peak_during_flight_bytes"] \
        == "not measured"
    assert report["ok"] is True
    assert any("npm ci --prefix tests/micropython" in line for line in report["lines"])


def test_without_the_npm_package_the_status_says_how_to_install_it(tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    mp_dir = tmp_path / "tests" / "micropython"
    mp_dir.mkdir(parents=True)
    shutil.copy(footprint.ROOT / "tests/micropython/package.json", mp_dir)
    shutil.copy(footprint.ROOT / "tests/micropython/footprint_mp.py", mp_dir)
    status = footprint.micropython_heap(tmp_path)["status"]
    assert status.startswith("not measured: %s is not installed" % footprint.NPM_PACKAGE)
    assert "npm ci --prefix tests/micropython" in status


def test_the_bench_prints_one_json_object_with_the_issue_figures(heap, romfs_heap, capsys,
                                                                 monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "firmware_footprint", footprint.ROOT / "tests/bench/firmware_footprint.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # the bench's own measurement is the module's: reuse the one already made
    _reuse_the_runs(monkeypatch, heap, romfs_heap)
    assert bench.main(["--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    fig = json.loads(out[0])
    for key in ("mpy_bytes_total", "mpy_bytes_firmware", "mpy_bytes_protocol",
                "heap_after_boot_bytes", "heap_peak_during_flight_bytes", "worst_output_off_ms"):
        assert isinstance(fig[key], int) and fig[key] > 0
    assert fig["budget_heap_after_boot_bytes"] == 48 * KIB
    assert fig["within_budget_mpy_bytes_total"] is True
    assert fig["within_budget_heap_after_boot_bytes"] == (fig["heap_after_boot_bytes"] <= 48 * KIB)
    for layout in footprint.LAYOUT_NAMES:
        key = footprint.layout_key("heap_after_boot_bytes", layout)
        assert fig["within_budget_" + key] == (fig[key] <= 48 * KIB)
    assert fig["heap_after_boot_frozen_bytes"] == \
        romfs_heap["heap_after_boot_bytes"] - romfs_heap["heap_qstr_bytes"]
    assert fig["fits"] == [n for n in footprint.LAYOUT_NAMES
                           if fig["within_budget_" + footprint.layout_key(
                               "heap_after_boot_bytes", n)]
                           and fig["within_budget_" + footprint.layout_key(
                               "heap_peak_during_flight_bytes", n)]]
