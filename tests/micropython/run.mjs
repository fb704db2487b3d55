#!/usr/bin/env node
// Runs MicroPython test modules (or plain scripts) on MicroPython 1.29, using
// the WebAssembly port from npm (@micropython/micropython-webassembly-pyscript,
// pinned in package.json / package-lock.json next to this file).
//
//   node tests/micropython/run.mjs [options] FILE.py [FILE.py ...]
//
// Test mode (default): for each FILE, a fresh interpreter gets the project's
// protocol/ and firmware/ packages under /lib, mptest.py under /lib, and FILE
// with its sibling .py files under /tests (first on sys.path). mptest.run()
// then runs every top-level test_* function and prints
//     PASS name
//     FAIL name: <repr>            (followed by the traceback)
//     N passed, M failed
// With several FILEs, each block is headed by "== FILE" and a final
// "N passed, M failed" line gives the totals.
//
// Options:
//   --heapsize BYTES  initial MicroPython heap (suffix k or m allowed; default 256k)
//   --root DIR        project root holding protocol/ and firmware/ (default: ../..)
//   --list            print "FILE::test_name" for every test instead of running
//   --test NAME       run only this test (repeatable)
//   --exec            run each FILE as a plain script (__name__ == "__main__"),
//                     passing its output through; exit 1 if it raised
//   --timeout SECS    per-FILE wall-clock limit, 0 for none (default 240)
//
// Exit status: 0 all passed, 1 a test failed / a script raised / a timeout,
// 2 usage error or a FILE that could not be loaded.
//
// Note on memory: this port grows its GC heap on demand (split heap) and only
// collects garbage between top-level calls, so --heapsize is the size of the
// first heap area, not a hard limit like the board's ~190 KiB. Allocation
// checks (mptest.no_alloc / alloc_bytes) are exact; "fits in RAM" is not
// something this runner can prove.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PACKAGE = "@micropython/micropython-webassembly-pyscript";
const PACKAGES = ["protocol", "firmware"]; // copied from the project root to /lib
const DEFAULT_HEAPSIZE = 256 * 1024;
const DEFAULT_TIMEOUT = 240;

const USAGE = `usage: node run.mjs [--heapsize BYTES] [--root DIR] [--timeout SECS]
                   [--list | --exec | --test NAME ...] FILE.py [FILE.py ...]`;

class UsageError extends Error {}

function parseSize(text) {
  const m = /^(\d+)([kKmM]?)$/.exec(text || "");
  if (!m) throw new UsageError(`bad size: ${text}`);
  const mult = { "": 1, k: 1024, m: 1024 * 1024 }[m[2].toLowerCase()];
  return parseInt(m[1], 10) * mult;
}

function parseArgs(argv) {
  const opts = {
    heapsize: DEFAULT_HEAPSIZE,
    root: path.resolve(HERE, "..", ".."),
    timeout: DEFAULT_TIMEOUT,
    mode: "test",
    tests: [],
    files: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new UsageError(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === "--heapsize") opts.heapsize = parseSize(value());
    else if (arg.startsWith("--heapsize=")) opts.heapsize = parseSize(arg.slice(11));
    else if (arg === "--root") opts.root = path.resolve(value());
    else if (arg.startsWith("--root=")) opts.root = path.resolve(arg.slice(7));
    else if (arg === "--timeout") opts.timeout = Number(value());
    else if (arg.startsWith("--timeout=")) opts.timeout = Number(arg.slice(10));
    else if (arg === "--test") opts.tests.push(value());
    else if (arg.startsWith("--test=")) opts.tests.push(arg.slice(7));
    else if (arg === "--list") opts.mode = setMode(opts.mode, "list");
    else if (arg === "--exec") opts.mode = setMode(opts.mode, "exec");
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith("-")) throw new UsageError(`unknown option: ${arg}`);
    else opts.files.push(arg);
  }
  if (!opts.files.length) throw new UsageError("no FILE given");
  if (!Number.isFinite(opts.timeout) || opts.timeout < 0) {
    throw new UsageError("--timeout needs a number of seconds >= 0");
  }
  if (opts.heapsize < 16 * 1024) throw new UsageError("--heapsize below 16k will not boot");
  if (opts.tests.length && opts.mode !== "test") {
    throw new UsageError("--test only applies to test mode");
  }
  for (const file of opts.files) {
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      throw new UsageError(`no such file: ${file}`);
    }
    if (opts.mode !== "exec") {
      const name = path.basename(file);
      if (!/^[A-Za-z_][A-Za-z0-9_]*\.py$/.test(name)) {
        throw new UsageError(`not an importable module file name: ${file}`);
      }
    }
  }
  return opts;
}

