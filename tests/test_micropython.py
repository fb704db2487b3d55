"""Runs the tests in tests/micropython/ on real MicroPython 1.29.

Every ``test_*`` function of every tests/micropython/test_*.py module becomes
its own pytest item, e.g. ``test_micropython[test_runner_selfcheck.test_runs_on_micropython]``.
Collection asks the runner for the list (``node run.mjs --list``); each module
then runs once per session (``node run.mjs MODULE``) and its items read their
PASS/FAIL line from that run. One more item per module,
``test_micropython_module[MODULE]``, checks the run as a whole: exit status,
summary line, no unlisted tests, at least one test passed.

Needs Node.js 20+ and the pinned npm package; when tests/micropython/node_modules
is missing it runs ``npm ci --prefix tests/micropython`` itself. Without node
or npm the items fail (they never skip): a MicroPython regression must not
pass silently.

Reproduce one module or one test by hand:

    node tests/micropython/run.mjs tests/micropython/test_x.py
    node tests/micropython/run.mjs --test test_name tests/micropython/test_x.py
"""

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MP_DIR = ROOT / "tests" / "micropython"
RUNNER = MP_DIR / "run.mjs"
PACKAGE = "@micropython/micropython-webassembly-pyscript"
MODULES = sorted(p.name for p in MP_DIR.glob("test_*.py"))

RUN_TIMEOUT = 300  # seconds for one module (the runner's own limit is 240 s)
LIST_TIMEOUT = 120
NPM_TIMEOUT = 600
MIN_NODE_MAJOR = 20

PASS_RE = re.compile(r"^PASS (\w+)$")
FAIL_RE = re.compile(r"^FAIL (\w+): ")
SUMMARY_RE = re.compile(r"^(\d+) passed, (\d+) failed$")

pytestmark = pytest.mark.micropython


def _rel(path):
    return Path(path).relative_to(ROOT).as_posix()


def _pinned_version():
    return json.loads((MP_DIR / "package.json").read_text())["dependencies"][PACKAGE]


def _installed_version():
    manifest = MP_DIR / "node_modules" / PACKAGE / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text()).get("version")


