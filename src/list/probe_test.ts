import assert from "node:assert/strict";
import { encodeStamp } from "../verify/stamp.ts";
import { classifyHead } from "./probe.ts";

const page = () => new Uint8Array(4096);

Deno.test("classifyHead: stamp, PMDK pool, filesystems, GPT, empty, unknown", () => {
  const now = Date.parse("2026-11-26T12:00:00Z");
  const stamped = encodeStamp({
    seed: 42,
    offset: 0,
    length: 1 << 20,
    time: now - 1000,
  });
  assert.deepEqual(classifyHead(stamped, 1 << 20, now), {
    content: "pmemctl-stamp",
    stamp: {
      seed: 42,
      time: "2026-11-26T11:59:59.000Z",
      offset: 0,
      length: 1 << 20,
    },
  });
  // A stamp whose range does not fit the device is not one.
  assert.equal(classifyHead(stamped, 4096, now).content, "unknown");

  const pool = page();
  pool.set(new TextEncoder().encode("PMEMOBJ\0"));
  assert.deepEqual(classifyHead(pool, 1 << 30), {
    content: "pmdk-pool",
    pool: "obj",
  });
  const ext4 = page();
  ext4.set([0x53, 0xef], 1080);
  assert.equal(classifyHead(ext4, 1 << 30).content, "ext4");
  const xfs = page();
  xfs.set(new TextEncoder().encode("XFSB"));
  assert.equal(classifyHead(xfs, 1 << 30).content, "xfs");
  const gpt = page();
  gpt.set(new TextEncoder().encode("EFI PART"), 512);
  assert.equal(classifyHead(gpt, 1 << 30).content, "gpt");
  assert.equal(classifyHead(page(), 1 << 30).content, "empty");
  const noise = page();
  noise[100] = 1;
  assert.equal(classifyHead(noise, 1 << 30).content, "unknown");
});
