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


@pytest.fixture(scope="module")
def heap():
    if shutil.which("node") is None:
        pytest.skip("node is not installed (CI installs it with the npm package)")
    result = footprint.micropython_heap()
    assert result["status"] == "measured", result["status"]
    return result


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


@pytest.mark.xfail(strict=True, reason="over budget: the imported .mpy bytecode alone is about "
                   "63 KiB of heap; needs frozen modules or a smaller firmware")
def test_heap_after_boot_is_within_the_pico_budget(heap):
    assert heap["heap_after_boot_bytes"] <= PICO["heap_after_boot_bytes"]


def _figures(mpy, boot, peak):
    return {"mpy_bytes_total": mpy, "heap_after_boot_bytes": boot,
            "heap_peak_during_flight_bytes": peak, "heap_status": "measured"}


def _verdicts(report):
    return {c["figure"]: c["verdict"] for c in report["checks"]}


def test_check_report_says_ok_and_over_per_budget():
    report = footprint.check_report("pico", _figures(96 * KIB, 48 * KIB + 1, 90 * KIB))
    assert _verdicts(report) == {"mpy_bytes_total": "OK", "heap_after_boot_bytes": "OVER",
                                 "heap_peak_during_flight_bytes": "OK"}
    assert report["ok"] is False
    assert len(report["lines"]) == 4
    assert "48.0 KiB (49,153 B)" in report["lines"][2] and report["lines"][2].endswith("OVER")
    assert report["lines"][1].endswith("OK") and "96.0 KiB (98,304 B)" in report["lines"][1]
    fine = footprint.check_report("pico", _figures(60000, 40000, 80000))
    assert fine["ok"] is True and set(_verdicts(fine).values()) == {"OK"}


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


def test_the_bench_prints_one_json_object_with_the_issue_figures(heap, capsys, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "firmware_footprint", footprint.ROOT / "tests/bench/firmware_footprint.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    # the bench's own measurement is the module's: reuse the one already made
    monkeypatch.setattr(footprint, "micropython_heap", lambda root=footprint.ROOT: dict(heap))
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