function setMode(current, wanted) {
  if (current !== "test" && current !== wanted) {
    throw new UsageError("--list and --exec are exclusive");
  }
  return wanted;
}

// The installed package must be the pinned one, or results are not MicroPython 1.29.
function checkPackage() {
  const pin = JSON.parse(fs.readFileSync(path.join(HERE, "package.json"), "utf8")).dependencies[
    PACKAGE
  ];
  const installed = path.join(HERE, "node_modules", ...PACKAGE.split("/"), "package.json");
  const fix = `run: npm ci --prefix ${path.relative(process.cwd(), HERE) || "."}`;
  if (!fs.existsSync(installed)) {
    throw new UsageError(`${PACKAGE} is not installed; ${fix}`);
  }
  const version = JSON.parse(fs.readFileSync(installed, "utf8")).version;
  if (version !== pin) {
    throw new UsageError(`${PACKAGE} ${version} is installed but ${pin} is pinned; ${fix}`);
  }
}

function walkPy(hostDir, fsDir, out) {
  for (const entry of fs.readdirSync(hostDir, { withFileTypes: true })) {
    if (entry.name === "__pycache__" || entry.name === "node_modules") continue;
    const host = path.join(hostDir, entry.name);
    const dest = `${fsDir}/${entry.name}`;
    if (entry.isDirectory()) walkPy(host, dest, out);
    else if (entry.isFile() && entry.name.endsWith(".py")) out.push({ src: host, dest });
  }
  return out;
}

// Files every interpreter gets, as {src: host path, dest: MicroPython path}.
function commonFiles(root) {
  const files = [];
  for (const pkg of PACKAGES) {
    const dir = path.join(root, pkg);
    if (fs.existsSync(dir)) walkPy(dir, `/lib/${pkg}`, files);
  }
  files.push({ src: path.join(HERE, "mptest.py"), dest: "/lib/mptest.py" });
  return files;
}

// FILE and the .py files next to it (shared helpers) go to /tests.
function siblingFiles(file) {
  const dir = path.dirname(path.resolve(file));
  const files = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith(".py") && entry.name !== "mptest.py") {
      files.push({ src: path.join(dir, entry.name), dest: `/tests/${entry.name}` });
    }
  }
  return files;
}

