import assert from "node:assert/strict";
import { decodeStamp, encodeStamp, STAMP_SIZE } from "./stamp.ts";

const MiB = 2 ** 20;
const NOW = 1764064800000;

Deno.test("stamp header round-trips and refuses damage", () => {
  const stamp = {
    seed: 2 ** 40 + 7,
    offset: 4096,
    length: 256 * MiB,
    time: NOW,
  };
  const head = encodeStamp(stamp);
  assert.equal(head.length, STAMP_SIZE);
  assert.deepEqual(decodeStamp(head, 4096, 4096 + 256 * MiB, NOW), {
    stamp: { ...stamp, patternVersion: 2 },
  });
  // Stamps of the first pattern (header version 2) still read, as such.
  const old = encodeStamp({ ...stamp, patternVersion: 1 });
  assert.equal(new DataView(old.buffer).getUint32(8, true), 2);
  assert.deepEqual(decodeStamp(old, 4096, 4096 + 256 * MiB, NOW), {
    stamp: { ...stamp, patternVersion: 1 },
  });
  const future = head.slice();
  new DataView(future.buffer).setUint32(8, 9, true);
  assert.match(
    (decodeStamp(future, 4096, 2 ** 30, NOW) as { missing: string }).missing,
    /stamp version 9 is not one this pmemctl reads/,
  );
  const damaged = head.slice();
  damaged[30] ^= 1;
  assert.deepEqual(decodeStamp(damaged, 4096, 2 ** 30, NOW), {
    missing: "the stamp header is damaged (checksum)",
  });
  assert.deepEqual(decodeStamp(new Uint8Array(STAMP_SIZE), 0, 2 ** 30, NOW), {
    missing: "no pmemctl stamp (magic missing)",
  });
  const gap = head.slice();
  gap[60] = 1;
  assert.match(
    (decodeStamp(gap, 4096, 2 ** 30, NOW) as { missing: string }).missing,
    /bytes 52-63/,
  );
});

Deno.test("stamps with impossible fields are no valid stamp", () => {
  const missing = (
    s: Partial<Parameters<typeof encodeStamp>[0]>,
    size = 64 * MiB,
  ) => {
    const read = decodeStamp(
      encodeStamp({ seed: 1, offset: 0, length: MiB, time: NOW, ...s }),
      0,
      size,
      NOW,
    );
    return "missing" in read ? read.missing : undefined;
  };
  assert.equal(missing({}), undefined);
  assert.match(missing({ length: 0 })!, /length of 0 bytes/);
  assert.match(missing({ length: 100 })!, /length of 100 bytes/);
  assert.match(missing({ length: 65 * MiB })!, /does not fit/);
  assert.match(missing({ offset: 8192 })!, /records offset 8192/);
  assert.match(missing({ time: 0 })!, /impossible time/);
  assert.match(
    missing({ time: NOW + 7 * 24 * 3600 * 1000 })!,
    /impossible time/,
  );
  assert.match(missing({ length: 2 ** 60 })!, /past 2\^53/);
});
