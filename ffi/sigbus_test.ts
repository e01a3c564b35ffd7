import assert from "node:assert/strict";
import { have, requireThat } from "../tests/require.ts";
import { HANDLER_CODE } from "./sigbus.ts";

const SOURCE = new URL("./sigbus_handler.S", import.meta.url).pathname;

requireThat(
  have("as") && have("objcopy")
    ? undefined
    : "no as/objcopy (binutils) to assemble the handler",
  "the SIGBUS handler's bytes are what `as` makes of sigbus_handler.S",
  () => {
    const dir = Deno.makeTempDirSync();
    try {
      const as = new Deno.Command("as", {
        args: ["-o", `${dir}/h.o`, SOURCE],
      }).outputSync();
      assert.ok(as.success, new TextDecoder().decode(as.stderr));
      const cp = new Deno.Command("objcopy", {
        args: ["-O", "binary", "-j", ".text", `${dir}/h.o`, `${dir}/h.bin`],
      }).outputSync();
      assert.ok(cp.success);
      const hex = [...Deno.readFileSync(`${dir}/h.bin`)].map((b) =>
        b.toString(16).padStart(2, "0")
      ).join("");
      assert.equal(hex, HANDLER_CODE);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

/** A child that maps a file, lets it shrink, and touches the lost pages. */
const CHILD = `
import { constants as C, FileHandle, Mapping } from "${
  new URL("./mod.ts", import.meta.url).href
}";
const path = Deno.args[0];
const guard = Deno.args[1] === "guard";
using f = new FileHandle(path, C.O_RDWR);
using m = Mapping.map(f.fd, path, {
  offset: 1 << 20,
  length: 1 << 20,
  writable: true,
  ...(guard ? { fault: { prefix: "pmemctl: map zero " + path + ": ", reason: "the target shrank" } } : {}),
});
Deno.truncateSync(path, (1 << 20) + 8192);
m.bytes(0, 1 << 20).fill(7);
console.log("survived");
`;

Deno.test("a SIGBUS in a guarded mapping is one pmemctl line with the offset and exit 3", async () => {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm" });
  try {
    const script = `${dir}/child.ts`;
    Deno.writeTextFileSync(script, CHILD);
    const run = async (mode: string) => {
      const path = `${dir}/target-${mode}\x1b[31m`;
      Deno.writeFileSync(path, new Uint8Array(2 << 20));
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, path, mode],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    // Unguarded, the process dies by the signal: what the guard is for.
    const bare = await run("bare");
    assert.equal(bare.code, 135, bare.stderr);
    const guarded = await run("guard");
    assert.equal(guarded.code, 3, guarded.stderr);
    // The first page past the new end is at file offset 1 MiB + 8 KiB.
    assert.equal(
      guarded.stderr,
      `pmemctl: map zero ${dir}/target-guard\\x1b[31m: the target shrank at offset ${
        (1 << 20) + 8192
      }\n`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** A worker thread that adopts its slots of the table, then maps, shrinks and touches a file. */
const WORKER = `
import { adoptFaultSlots, constants as C, FileHandle, Mapping } from "${
  new URL("./mod.ts", import.meta.url).href
}";
self.onmessage = (e) => {
  const { slots, path } = e.data;
  adoptFaultSlots(slots);
  const f = new FileHandle(path, C.O_RDWR);
  const m = Mapping.map(f.fd, path, {
    offset: 1 << 20,
    length: 1 << 20,
    writable: true,
    fault: { prefix: "pmemctl: verify destructive " + path + ": ", reason: "the target shrank" },
  });
  if (e.data.touch) {
    Deno.truncateSync(path, (1 << 20) + 4096);
    m.bytes(0, 1 << 20).fill(7);
  }
  self.postMessage("mapped");
};
`;

/** The main thread guards a mapping of its own, then a worker guards one; `who` faults. */
const THREADS = `
import { constants as C, FileHandle, Mapping, shareFaultSlots } from "${
  new URL("./mod.ts", import.meta.url).href
}";
const [dir, who] = Deno.args;
const own = dir + "/main";
using f = new FileHandle(own, C.O_RDWR);
using m = Mapping.map(f.fd, own, {
  offset: 1 << 20,
  length: 1 << 20,
  writable: true,
  fault: { prefix: "pmemctl: map zero " + own + ": ", reason: "the target shrank" },
});
const w = new Worker(new URL("file://" + dir + "/worker.ts"), { type: "module" });
await new Promise((done) => {
  w.onmessage = done;
  w.postMessage({ slots: shareFaultSlots(3), path: dir + "/worker", touch: who === "worker" });
});
Deno.truncateSync(own, (1 << 20) + 8192);
m.bytes(0, 1 << 20).fill(7);
console.log("survived");
`;

Deno.test("a SIGBUS in a worker thread's guarded mapping names the worker's target; the main thread's guards still hold", async () => {
  const dir = Deno.makeTempDirSync({ dir: "/dev/shm" });
  try {
    Deno.writeTextFileSync(`${dir}/worker.ts`, WORKER);
    Deno.writeTextFileSync(`${dir}/threads.ts`, THREADS);
    const run = async (who: string) => {
      for (const name of ["main", "worker"]) {
        Deno.writeFileSync(`${dir}/${name}`, new Uint8Array(2 << 20));
      }
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", `${dir}/threads.ts`, dir, who],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const inWorker = await run("worker");
    assert.equal(inWorker.code, 3, inWorker.stderr);
    assert.equal(
      inWorker.stderr,
      `pmemctl: verify destructive ${dir}/worker: the target shrank at offset ${
        (1 << 20) + 4096
      }\n`,
    );
    const inMain = await run("main");
    assert.equal(inMain.code, 3, inMain.stderr);
    assert.equal(
      inMain.stderr,
      `pmemctl: map zero ${dir}/main: the target shrank at offset ${
        (1 << 20) + 8192
      }\n`,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