function runOne(job, timeoutSecs) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: job });
    let settled = false;
    let timer = null;
    const finish = (result) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      worker.terminate();
      resolve(result);
    };
    if (timeoutSecs > 0) {
      timer = setTimeout(() => {
        process.stdout.write(
          `TIMEOUT ${job.label}: not finished after ${timeoutSecs} s (an endless loop, ` +
            `or a MicroPython fatal error such as an exception raised while the heap is locked)\n`,
        );
        finish({ code: 1, passed: 0, failed: 0, timedOut: true });
      }, timeoutSecs * 1000);
    }
    worker.on("message", (msg) => {
      if (msg.kind === "out") process.stdout.write(`${msg.text}\n`);
      else if (msg.kind === "err") process.stderr.write(`${msg.text}\n`);
      else if (msg.kind === "result") finish(msg);
    });
    worker.on("error", (err) => {
      process.stderr.write(`ERROR ${job.label}: runner crashed: ${err?.stack || err}\n`);
      finish({ code: 2, passed: 0, failed: 0 });
    });
    worker.on("exit", (code) => {
      if (!settled) {
        process.stderr.write(`ERROR ${job.label}: interpreter exited early (code ${code})\n`);
        finish({ code: 2, passed: 0, failed: 0 });
      }
    });
  });
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
    checkPackage();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`run.mjs: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  const common = commonFiles(opts.root);
  const several = opts.files.length > 1 && opts.mode === "test";
  let worst = 0;
  let passed = 0;
  let failed = 0;
  for (const file of opts.files) {
    if (several) process.stdout.write(`== ${file}\n`);
    const job = {
      mode: opts.mode,
      label: file,
      module: path.basename(file).replace(/\.py$/, ""),
      script: `/tests/${path.basename(file)}`,
      files: common.concat(siblingFiles(file)),
      heapsize: opts.heapsize,
      tests: opts.tests,
    };
    if (opts.mode === "exec") {
      job.files.push({ src: path.resolve(file), dest: job.script });
    }
    const result = await runOne(job, opts.timeout);
    if (opts.mode === "list" && result.names) {
      for (const name of result.names) process.stdout.write(`${file}::${name}\n`);
    }
    passed += result.passed || 0;
    failed += result.failed || 0;
    worst = Math.max(worst, result.code);
  }
  if (several) process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return worst;
}

// ---------------------------------------------------------------------------
// Worker side: one interpreter, one FILE.
// ---------------------------------------------------------------------------

function mkdirs(FS, dir) {
  let cur = "";
  for (const part of dir.split("/").filter(Boolean)) {
    cur += `/${part}`;
    if (!FS.analyzePath(cur).exists) FS.mkdir(cur);
  }
}

async function workerMain(job) {
  const post = (kind, text) => parentPort.postMessage({ kind, text });
  const { loadMicroPython } = await import(PACKAGE);
  const mp = await loadMicroPython({
    heapsize: job.heapsize,
    linebuffer: true,
    stdout: (line) => post("out", line),
    stderr: (line) => post("err", line),
  });
  // Emit a last line that has no trailing newline yet (line-buffered output).
  const flush = () => {
    const module = mp._module;
    for (const [buf, kind] of [
      ["_stdoutBuffer", "out"],
      ["_stderrBuffer", "err"],
    ]) {
      if (module?.[buf]?.length) {
        post(kind, module._textDecoder.decode(new Uint8Array(module[buf])));
        module[buf] = [];
      }
    }
  };
  // Run Python; return null on success or the traceback text on an exception.
  const py = (code) => {
    try {
      mp.runPython(code);
      return null;
    } catch (err) {
      return String(err?.message ?? err).replace(/\n+$/, "");
    } finally {
      flush();
    }
  };
  const str = (s) => JSON.stringify(s); // a JSON string is a valid Python literal

  for (const { src, dest } of job.files) {
    mkdirs(mp.FS, path.posix.dirname(dest));
    mp.FS.writeFile(dest, fs.readFileSync(src));
  }
  let err = py("import sys\nsys.path.insert(0, '/tests')\n");
  if (err) return { code: 2, error: `interpreter setup failed:\n${err}` };

  if (job.mode === "exec") {
    err = py(
      `__file__ = ${str(job.script)}\n` +
        `exec(compile(open(__file__).read(), __file__, "exec"))\n`,
    );
    if (err) return { code: 1, error: err };
    return { code: 0 };
  }

  err = py(`import mptest\nimport ${job.module}\n`);
  if (err) return { code: 2, error: `could not load ${job.label}:\n${err}` };

  if (job.mode === "list") {
    err = py(`_mptest_names = "\\n".join(mptest.list_tests(${str(job.module)}))\n`);
    if (err) return { code: 2, error: `could not list ${job.label}:\n${err}` };
    const names = String(mp.globals.get("_mptest_names") || "");
    return { code: 0, names: names ? names.split("\n") : [] };
  }

  const only = job.tests.length ? `[${job.tests.map(str).join(", ")}]` : "None";
  err = py(`_mptest_p, _mptest_f = mptest.run(${str(job.module)}, ${only})\n`);
  if (err) return { code: 2, error: `test run of ${job.label} aborted:\n${err}` };
  const passed = Number(mp.globals.get("_mptest_p"));
  const failed = Number(mp.globals.get("_mptest_f"));
  return { code: failed ? 1 : 0, passed, failed };
}

if (isMainThread) {
  process.exitCode = await main();
} else {
  let result;
  try {
    result = await workerMain(workerData);
  } catch (err) {
    result = { code: 2, error: `runner error: ${err?.stack || err}` };
  }
  if (result.error) {
    const text = result.code === 1 ? result.error : `ERROR ${workerData.label}: ${result.error}`;
    parentPort.postMessage({ kind: "err", text });
  }
  parentPort.postMessage({ kind: "result", ...result });
}
