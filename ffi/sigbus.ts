/**
 * The last line of defence against SIGBUS. A store or load through a
 * mapping whose file shrank, whose filesystem is full, or whose memory is
 * poisoned raises SIGBUS, which no JavaScript can catch: the process would
 * die with exit 135 and say nothing. pmemctl prevents the causes it can
 * (fallocate, size checks, known bad blocks); for the races that remain,
 * this module installs a native handler that says which target and which
 * offset, on one `pmemctl:` line, and exits 3.
 *
 * The handler is 222 bytes of machine code assembled from
 * `sigbus_handler.S` (beside this file; its test assembles it again and
 * compares). It reads a table this module fills: one slot per guarded
 * mapping, each with the mapping's address, length and file offset and the
 * words to print.
 *
 * @module
 */

import * as C from "./constants.ts";
import { libc, mmapAnonymous } from "./libc.ts";

/** `as ffi/sigbus_handler.S` then `objcopy -O binary -j .text`, in hex. */
export const HANDLER_CODE =
  "49bc88776655443322114c8b4610448b6e0831c94d8d4c244083f9280f83930000004c89c0492b01493b41087208ffc14983c138ebe3490341104989c64d89cf498b7718498b5720e884000000498b7728498b57304183fd0474064183fd057509498b3424498b542408e862000000498b742410498b542418e8530000004883ec40488d74243fc6060a4c89f049c7c20a00000031d249f7f280c23048ffce88164885c075ee488d5424404829f2e81e000000eb0f498b742420498b542428e80d000000bf03000000b8e70000000f05f4bf02000000b8010000000f05c3";

/** Where the table's address goes in the code (the immediate of `movabs r12`). */
const TABLE_IMMEDIATE_AT = 2;
/** Slots in the table: the main thread's first, then two per worker thread. */
const SLOTS = 40;
const MAIN_SLOTS = 8;
/** Slots each worker thread fills (a window and one more), see {@link shareFaultSlots}. */
export const WORKER_SLOTS = 2;
const SLOTS_AT = 64;
const SLOT_BYTES = 56;
const PAGE = 4096;
/** Per slot in the strings area: the prefix, then the reason. */
const STRING_AREA = 1024;
const REASON_AT = 768;

/** A guarded mapping; release it before unmapping. */
export interface FaultGuard extends Disposable {
  release(): void;
}

interface Installed {
  table: Deno.PointerObject;
  tableView: DataView;
  strings: Deno.PointerObject;
  stringBytes: Uint8Array;
  /** Per slot: in use (true), free (false), or another thread's (undefined). */
  used: (boolean | undefined)[];
}

let installed: Installed | null | undefined;

function bytesAt(ptr: Deno.PointerObject, length: number): Uint8Array {
  return new Uint8Array(
    Deno.UnsafePointerView.getArrayBuffer(ptr, length),
  );
}

/** Escapes control characters so a crafted path cannot drive the terminal. */
function printable(text: string): string {
  let out = "";
  for (const c of text) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : c;
  }
  return out;
}

/** Writes `text` (cut to fit `room`) at `at` of the strings area; returns its length. */
function put(i: Installed, at: number, text: string, room: number): number {
  const encoded = new TextEncoder().encode(printable(text)).subarray(0, room);
  i.stringBytes.set(encoded, at);
  return encoded.length;
}

function setGlobal(i: Installed, field: number, at: number, text: string) {
  const length = put(i, at, text, 250);
  const ptr = Deno.UnsafePointer.value(i.strings) + BigInt(at);
  i.tableView.setBigUint64(field, BigInt(ptr), true);
  i.tableView.setBigUint64(field + 8, BigInt(length), true);
}

/** The table and strings at these addresses, with the slots `mine` says this thread fills. */
function tableAt(
  table: Deno.PointerObject,
  strings: Deno.PointerObject,
  mine: (slot: number) => boolean,
): Installed {
  return {
    table,
    tableView: new DataView(bytesAt(table, PAGE).buffer),
    strings,
    stringBytes: bytesAt(strings, STRING_AREA * SLOTS + 1024),
    used: Array.from({ length: SLOTS }, (_, n) => mine(n) ? false : undefined),
  };
}

