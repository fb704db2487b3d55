#!/usr/bin/env node
// A MicroPython 1.29 REPL on a TCP port, for tests that drive a real MicroPython over a
// serial-like line (pyserial's socket://host:port): the WebAssembly port from npm
// (@micropython/micropython-webassembly-pyscript, as run.mjs loads it), its event-driven
// REPL fed one byte at a time, its output sent back as it comes.
//
//   node tests/micropython/repl_server.mjs [--heapsize BYTES] [--rom-bytes N] [--reconnect]
//                                          [--cut-after-bytes N]
//
// Prints "PORT <n>" once it listens on 127.0.0.1, serves one connection, and exits when
// it closes.
//
//   --rom-bytes N        a board with a ROMFS partition of N bytes (blocks of 4096, erased
//                        0xff; the port's own vfs.rom_ioctl has one empty read-only segment):
//                        `import vfs` then returns a stand-in whose VfsRom, mount and umount
//                        are the real ones and whose rom_ioctl(1..6) work on a bytearray as
//                        flash does (a write only clears bits: unerased bytes come out wrong).
//                        Each (re)boot mounts a valid image there with the real vfs.VfsRom at
//                        /rom and puts /rom and /rom/lib after '' on sys.path.
//   --reconnect          serve one connection after another: a closed connection is the
//                        board unplugged, and the next one finds it rebooted (files, ROMFS
//                        partition and the REPL's mode kept); stop it by killing it.
//                        With either option, every (re)boot, soft reset included, forgets
//                        every imported module as a board's does; /main.py is not run.
//   --cut-after-bytes N  the first connection drops after N bytes from the client, as a
//                        cable pulled mid-copy (the bytes after the Nth are never seen). Two things a board does that this port's event REPL does not are stood in for:
// a soft reset (Ctrl-D on an empty raw-REPL line) prints "soft reboot" and starts the REPL
// again in the mode it was in (the Python heap is kept); and a raw-paste request
// (Ctrl-E 'A' Ctrl-A) is answered "R\x00", supported but refused, as a board may, so the
// client falls back to the plain raw REPL. The filesystem is the port's in-memory one.

import net from "node:net";

const PACKAGE = "@micropython/micropython-webassembly-pyscript";

function parseArgs(argv) {
  const args = { heapsize: 1024 * 1024, romBytes: null, reconnect: false, cutAfterBytes: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--heapsize" && i + 1 < argv.length) args.heapsize = parseInt(argv[++i], 10);
    else if (argv[i] === "--rom-bytes" && i + 1 < argv.length) args.romBytes = parseInt(argv[++i], 10);
    else if (argv[i] === "--cut-after-bytes" && i + 1 < argv.length) args.cutAfterBytes = parseInt(argv[++i], 10);
    else if (argv[i] === "--reconnect") args.reconnect = true;
    else throw new Error(`unknown argument: ${argv[i]}`);
  }
  return args;
}

// The emulated ROMFS partition, installed as sys.modules['vfs'] (a later `import vfs` returns
// it), and the boot that mounts it. Names start with _coalwood_ so REPL code leaves them be.
const ROM_INSTALL = (romBytes) => `
import sys, vfs as _coalwood_real_vfs
class _CoalwoodRomVfs:
    BLOCK = 4096
    def __init__(self, nbytes):
        real = _coalwood_real_vfs
        self.VfsRom = real.VfsRom
        self.VfsPosix = real.VfsPosix
        self.mount = real.mount
        self.umount = real.umount
        self.rom = bytearray(b'\\xff' * nbytes)
        self.writable = False
    def rom_ioctl(self, op, *args):
        if op == 1:
            return 1
        if args and args[0] != 0:
            return -19  # ENODEV: only segment 0
        if op == 2:
            return memoryview(self.rom)
        if op == 3:
            offset, n = (0, args[1]) if len(args) == 2 else (args[1], args[2])
            start = offset // self.BLOCK * self.BLOCK
            end = -(-(offset + n) // self.BLOCK) * self.BLOCK
            if offset < 0 or end > len(self.rom):
                return -22
            for i in range(start, end):
                self.rom[i] = 0xff
            self.writable = True
            return 4
        if op == 4:
            offset, buf = args[1], args[2]
            if not self.writable or offset < 0 or offset + len(buf) > len(self.rom):
                return -22
            for i in range(len(buf)):
                self.rom[offset + i] &= buf[i]
            return 0
        if op == 5:
            self.writable = False
            return 0
        if op == 6:
            return self.BLOCK
        return -22
sys.modules['vfs'] = _CoalwoodRomVfs(${romBytes})
`;

