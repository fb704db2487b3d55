#!/usr/bin/env node
// A MicroPython 1.29 REPL on a TCP port, for tests that drive a real MicroPython over a
// serial-like line (pyserial's socket://host:port): the WebAssembly port from npm
// (@micropython/micropython-webassembly-pyscript, as run.mjs loads it), its event-driven
// REPL fed one byte at a time, its output sent back as it comes.
//
//   node tests/micropython/repl_server.mjs [--heapsize BYTES]
//
// Prints "PORT <n>" once it listens on 127.0.0.1, serves one connection, and exits when
// it closes. Two things a board does that this port's event REPL does not are stood in for:
// a soft reset (Ctrl-D on an empty raw-REPL line) prints "soft reboot" and starts the REPL
// again in the mode it was in (the Python heap is kept); and a raw-paste request
// (Ctrl-E 'A' Ctrl-A) is answered "R\x00", supported but refused, as a board may, so the
// client falls back to the plain raw REPL. The filesystem is the port's in-memory one.

import net from "node:net";

const PACKAGE = "@micropython/micropython-webassembly-pyscript";

function parseArgs(argv) {
  let heapsize = 1024 * 1024;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--heapsize" && i + 1 < argv.length) heapsize = parseInt(argv[++i], 10);
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  return { heapsize };
}

const RAW_PASTE_REQUEST = [0x05, 0x41, 0x01];

async function main() {
  const { heapsize } = parseArgs(process.argv.slice(2));
  const { loadMicroPython } = await import(PACKAGE);
  let socket = null;
  const pending = [];
  const send = (bytes) => {
    if (socket) socket.write(Buffer.from(bytes));
    else pending.push(...bytes);
  };
  const mp = await loadMicroPython({ heapsize, linebuffer: false, stdout: send, stderr: send });
  mp.replInit();

  const server = net.createServer((conn) => {
    if (socket) {
      conn.destroy();
      return;
    }
    socket = conn;
    conn.setNoDelay(true);
    if (pending.length) conn.write(Buffer.from(pending.splice(0)));
    let held = []; // bytes that may begin a raw-paste request
    conn.on("data", (data) => {
      for (const c of data) {
        held.push(c);
        if (RAW_PASTE_REQUEST.slice(0, held.length).every((b, i) => held[i] === b)) {
          if (held.length === RAW_PASTE_REQUEST.length) {
            held = [];
            send([0x52, 0x00]); // "R\x00": raw paste understood, not supported
          }
          continue;
        }
        for (const b of held.splice(0)) {
          if (mp.replProcessChar(b)) {
            send(Buffer.from("MPY: soft reboot\r\n"));
            mp.replInit();
          }
        }
      }
    });
    conn.on("close", () => {
      server.close();
      process.exit(0);
    });
    conn.on("error", () => process.exit(0));
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(2);
});