/** Installs the handler once; null where the system refuses (no executable memory). */
function install(): Installed | null {
  if (installed !== undefined) return installed;
  installed = null;
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") return null;
  const table = mmapAnonymous(PAGE);
  const strings = mmapAnonymous(STRING_AREA * SLOTS + 1024);
  const code = mmapAnonymous(PAGE);
  if (!table || !strings || !code) return null;
  const bytes = new Uint8Array(
    HANDLER_CODE.match(/../g)!.map((h) => parseInt(h, 16)),
  );
  bytesAt(code, bytes.length).set(bytes);
  new DataView(bytesAt(code, 16).buffer).setBigUint64(
    TABLE_IMMEDIATE_AT,
    BigInt(Deno.UnsafePointer.value(table)),
    true,
  );
  if (libc().mprotect(code, BigInt(PAGE), C.PROT_READ | C.PROT_EXEC) !== 0) {
    return null;
  }
  const i = tableAt(table, strings, (n) => n < MAIN_SLOTS);
  const globals = STRING_AREA * SLOTS;
  setGlobal(i, 0, globals, "a memory error (poisoned memory)");
  setGlobal(i, 16, globals + 256, " at offset ");
  setGlobal(
    i,
    32,
    globals + 512,
    "pmemctl: bus error (SIGBUS) outside every mapped target\n",
  );
  const act = new Uint8Array(C.SIGACTION_SIZE);
  const view = new DataView(act.buffer);
  view.setBigUint64(0, BigInt(Deno.UnsafePointer.value(code)), true);
  view.setInt32(C.SIGACTION_FLAGS_OFFSET, C.SA_SIGINFO, true);
  if (libc().sigaction(C.SIGBUS, act, new Uint8Array(C.SIGACTION_SIZE)) !== 0) {
    return null;
  }
  installed = i;
  return i;
}

const NO_GUARD: FaultGuard = {
  release() {},
  [Symbol.dispose]() {},
};

/**
 * Guards `[base, base+length)`, which maps a file from `fileOffset`: a
 * SIGBUS there prints `prefix` + `reason` (or the poison reason, for a
 * memory error) + ` at offset N` and exits 3. `prefix` is like
 * `pmemctl: map zero /x: `. Without a free slot or where the handler
 * cannot be installed, nothing is guarded.
 */
export function guardFaults(
  base: Deno.PointerObject,
  length: number,
  fileOffset: number,
  prefix: string,
  reason: string,
): FaultGuard {
  const i = install();
  const slot = i?.used.indexOf(false) ?? -1;
  if (!i || slot < 0) return NO_GUARD;
  i.used[slot] = true;
  const at = SLOTS_AT + slot * SLOT_BYTES;
  const area = slot * STRING_AREA;
  const t = i.tableView;
  const stringsBase = Deno.UnsafePointer.value(i.strings);
  const prefixLength = put(i, area, prefix, REASON_AT);
  const reasonLength = put(
    i,
    area + REASON_AT,
    reason,
    STRING_AREA - REASON_AT,
  );
  t.setBigUint64(at, BigInt(Deno.UnsafePointer.value(base)), true);
  t.setBigUint64(at + 16, BigInt(fileOffset), true);
  t.setBigUint64(at + 24, BigInt(stringsBase) + BigInt(area), true);
  t.setBigUint64(at + 32, BigInt(prefixLength), true);
  t.setBigUint64(at + 40, BigInt(stringsBase) + BigInt(area + REASON_AT), true);
  t.setBigUint64(at + 48, BigInt(reasonLength), true);
  // The length last: until it is set, the slot matches no address.
  t.setBigUint64(at + 8, BigInt(length), true);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    t.setBigUint64(at + 8, 0n, true);
    i.used[slot] = false;
  };
  return { release, [Symbol.dispose]: release };
}

/** Where a worker thread's guards go: the process's table, and its own slots. */
export interface FaultSlots {
  table: bigint;
  strings: bigint;
  first: number;
}

/**
 * The table's address and the slots worker thread `worker` (0-based, at most
 * 15) may fill; null where no handler could be installed. The signal handler
 * is one per process, so threads share its table, each in slots of its own.
 */
export function shareFaultSlots(worker: number): FaultSlots | null {
  const i = install();
  const first = MAIN_SLOTS + worker * WORKER_SLOTS;
  if (!i || worker < 0 || first + WORKER_SLOTS > SLOTS) return null;
  return {
    table: BigInt(Deno.UnsafePointer.value(i.table)),
    strings: BigInt(Deno.UnsafePointer.value(i.strings)),
    first,
  };
}

/**
 * In a worker thread: guard this thread's mappings through the main
 * thread's table (from {@link shareFaultSlots}) instead of installing a
 * second handler, which would replace the process's one. Without it (null),
 * this thread's mappings are not guarded.
 */
export function adoptFaultSlots(s: FaultSlots | null): void {
  if (!s) {
    installed = null;
    return;
  }
  const table = Deno.UnsafePointer.create(s.table)!;
  const strings = Deno.UnsafePointer.create(s.strings)!;
  installed = tableAt(
    table,
    strings,
    (n) => n >= s.first && n < s.first + WORKER_SLOTS,
  );
}

/** For tests: whether the handler is installed in this process. */
export function faultHandlerInstalled(): boolean {
  return install() !== null;
}
