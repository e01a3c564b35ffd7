import assert from "node:assert/strict";
import { have, requireThat } from "../../tests/require.ts";
import {
  activeCode,
  checkPattern,
  cpuCode,
  expectedByte,
  fillPattern,
  MismatchLog,
  patternBuffer,
  patternFor,
  useCode,
  word,
} from "./pattern.ts";
import fc from "fast-check";

for (const version of [1, 2] as const) {
  Deno.test(`pattern v${version}: every word depends on the seed, its offset and the pass`, () => {
    const p = patternFor(42, 0, version);
    const seen = new Set<string>();
    for (let w = 0; w < 10000; w++) seen.add(word(p, w).join(":"));
    assert.equal(seen.size, 10000, "no two offsets share a word");
    assert.notDeepEqual(word(p, 5), word(patternFor(43, 0, version), 5));
    assert.deepEqual(
      word(patternFor(42, 1, version), 5),
      word(p, 5).map((x) => ~x >>> 0),
      "pass 1 is the complement",
    );
    assert.notDeepEqual(word(patternFor(42, 2, version), 5), word(p, 5));
    // Offsets above 2^32 words still differ from their low bits' twins.
    assert.notDeepEqual(word(p, 2 ** 32 + 7), word(p, 7));
    // Each bit of each half is 0 in some words and 1 in others (no stuck bit hides).
    for (const half of [0, 1]) {
      let ones = 0, zeros = 0;
      for (let w = 0; w < 4096; w++) {
        ones |= word(p, w)[half];
        zeros |= ~word(p, w)[half];
      }
      assert.equal(ones >>> 0, 0xffffffff);
      assert.equal(zeros >>> 0, 0xffffffff);
    }
  });

  Deno.test(`pattern v${version}: fill then check is clean at any alignment; each flipped byte is found exactly`, () => {
    const p = patternFor(0xdeadbeef, 3, version);
    for (const at of [0, 1, 7, 8, 4093, 2 ** 33 + 5]) {
      for (const len of [0, 1, 9, 4096, 4101]) {
        const backing = new Uint8Array(len + 3);
        const buf = backing.subarray(at % 3, (at % 3) + len); // misaligned views too
        fillPattern(p, buf, at);
        for (let i = 0; i < len; i++) {
          assert.equal(buf[i], expectedByte(p, at + i));
        }
        const clean = new MismatchLog();
        checkPattern(p, buf, at, clean);
        assert.equal(clean.count, 0);
        if (len < 9) continue;
        buf[3] ^= 0x10;
        buf[len - 1] ^= 0xff;
        const log = new MismatchLog();
        checkPattern(p, buf, at, log);
        assert.equal(log.count, 2);
        assert.deepEqual(log.first.map((m) => m.offset), [
          at + 3,
          at + len - 1,
        ]);
        assert.equal(log.first[0].actual, log.first[0].expected ^ 0x10);
      }
    }
  });
}

Deno.test("pattern v2 is the default, and differs from v1", () => {
  assert.equal(patternFor(7).version, 2);
  assert.notDeepEqual(word(patternFor(7, 0, 1), 9), word(patternFor(7), 9));
  // A word copied to another place within its 64-byte line is caught.
  const p = patternFor(7);
  const buf = new Uint8Array(64);
  fillPattern(p, buf, 4096);
  buf.copyWithin(8, 0, 8);
  const log = new MismatchLog();
  checkPattern(p, buf, 4096, log);
  assert.ok(log.count > 0);
});

Deno.test("mismatch log: counts all, keeps the first, merges runs into ranges", () => {
  const log = new MismatchLog(2, 3);
  for (const o of [10, 11, 12, 20, 30, 40, 41]) log.add(o, 1, 2);
  assert.equal(log.count, 7);
  assert.deepEqual(log.first.map((m) => m.offset), [10, 11]);
  assert.deepEqual(log.ranges.map((r) => [r.offset, r.length]), [[10, 3], [
    20,
    1,
  ], [30, 1]]);
});

