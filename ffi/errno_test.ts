import assert from "node:assert/strict";
import { settleErrno } from "./errno.ts";

/** A call that fails with the given errno readings in turn, or succeeds (a number ≥ 0). */
function scripted(outcomes: (number | { errno: number })[]) {
  let i = 0;
  let current = 0;
  return {
    calls: () => i,
    attempt: (): number | undefined => {
      const next = outcomes[i++];
      if (typeof next === "number") return next;
      current = next.errno;
      return undefined;
    },
    read: () => current,
  };
}

Deno.test("settleErrno: a reading overwritten once is read again and the two that agree win", () => {
  // EAGAIN is what the runtime left behind; the call itself said ENOENT.
  const s = scripted([{ errno: 11 }, { errno: 2 }, { errno: 2 }]);
  assert.deepEqual(settleErrno(s.attempt, s.read), { errno: 2 });
  assert.equal(s.calls(), 3);
});

Deno.test("settleErrno: two equal readings in a row are taken at once", () => {
  const s = scripted([{ errno: 13 }, { errno: 13 }, { errno: 99 }]);
  assert.deepEqual(settleErrno(s.attempt, s.read), { errno: 13 });
  assert.equal(s.calls(), 2);
});

Deno.test("settleErrno: a call that succeeds on a repeat returns its value", () => {
  const s = scripted([{ errno: 2 }, 7]);
  assert.deepEqual(settleErrno(s.attempt, s.read), { value: 7 });
});

Deno.test("settleErrno: a first success is returned without reading errno", () => {
  const s = scripted([5]);
  assert.deepEqual(settleErrno(s.attempt, () => assert.fail("read")), {
    value: 5,
  });
});

Deno.test("settleErrno: readings that never agree end with the last one, after a bounded number of tries", () => {
  const s = scripted([1, 2, 3, 4, 5, 6, 7, 8].map((errno) => ({ errno })));
  assert.deepEqual(settleErrno(s.attempt, s.read), { errno: 4 });
  assert.equal(s.calls(), 4);
});
