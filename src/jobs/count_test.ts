import assert from "node:assert/strict";
import { openFilesLimit, threadsForDescriptors } from "./count.ts";

Deno.test("openFilesLimit reads the soft limit of /proc/self/limits", () => {
  const limits =
    `Limit                     Soft Limit           Hard Limit           Units
Max processes             95612                95612                processes
Max open files            1024                 524288               files
Max locked memory         8388608              8388608              bytes
`;
  assert.equal(openFilesLimit(limits), 1024);
  assert.equal(
    openFilesLimit(limits.replace(/1024 /, "unlimited ")),
    undefined,
  );
  assert.equal(openFilesLimit("garbage"), undefined);
});

Deno.test("threadsForDescriptors keeps room for the main thread and each worker", () => {
  assert.equal(threadsForDescriptors(8, 20, undefined), 8);
  assert.equal(threadsForDescriptors(8, 20, 20000), 8);
  assert.equal(threadsForDescriptors(8, 20, 100), 4);
  assert.equal(threadsForDescriptors(8, 20, 64), 1);
  assert.equal(threadsForDescriptors(1, 200, 32), 1);
});
