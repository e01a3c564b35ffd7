import assert from "node:assert/strict";
import { readCapped, readCappedBytes, TooLargeError } from "./bounded.ts";

Deno.test("capped reads share one buffer: earlier bytes stay, later caps hold", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const big = "x".repeat(200_000), small = "y".repeat(5000);
    Deno.writeTextFileSync(`${dir}/big`, big);
    Deno.writeTextFileSync(`${dir}/small`, small);
    const kept = readCappedBytes(`${dir}/big`, 1 << 20);
    assert.equal(readCapped(`${dir}/small`, 8192), small);
    assert.equal(kept.length, big.length);
    assert.ok(kept.every((b) => b === 0x78), "the bytes read first are intact");
    // The buffer the big file grew is larger than this cap: the cap holds.
    assert.throws(() => readCapped(`${dir}/small`, 4096), TooLargeError);
    assert.equal(readCapped(`${dir}/big`, 1 << 20), big);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
