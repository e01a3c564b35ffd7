/**
 * The verify pattern's fill and check of 1 MiB in a thread's I/O buffer by
 * pattern.wat's WebAssembly SIMD (CPUs with SSE4.1) and by the JavaScript
 * loops (the fallback for QEMU's default CPU model and kvm64 guests), and in
 * a plain buffer, in the same run. Run with `deno task bench`.
 */
import {
  activeCode,
  checkPattern,
  fillPattern,
  MismatchLog,
  patternBuffer,
  patternFor,
  useCode,
} from "../src/verify/pattern.ts";

const SIZE = 1 << 20;
const p = patternFor(2 ** 40 + 7, 1);
const js = new Uint8Array(SIZE).fill(1);

for (const code of ["simd", "js"] as const) {
  Deno.bench(`fill+check 1 MiB in the I/O buffer: ${code}`, {
    group: "pattern 1 MiB",
    baseline: code === "simd",
  }, (b) => {
    // One buffer per code, touched once: only the pattern is timed.
    if (activeCode() !== code) {
      useCode(code);
      patternBuffer(SIZE).fill(1);
    }
    const buf = patternBuffer(SIZE);
    b.start();
    fillPattern(p, buf, 1 << 30);
    checkPattern(p, buf, 1 << 30, new MismatchLog());
    b.end();
  });
}

Deno.bench("fill+check 1 MiB outside WebAssembly memory (the loops)", {
  group: "pattern 1 MiB",
}, () => {
  fillPattern(p, js, 1 << 30);
  checkPattern(p, js, 1 << 30, new MismatchLog());
});