// A board's boot, run at each (re)boot when a partition is emulated or boards reconnect:
// every imported module forgotten (but the stand-in vfs), and a valid image in the
// emulated partition mounted at /rom, after '' on sys.path.
const BOOT_INSTALL = `
import sys
def _coalwood_boot():
    import os
    for name in list(sys.modules):
        if name != 'vfs':
            del sys.modules[name]
    sys.path[:] = ['', '.frozen', '/lib']
    os.chdir('/')
    rom = sys.modules.get('vfs')
    if not hasattr(rom, 'rom'):
        return  # the port's own vfs: no partition to mount
    try:
        _coalwood_real_vfs.umount('/rom')
    except OSError:
        pass
    try:
        _coalwood_real_vfs.mount(_coalwood_real_vfs.VfsRom(memoryview(rom.rom)), '/rom')
        sys.path[1:1] = ['/rom', '/rom/lib']
    except OSError:
        pass  # no valid image: the board boots without /rom
`;

const RAW_PASTE_REQUEST = [0x05, 0x41, 0x01];

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { heapsize } = args;
  const { loadMicroPython } = await import(PACKAGE);
  let socket = null;
  const pending = [];
  const send = (bytes) => {
    if (socket) socket.write(Buffer.from(bytes));
    else pending.push(...bytes);
  };
  const mp = await loadMicroPython({ heapsize, linebuffer: false, stdout: send, stderr: send });
  mp.replInit();
  const emulatesBoot = args.romBytes !== null || args.reconnect;
  const boot = () => {
    if (emulatesBoot) mp.runPython("_coalwood_boot()");
  };
  if (args.romBytes !== null) mp.runPython(ROM_INSTALL(args.romBytes));
  if (emulatesBoot) mp.runPython(BOOT_INSTALL);
  boot();
  let cutAfterBytes = args.cutAfterBytes;
  // The board unplugged (--reconnect): it restarts, a line half received is gone, and
  // what it prints meanwhile waits for the next connection.
  const unplug = (conn) => {
    if (socket !== conn) return;
    socket = null;
    pending.length = 0;
    mp.replInit();
    boot();
  };

  const server = net.createServer((conn) => {
    if (socket) {
      if (!args.reconnect) {
        conn.destroy();
        return;
      }
      const old = socket; // its close not seen yet: the new connection wins
      unplug(old);
      old.destroy();
    }
    socket = conn;
    conn.setNoDelay(true);
    if (pending.length) conn.write(Buffer.from(pending.splice(0)));
    let held = []; // bytes that may begin a raw-paste request
    let received = 0;
    conn.on("data", (data) => {
      if (socket !== conn) return;
      for (const c of data) {
        if (cutAfterBytes !== null && received >= cutAfterBytes) {
          cutAfterBytes = null; // only the first connection is cut
          unplug(conn);
          conn.destroy();
          return;
        }
        received++;
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
            boot();
          }
        }
      }
    });
    conn.on("close", () => {
      if (!args.reconnect) {
        server.close();
        process.exit(0);
      }
      unplug(conn);
    });
    conn.on("error", () => (args.reconnect ? undefined : process.exit(0)));
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`PORT ${server.address().port}\n`);
  });
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(2);
});
