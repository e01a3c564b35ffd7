/**
 * The `verify --mode rw` journal: the original bytes of the window under
 * test, kept on disk before the window is touched, so that a run killed at
 * any instant loses nothing (`--resume` puts them back).
 *
 * Layout (version 2): two 4 KiB header slots at 0 and 4096 and the saved
 * window from 8192. A header is `PMJRNL02`, a 32-bit length, JSON, and at
 * 4064 a SHA-256 of the slot's first 4064 bytes; the JSON names the target
 * (device or inode, and size), the run's range and seed, the window,
 * whether it is under test, and the SHA-256 of its saved bytes. The valid
 * slot with the highest sequence number is the journal's state.
 *
 * Every state is written to both slots, one after the other, each with its
 * own sequence number and fsync. A crash tears at most the slot being
 * written, and the other then holds the previous state, which is right: a
 * window is touched only once both slots say it is under test. So a slot
 * damaged at any later time (a flipped byte, an impossible number under a
 * valid checksum) leaves the same state in the other, and falling back to
 * it can never re-test a window whose saved bytes were not put back.
 * Anything short, garbled or foreign is refused (exit 2) before the target
 * is touched; a new run does not overwrite a journal with a damaged slot.
 *
 * @module
 */

import {
  constants as C,
  FileHandle,
  flock,
  fstatx,
  fsync,
  pread,
  pwrite,
} from "../../ffi/mod.ts";
import { SystemError, UsageError } from "../errors.ts";
import type { FileIdentity } from "../safety/identity.ts";

const MAGIC = "PMJRNL02";
const SLOT = 4096;
const HASH_AT = SLOT - 32;
/** Where the saved window's bytes start. */
export const DATA_AT = 2 * SLOT;

/** What a journal says of the target it belongs to. */
export interface JournalTarget {
  /** The path given when the run started (for messages). */
  path: string;
  kind: string;
  /** Device targets: the kernel's name (`pmem0`), which survives a reboot. */
  device?: string;
  /** File targets: the inode that holds it. */
  dev?: [number, number];
  ino?: number;
  size: number;
}

/** The state a header records. */
export interface JournalState {
  version: 2;
  seq: number;
  target: JournalTarget;
  /** The run's range and pattern seed. */
  offset: number;
  length: number;
  seed: number;
  /** The next window to test, or (active) the one under test. */
  window: number;
  windowLength: number;
  /** The window is under test: its saved bytes must go back. */
  active: boolean;
  /** SHA-256 (hex) of the saved bytes, when active. */
  data?: string;
}

/** Describes a target for a journal. */
export function journalTarget(t: {
  path: string;
  kind: string;
  device?: string;
  identity: FileIdentity;
  size: number;
}): JournalTarget {
  return t.device
    ? { path: t.path, kind: t.kind, device: t.device, size: t.size }
    : {
      path: t.path,
      kind: t.kind,
      dev: [t.identity.devMajor, t.identity.devMinor],
      ino: t.identity.ino,
      size: t.size,
    };
}

/** Whether a journal's target is `t`. */
function sameTarget(a: JournalTarget, b: JournalTarget): boolean {
  if (a.kind !== b.kind || a.size !== b.size) return false;
  if (a.device !== undefined || b.device !== undefined) {
    return a.device === b.device;
  }
  return a.ino === b.ino && a.dev?.[0] === b.dev?.[0] &&
    a.dev?.[1] === b.dev?.[1];
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;

/** Checks a parsed header's fields; the reason when one is wrong. */
export function invalidState(s: unknown): string | undefined {
  if (typeof s !== "object" || s === null) return "not an object";
  const j = s as Record<string, unknown>;
  if (j.version !== 2) return `version ${j.version}`;
  for (const k of ["seq", "offset", "length", "seed", "window"]) {
    if (!isCount(j[k])) return `${k} is not a count`;
  }
  if (!isCount(j.windowLength)) return "windowLength is not a count";
  if (typeof j.active !== "boolean") return "active is not a boolean";
  const t = j.target as Record<string, unknown> | undefined;
  if (
    typeof t !== "object" || t === null || typeof t.path !== "string" ||
    typeof t.kind !== "string" || !isCount(t.size)
  ) return "no target";
  const st = j as unknown as JournalState;
  const end = st.offset + st.length;
  if (!Number.isSafeInteger(end) || end > st.target.size) {
    return "the run's range is past the target's end";
  }
  if (st.window < st.offset || st.window > end) {
    return "the window is outside the run";
  }
  if (st.active) {
    if (st.windowLength === 0 || st.window + st.windowLength > end) {
      return "the window under test is outside the run";
    }
    if (typeof st.data !== "string" || !/^[0-9a-f]{64}$/.test(st.data)) {
      return "no checksum for the saved bytes";
    }
  }
  return undefined;
}

/** Reads one header slot: the state, or why it is not valid. */
async function readSlot(
  fd: number,
  path: string,
  slot: number,
): Promise<{ state?: JournalState; magic: boolean; why?: string }> {
  const page = new Uint8Array(SLOT);
  const n = pread(fd, page, slot * SLOT, path);
  const magic = new TextDecoder().decode(page.subarray(0, 8)) === MAGIC;
  if (n < SLOT) return { magic, why: "it is cut short" };
  if (!magic) return { magic, why: "no journal magic" };
  const want = await sha256(page.slice(0, HASH_AT));
  const have = [...page.subarray(HASH_AT)].map((b) =>
    b.toString(16).padStart(2, "0")
  ).join("");
  if (want !== have) return { magic, why: "its header checksum is wrong" };
  const length = new DataView(page.buffer).getUint32(8, true);
  if (length > HASH_AT - 12) return { magic, why: "its header is garbled" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      new TextDecoder().decode(page.subarray(12, 12 + length)),
    );
  } catch {
    return { magic, why: "its header is garbled" };
  }
  const bad = invalidState(parsed);
  if (bad) return { magic, why: `its header is impossible (${bad})` };
  return { magic, state: parsed as JournalState };
}

