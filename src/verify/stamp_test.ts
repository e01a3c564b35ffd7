import assert from "node:assert/strict";
import { decodeStamp, encodeStamp, STAMP_SIZE } from "./stamp.ts";

Deno.test("stamp header round-trips and refuses damage", () => {
  const stamp = {
    seed: 2 ** 40 + 7,
    offset: 4096,
    length: 256 * 2 ** 20,
    time: 1764064800000,
  };
  const head = encodeStamp(stamp);
  assert.equal(head.length, STAMP_SIZE);
  assert.deepEqual(decodeStamp(head), { stamp });
  const damaged = head.slice();
  damaged[30] ^= 1;
  assert.deepEqual(decodeStamp(damaged), {
    missing: "the stamp header is damaged (checksum)",
  });
  assert.deepEqual(decodeStamp(new Uint8Array(STAMP_SIZE)), {
    missing: "no pmemctl stamp (magic missing)",
  });
});
