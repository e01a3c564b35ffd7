/**
 * pmemctl on QEMU's default x86-64 CPU model, the baseline without SSE4.1
 * that kvm64 guests share: V8 refuses WebAssembly SIMD there, and verify
 * fills and checks its I/O buffer with the JavaScript loops instead
 * (src/verify/pattern.ts). Every verify mode and a map round trip on
 * /dev/pmem0, with one thread and two; `-cpu max` runs the rest of the suite.
 */
import assert from "node:assert/strict";
import { assertGuestOk, runVm, vmTest } from "./vm/vm.ts";

const P = "deno run -A --cached-only cli.ts";

vmTest(
  "QEMU's default CPU model (no SSE4.1, no WebAssembly SIMD): every verify mode and a map round trip pass",
  async () => {
    const r = await runVm({
      config: "legacy",
      cpu: "default",
      cpus: 2,
      script: `set -e
grep -qw sse4_1 /proc/cpuinfo && echo "@@sse4_1 yes" || echo "@@sse4_1 no"
deno eval 'console.log("@@code " + (await import("./src/verify/pattern.ts")).cpuCode())' || echo "@@code unknown"
run() { name=$1; shift; echo "@@$name"; ${P} verify /dev/pmem0 "$@" --json && rc=0 || rc=$?; echo "@@end"; echo "@@rc-$name $rc"; }
run destructive --mode destructive --force --length 32M --jobs 1
run destructive2 --mode destructive --force --length 32M --jobs 2
run stamp --mode stamp --force --length 32M --seed 99 --jobs 2
run check --mode check --jobs 1
run rw --mode rw --length 16M --offset 64M
run scan --length 64M --jobs 2
head -c 3000000 /dev/urandom > /tmp/a
${P} map write /dev/pmem0 --offset 100M --input /tmp/a >&2
${P} map read /dev/pmem0 --offset 100M --length 3000000 --output /tmp/b >&2
cmp /tmp/a /tmp/b && echo "@@map same"
${P} doctor --json | grep -o '"found": "no WebAssembly SIMD[^"]*"' | sed 's/^/@@doctor /' || true
`,
    });
    assertGuestOk(r);
    assert.match(r.stdout, /^@@sse4_1 no$/m, "the guest CPU lacks SSE4.1");
    for (
      const mode of [
        "destructive",
        "destructive2",
        "stamp",
        "check",
        "rw",
        "scan",
      ]
    ) {
      assert.match(r.stdout, new RegExp(`^@@rc-${mode} 0$`, "m"), mode);
      const doc = JSON.parse(
        r.stdout.match(new RegExp(`^@@${mode}\\n([\\s\\S]*?)^@@end$`, "m"))![
          1
        ],
      );
      assert.equal(doc.result, "pass", `${mode}: ${JSON.stringify(doc)}`);
    }
    assert.match(r.stdout, /^@@map same$/m);
    assert.doesNotMatch(r.console, /CompileError|internal error/);
    assert.match(r.stdout, /^@@code js$/m, "verify runs the JavaScript loops");
    assert.match(
      r.stdout,
      /^@@doctor "found": "no WebAssembly SIMD on this CPU/m,
    );
  },
);