/** What a file at a journal's path holds. */
export type JournalRead =
  | { kind: "empty" }
  /** `damaged`: why the other slot is not valid, when it is a journal's. */
  | { kind: "journal"; state: JournalState; damaged?: string }
  | { kind: "invalid"; why: string };

/** Reads the journal's state from an open descriptor (pure of side effects). */
export async function readJournal(
  fd: number,
  path: string,
): Promise<JournalRead> {
  if (fstatx(fd, path).size === 0) return { kind: "empty" };
  const a = await readSlot(fd, path, 0);
  const b = await readSlot(fd, path, 1);
  const states = [a.state, b.state].filter((s) => s !== undefined);
  if (states.length > 0) {
    const damaged = states.length === 1
      ? [a, b].find((x) => !x.state && x.magic)?.why
      : undefined;
    return {
      kind: "journal",
      state: states.sort((x, y) => y.seq - x.seq)[0],
      ...(damaged ? { damaged } : {}),
    };
  }
  if (!a.magic && !b.magic) {
    return { kind: "invalid", why: "is not a pmemctl rw journal" };
  }
  return {
    kind: "invalid",
    why: `is a damaged pmemctl journal: ${a.why ?? b.why}`,
  };
}

/** An open journal, locked for the run. Close with `using`. */
export class Journal implements Disposable {
  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** The state last made durable. */
    public state: JournalState,
  ) {}

  static #open(path: string, create: boolean): FileHandle {
    const file = new FileHandle(
      path,
      C.O_RDWR | (create ? C.O_CREAT : 0),
      0o600,
    );
    const st = fstatx(file.fd, path);
    if (!st.isFile) {
      file.close();
      throw new UsageError(`--journal ${path}`, "is not a regular file");
    }
    if (create && st.size === 0) {
      // A new file's name must survive a power cut too: sync its directory.
      const dir = path.includes("/")
        ? path.slice(0, path.lastIndexOf("/")) || "/"
        : ".";
      try {
        using d = new FileHandle(dir, C.O_RDONLY | C.O_DIRECTORY);
        fsync(d.fd, dir);
      } catch (e) {
        file.close();
        throw e;
      }
    }
    if (!flock(file.fd, path, true)) {
      file.close();
      throw new SystemError(
        `--journal ${path}`,
        "another pmemctl run is using this journal",
      );
    }
    return file;
  }

  /**
   * Starts a new run's journal at `path`: a new or empty file, or a
   * journal of the same target and range whose run ended or was stopped
   * between windows. A journal holding a window under test is never
   * overwritten (exit 2: resume it); anything else is not a journal
   * (exit 2, untouched).
   */
  static async start(
    path: string,
    target: JournalTarget,
    run: { offset: number; length: number; seed: number },
  ): Promise<Journal> {
    const file = Journal.#open(path, true);
    try {
      const read = await readJournal(file.fd, path);
      let seq = 0;
      if (read.kind === "invalid") {
        throw new UsageError(
          `--journal ${path}`,
          `${read.why}: not overwriting it (name a new file)`,
        );
      }
      if (read.kind === "journal") {
        const s = read.state;
        if (read.damaged) {
          throw new UsageError(
            `--journal ${path}`,
            `is a pmemctl journal with a damaged header slot (${read.damaged}): not overwriting it (pass --resume to finish its run, or name a new file)`,
          );
        }
        if (s.active) {
          throw new UsageError(
            `--journal ${path}`,
            `holds the saved bytes of an interrupted run (window at offset ${s.window}): pass --resume to put them back first`,
          );
        }
        if (
          !sameTarget(s.target, target) || s.offset !== run.offset ||
          s.length !== run.length
        ) {
          throw new UsageError(
            `--journal ${path}`,
            `belongs to another run (${s.target.path} ${s.offset}+${s.length}): not overwriting it (name a new file)`,
          );
        }
        seq = s.seq;
      }
      const j = new Journal(path, file, {
        version: 2,
        seq,
        target,
        ...run,
        window: run.offset,
        windowLength: 0,
        active: false,
      });
      await j.#write({});
      return j;
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** Opens a journal to resume: it must be valid and belong to `target`. */
  static async resume(path: string, target: JournalTarget): Promise<Journal> {
    let file: FileHandle;
    try {
      file = Journal.#open(path, false);
    } catch (e) {
      if (e instanceof SystemError && /ENOENT/.test(e.why)) {
        throw new UsageError(`--journal ${path}`, "no such file to resume");
      }
      throw e;
    }
    try {
      const read = await readJournal(file.fd, path);
      if (read.kind !== "journal") {
        throw new UsageError(
          `--journal ${path}`,
          `${
            read.kind === "empty" ? "is empty" : read.why
          }: nothing to resume, the target was not touched`,
        );
      }
      const s = read.state;
      if (!sameTarget(s.target, target)) {
        throw new UsageError(
          `--journal ${path}`,
          `belongs to ${s.target.path} (${s.target.kind}, ${s.target.size} bytes), not to ${target.path} (${target.kind}, ${target.size} bytes): the target was not touched`,
        );
      }
      return new Journal(path, file, s);
    } catch (e) {
      file.close();
      throw e;
    }
  }

  /** The saved bytes of the active window, checked against their checksum. */
  async saved(): Promise<Uint8Array<ArrayBuffer>> {
    const s = this.state;
    const bytes = new Uint8Array(s.windowLength);
    const n = pread(this.file.fd, bytes, DATA_AT, this.path);
    if (n !== bytes.length || await sha256(bytes) !== s.data) {
      throw new UsageError(
        `--journal ${this.path}`,
        `the saved bytes of the window at offset ${s.window} are ${
          n !== bytes.length ? `cut short (${n} of ${bytes.length})` : "damaged"
        }: nothing was restored, the target was not touched`,
      );
    }
    return bytes;
  }

  /** Saves a window's original bytes; once this returns, the window may be touched. */
  async save(window: number, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
    const n = pwrite(this.file.fd, bytes, DATA_AT, this.path);
    if (n !== bytes.length) {
      throw new SystemError(this.path, "short write of the saved bytes");
    }
    fsync(this.file.fd, this.path);
    await this.#write({
      window,
      windowLength: bytes.length,
      active: true,
      data: await sha256(bytes),
    });
  }

  /** Records that everything before `next` is tested and restored. */
  async advance(next: number): Promise<void> {
    await this.#write({
      window: next,
      windowLength: 0,
      active: false,
      data: undefined,
    });
  }

  /** Makes a new state durable in both slots, the older one first. */
  async #write(change: Partial<JournalState>): Promise<void> {
    const state: JournalState = { ...this.state, ...change };
    if (state.data === undefined) delete state.data;
    for (const seq of [this.state.seq + 1, this.state.seq + 2]) {
      await this.#writeSlot({ ...state, seq });
    }
  }

  async #writeSlot(state: JournalState): Promise<void> {
    const page = new Uint8Array(SLOT);
    const json = new TextEncoder().encode(JSON.stringify(state));
    if (json.length > HASH_AT - 12) {
      throw new UsageError(
        this.path,
        "the target's path is too long for a journal",
      );
    }
    page.set(new TextEncoder().encode(MAGIC), 0);
    new DataView(page.buffer).setUint32(8, json.length, true);
    page.set(json, 12);
    const hash = await sha256(page.slice(0, HASH_AT));
    page.set(hash.match(/../g)!.map((h) => parseInt(h, 16)), HASH_AT);
    const at = (state.seq % 2) * SLOT;
    if (pwrite(this.file.fd, page, at, this.path) !== SLOT) {
      throw new SystemError(this.path, "short write of the journal header");
    }
    fsync(this.file.fd, this.path);
    this.state = state;
  }

  close(): void {
    this.file.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
