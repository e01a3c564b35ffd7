/**
 * What pmemctl remembers between runs: the last `verify --record` result
 * per target, in one small JSON file (`/var/lib/pmemctl/state.json`, or
 * `--state FILE`, or `PMEMCTL_STATE`). Written atomically under a lock; a
 * missing file is empty, a corrupt one is a warning and counts as empty (and
 * is replaced by the next record, never patched).
 *
 * @module
 */

import { writeFileAtomic } from "../safety/atomic.ts";
import { readCapped } from "../bounded.ts";

/** The default state file. */
export const DEFAULT_STATE = "/var/lib/pmemctl/state.json";

/** One verify run, as recorded. */
export interface VerifyRecord {
  /** The target as resolved (`/dev/pmem0`, not a link to it). */
  target: string;
  mode: string;
  result: "pass" | "fail";
  /** When the run ended, ISO 8601 UTC. */
  time: string;
  offset: number;
  length: number;
  bytes_checked: number;
  mismatch_count: number;
  seed?: number;
}

/** The state file's content. */
export interface State {
  version: 1;
  /** The last record per target and mode: `"/dev/pmem0 scan"`. */
  verify: Record<string, VerifyRecord>;
}

/**
 * The state file to use: the flag; else, for a captured tree (`--root`),
 * the tree's own; else `PMEMCTL_STATE`, else the default.
 */
export function statePath(flag?: string, root?: string): string {
  if (flag !== undefined) return flag;
  if (root !== undefined) return `${root.replace(/\/+$/, "")}${DEFAULT_STATE}`;
  return Deno.env.get("PMEMCTL_STATE") ?? DEFAULT_STATE;
}

const empty = (): State => ({ version: 1, verify: {} });

/** Checks a parsed state file's shape (pure); undefined when it is not one. */
export function asState(value: unknown): State | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.version !== 1 || typeof v.verify !== "object" || v.verify === null) {
    return undefined;
  }
  const out = empty();
  for (const [key, r] of Object.entries(v.verify as Record<string, unknown>)) {
    const rec = r as Partial<VerifyRecord>;
    if (
      typeof rec !== "object" || rec === null ||
      typeof rec.target !== "string" || typeof rec.mode !== "string" ||
      (rec.result !== "pass" && rec.result !== "fail") ||
      typeof rec.time !== "string" || Number.isNaN(Date.parse(rec.time)) ||
      ![rec.offset, rec.length, rec.bytes_checked, rec.mismatch_count].every(
        (n) => Number.isSafeInteger(n) && (n as number) >= 0,
      )
    ) {
      return undefined;
    }
    out.verify[key] = rec as VerifyRecord;
  }
  return out;
}

/** Reads the state file: its content, and a warning when it is unreadable or corrupt. */
export function readState(path: string): { state: State; warning?: string } {
  let text: string;
  try {
    text = readCapped(path, 4 * 2 ** 20);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { state: empty() };
    return {
      state: empty(),
      warning: `${path}: cannot read pmemctl's state (${
        (e as Error).message.split("\n")[0]
      }): no recorded results`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const state = asState(parsed);
  if (!state) {
    return {
      state: empty(),
      warning:
        `${path}: pmemctl's state file is corrupt: recorded results ignored (the next verify --record replaces it)`,
    };
  }
  return { state };
}

/** Records `record` (replacing the previous one of its target and mode); returns a warning if the old file was corrupt. */
export function recordVerify(
  path: string,
  record: VerifyRecord,
): string | undefined {
  const slash = path.lastIndexOf("/");
  if (slash > 0) Deno.mkdirSync(path.slice(0, slash), { recursive: true });
  // One writer at a time: read, change, replace under a lock beside the file.
  using lock = Deno.openSync(`${path}.lock`, {
    write: true,
    create: true,
    mode: 0o644,
  });
  lock.lockSync(true);
  const { state, warning } = readState(path);
  state.verify[`${record.target} ${record.mode}`] = record;
  writeFileAtomic(path, JSON.stringify(state, null, 2) + "\n");
  return warning;
}