@functools.cache
def _environment():
    """Return (node_path, None) when ready, else (None, reason).

    Installs the pinned package with ``npm ci`` when it is missing or stale.
    """
    node = shutil.which("node")
    if node is None:
        return None, (
            "node is not on PATH. The MicroPython tests need Node.js %d+ and the npm "
            "package %s; install Node.js, then run: npm ci --prefix tests/micropython"
            % (MIN_NODE_MAJOR, PACKAGE)
        )
    try:
        version = subprocess.run(
            [node, "--version"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, "cannot run %s --version: %s" % (node, exc)
    match = re.match(r"v(\d+)\.", version)
    if not match or int(match.group(1)) < MIN_NODE_MAJOR:
        return None, "node %s is too old: the MicroPython tests need Node.js %d+" % (
            version,
            MIN_NODE_MAJOR,
        )

    pinned = _pinned_version()
    if _installed_version() != pinned:
        npm = shutil.which("npm")
        if npm is None:
            return None, (
                "%s %s is not installed in tests/micropython/node_modules and npm is not "
                "on PATH; install npm, then run: npm ci --prefix tests/micropython"
                % (PACKAGE, pinned)
            )
        cmd = [npm, "ci", "--prefix", _rel(MP_DIR), "--no-audit", "--no-fund"]
        try:
            proc = subprocess.run(
                cmd,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return None, "%s failed: %s" % (" ".join(cmd), exc)
        if proc.returncode != 0 or _installed_version() != pinned:
            return None, "%s failed (exit %d):\n%s%s" % (
                " ".join(cmd[1:]),
                proc.returncode,
                proc.stdout,
                proc.stderr,
            )
    return node, None


def _run_node(args, timeout):
    """Run the runner; return (exit code or None on timeout, combined output)."""
    node, error = _environment()
    if error:
        return None, error
    cmd = [node, _rel(RUNNER), *args]
    try:
        proc = subprocess.run(
            cmd,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
        if isinstance(out, bytes):
            out = out.decode("utf-8", "replace")
        return None, "%s\n[%s timed out after %d s]" % (out, " ".join(cmd), timeout)
    return proc.returncode, proc.stdout


@functools.cache
def _list_tests(module):
    """Return (test names, None) or (None, reason) for one module."""
    _, error = _environment()
    if error:
        return None, error
    path = _rel(MP_DIR / module)
    code, out = _run_node(["--list", path], LIST_TIMEOUT)
    if code != 0:
        return None, "could not list the tests of %s:\n%s" % (path, out)
    prefix = path + "::"
    names = [line[len(prefix) :] for line in out.splitlines() if line.startswith(prefix)]
    if not names:
        return None, "%s defines no test_* functions:\n%s" % (path, out)
    return names, None


def _params():
    if not MODULES:
        # An empty parameter set would be a skip; a missing suite must fail.
        error = "no tests/micropython/test_*.py modules found"
        return [pytest.param(None, None, error, id="<none>")], [pytest.param(None, id="<none>")]
    tests = []
    modules = []
    for module in MODULES:
        stem = module[:-3]
        modules.append(pytest.param(module, id=stem))
        names, error = _list_tests(module)
        if error:
            # One failing item carries the reason; nothing is skipped.
            tests.append(pytest.param(module, None, error, id=stem + ".<collect>"))
            continue
        for name in names:
            tests.append(pytest.param(module, name, None, id="%s.%s" % (stem, name)))
    return tests, modules


class ModuleRun:
    """The parsed output of one ``node run.mjs MODULE`` run."""

    def __init__(self, module, code, output):
        self.module = module
        self.code = code
        self.output = output
        self.results = {}  # test name -> (passed, text to show on failure)
        self.order = []
        self.summary = None  # (passed, failed) from the final summary line
        self._parse()

    def _parse(self):
        captured = []
        lines = self.output.splitlines()
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            summary = SUMMARY_RE.match(line)
            if summary:
                self.summary = (int(summary.group(1)), int(summary.group(2)))
                captured = []
                continue
            passed = PASS_RE.match(line)
            failed = FAIL_RE.match(line)
            if not (passed or failed):
                captured.append(line)
                continue
            if passed:
                self._record(passed.group(1), True, [*captured, line])
                captured = []
                continue
            # A FAIL line is followed by print_exception output: an optional
            # "Traceback" header, indented frame lines, then "Type: message".
            block = [*captured, line]
            captured = []
            if i < len(lines) and lines[i].startswith("Traceback"):
                block.append(lines[i])
                i += 1
                while i < len(lines) and lines[i].startswith(" "):
                    block.append(lines[i])
                    i += 1
            if (
                i < len(lines)
                and not PASS_RE.match(lines[i])
                and not FAIL_RE.match(lines[i])
                and not SUMMARY_RE.match(lines[i])
            ):
                block.append(lines[i])
                i += 1
            self._record(failed.group(1), False, block)

    def _record(self, name, ok, block):
        if name not in self.results:
            self.order.append(name)
        self.results[name] = (ok, "\n".join(block))

    def command(self, test=None):
        args = ["node", _rel(RUNNER)]
        if test:
            args += ["--test", test]
        return " ".join([*args, _rel(MP_DIR / self.module)])

    def full_output(self):
        status = "timed out" if self.code is None else "exit status %d" % self.code
        return "$ %s  (%s)\n%s" % (self.command(), status, self.output.rstrip())


@functools.cache
def _module_run(module):
    code, out = _run_node([_rel(MP_DIR / module)], RUN_TIMEOUT)
    return ModuleRun(module, code, out)


_TEST_PARAMS, _MODULE_PARAMS = _params()


@pytest.mark.parametrize(("module", "name", "collect_error"), _TEST_PARAMS)
def test_micropython(module, name, collect_error):
    if collect_error:
        pytest.fail(collect_error, pytrace=False)
    run = _module_run(module)
    if name not in run.results:
        pytest.fail(
            "%s::%s reported no PASS/FAIL line.\n\n%s" % (module, name, run.full_output()),
            pytrace=False,
        )
    ok, text = run.results[name]
    if not ok:
        pytest.fail(
            "MicroPython test %s::%s failed:\n%s\n\nreproduce: %s"
            % (module, name, text, run.command(name)),
            pytrace=False,
        )


@pytest.mark.parametrize("module", _MODULE_PARAMS)
def test_micropython_module(module):
    """The module's run as a whole is sound (individual failures are reported above)."""
    if module is None:
        pytest.fail("no tests/micropython/test_*.py modules found", pytrace=False)
    names, error = _list_tests(module)
    if error:
        pytest.fail(error, pytrace=False)
    run = _module_run(module)
    problems = []
    if run.code is None:
        problems.append("the runner timed out")
    elif run.code not in (0, 1):
        problems.append("the runner exited with status %d (load or usage error)" % run.code)
    if run.summary is None:
        problems.append('no final "N passed, M failed" line')
    else:
        passed, failed = run.summary
        if passed == 0:
            problems.append("0 tests passed")
        if (run.code == 0) != (failed == 0):
            problems.append("exit status %s does not match %d failed" % (run.code, failed))
        reported = sum(1 for ok, _ in run.results.values() if ok)
        if (passed, failed) != (reported, len(run.results) - reported):
            problems.append("the summary does not match the PASS/FAIL lines")
    unlisted = [n for n in run.order if n not in names]
    if unlisted:
        problems.append("tests ran that --list did not report: %s" % ", ".join(unlisted))
    missing = [n for n in names if n not in run.results]
    if missing:
        problems.append("listed tests without a result: %s" % ", ".join(missing))
    if problems:
        pytest.fail(
            "%s: %s\n\n%s" % (module, "; ".join(problems), run.full_output()),
            pytrace=False,
        )