requireThat(
  have("gcc") ? undefined : "no gcc (tools/setup.sh --vm installs it)",
  "the C reference of bench/ writes exactly pmemctl's pattern (so the comparison is fair)",
  () => {
    const dir = Deno.makeTempDirSync();
    try {
      const src =
        new URL("../../bench/fill_compare.c", import.meta.url).pathname;
      const cc = new Deno.Command("gcc", {
        args: ["-O2", "-fopenmp", "-o", `${dir}/fc`, src],
      })
        .outputSync();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const file = `${dir}/f`;
      Deno.writeFileSync(file, new Uint8Array(65536));
      const seed = 2 ** 40 + 12345;
      // Two threads, as bench/verify_compare.ts also runs it.
      const run = new Deno.Command(`${dir}/fc`, {
        args: [file, String(seed)],
        env: { OMP_NUM_THREADS: "2" },
      }).outputSync();
      assert.ok(run.success);
      const want = new Uint8Array(65536);
      fillPattern(patternFor(seed), want, 0);
      const got = Deno.readFileSync(file);
      const firstDiff = got.findIndex((b, i) => b !== want[i]);
      assert.equal(firstDiff, -1, `first difference at byte ${firstDiff}`);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

for (const code of ["simd", "js"] as const) {
  Deno.test(`pattern v2 in the I/O buffer (${code}) gives the bytes the loops give outside it, and finds each flipped byte`, () => {
    useCode(code);
    assert.equal(activeCode(), code);
    ioBufferMatchesLoops();
  });
}

Deno.test("this CPU's build is SIMD exactly where it has SSE4.1 (V8's floor for WebAssembly SIMD on x86-64)", () => {
  const flags =
    Deno.readTextFileSync("/proc/cpuinfo").match(/^flags\s*:(.*)$/m)![1];
  assert.equal(cpuCode(), / sse4_1\b/.test(flags) ? "simd" : "js");
});

Deno.test("pattern v2: the I/O buffer under SIMD and without it, and the loops, give the same bytes for random seeds, passes, offsets and lengths", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      fc.integer({ min: 0, max: 7 }),
      fc.oneof(
        fc.integer({ min: 0, max: 2 ** 20 }),
        fc.integer({ min: 2 ** 35 - 2 ** 20, max: 2 ** 35 + 2 ** 20 }), // lines across 2^32
        fc.integer({ min: 0, max: 2 ** 52 }),
      ),
      fc.integer({ min: 0, max: 9000 }),
      (seed, pass, at, length) => {
        const p = patternFor(seed, pass, 2);
        const plain = new Uint8Array(length + 8);
        const bytes: Uint8Array[] = [];
        for (const code of ["simd", "js"] as const) {
          useCode(code);
          const b = patternBuffer(length + 8).subarray(at % 8, at % 8 + length);
          fillPattern(p, b, at);
          const log = new MismatchLog();
          checkPattern(p, b, at, log);
          assert.equal(log.count, 0, code);
          bytes.push(b.slice());
        }
        const js = plain.subarray(at % 8, at % 8 + length);
        fillPattern(p, js, at);
        assert.deepEqual(bytes[0], js, "simd");
        assert.deepEqual(bytes[1], js, "js");
      },
    ),
    { numRuns: 300 },
  );
});

function ioBufferMatchesLoops(): void {
  const plain = new Uint8Array(70_000 + 64);
  const wasm = patternBuffer(70_000 + 64);
  const cases: [number, number, number][] = [
    [42, 0, 0],
    [2 ** 40 + 5, 1, 64 * 3 + 5], // a seed above 2^32, the complement
    [7, 2, (2 ** 32 - 3) * 64 + 13], // lines across 2^32: the high half steps
    [0xdeadbeef, 3, 2 ** 52 + 8 * 1001],
  ];
  for (const [seed, pass, at] of cases) {
    const p = patternFor(seed, pass, 2);
    for (const [from, length] of [[0, 70_000], [3, 64 * 50 + 7], [8, 64]]) {
      const x = at + from;
      // Views at the same offset mod 8 as the target, as walk.ts makes them.
      const a = plain.subarray(x % 8, x % 8 + length);
      const b = wasm.subarray(x % 8, x % 8 + length);
      b.fill(0x55);
      fillPattern(p, a, x);
      fillPattern(p, b, x);
      const i = a.findIndex((v, j) => v !== b[j]);
      assert.equal(i, -1, `seed ${seed} pass ${pass} at ${x}: byte ${i}`);
      const clean = new MismatchLog();
      checkPattern(p, b, x, clean);
      assert.equal(clean.count, 0);
      for (
        const flip of [0, 63, 64, length >> 1, length - 1].filter((f) =>
          f < length
        )
      ) {
        b[flip] ^= 0x10;
        const log = new MismatchLog();
        checkPattern(p, b, x, log);
        assert.deepEqual(
          [log.count, log.first[0]?.offset],
          [1, x + flip],
          `flip ${flip}`,
        );
        b[flip] ^= 0x10;
      }
    }
  }
}
