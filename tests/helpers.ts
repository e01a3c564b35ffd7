/** Helpers shared by the tests that run pmemctl as a user would. */

import {
  deepStrictEqual as assertDeepEqual,
  equal as assertEqual,
  ok as assertOk,
} from "node:assert/strict";
import { parseProcLocks } from "../src/safety/lock.ts";

export const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Runs pmemctl as a user would, in its own process. */
export async function pmemctl(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    // As bin/pmemctl runs it: no deno.json, so nothing at run time may need it.
    args: ["run", "-A", "--no-config", CLI, ...args],
    stdin: "null",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
  };
}

/** Starts pmemctl as a user would, in its own process, with stdout and stderr piped. */
export function spawn(...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/**
 * Sends SIGINT to a running pmemctl and asserts it stops within a second
 * with exit 3; its stdout and stderr.
 */
export async function interruptWithin1s(
  child: Deno.ChildProcess,
): Promise<{ stdout: string; stderr: string }> {
  const sent = performance.now();
  child.kill("SIGINT");
  const out = await child.output();
  const took = performance.now() - sent;
  const stderr = new TextDecoder().decode(out.stderr);
  assertEqual(out.code, 3, stderr);
  assertOk(took < 1000, `stopped ${took.toFixed(0)} ms after SIGINT`);
  return { stdout: new TextDecoder().decode(out.stdout), stderr };
}

/**
 * Whether an rw journal's newest header (the valid slot with the highest
 * sequence number) says a window is under test.
 */
export function journalActive(journal: string): boolean {
  const bytes = new Uint8Array(8192);
  try {
    using f = Deno.openSync(journal);
    for (let n = 0; n < bytes.length;) {
      const got = f.readSync(bytes.subarray(n));
      if (got === null) break;
      n += got;
    }
  } catch {
    return false;
  }
  let best = -1;
  let active = false;
  for (const slot of [0, 4096]) {
    const head = new TextDecoder().decode(bytes.subarray(slot, slot + 4064));
    const seq = Number(head.match(/"seq":(\d+)/)?.[1] ?? -1);
    if (seq > best) {
      best = seq;
      active = head.includes('"active":true');
    }
  }
  return active;
}

/**
 * Waits until process `pid` holds a flock(2) lock on `path` (pmemctl has
 * opened and locked its target), as /proc/locks says; false after
 * `limitMs`. The inode matters: Deno takes flocks of its own at start-up.
 */
export async function waitForLock(
  pid: number,
  path: string,
  limitMs = 30000,
): Promise<boolean> {
  return await lockHolder(path, pid, limitMs) !== undefined;
}

/**
 * The pid holding a flock(2) lock on `path` (only `pid`, if given) once
 * /proc/locks shows one; undefined after `limitMs`.
 */
export async function lockHolder(
  path: string,
  pid?: number,
  limitMs = 30000,
): Promise<number | undefined> {
  const ino = Deno.statSync(path).ino;
  for (let waited = 0; waited < limitMs; waited += 5) {
    const lock = parseProcLocks(Deno.readTextFileSync("/proc/locks")).find((
      l,
    ) =>
      (pid === undefined || l.pid === pid) && l.kind === "FLOCK" &&
      !l.waiting && l.ino === ino
    );
    if (lock) return lock.pid;
    await new Promise((r) => setTimeout(r, 5));
  }
  return undefined;
}

const MiB = 2 ** 20;

/**
 * A temporary file of `size` bytes in /dev/shm (tmpfs: no disk writeback in
 * the timings), zeros or random bytes.
 */
export function shmFile(
  size: number,
  random = false,
  prefix = "pmemctl-test-",
): string {
  const path = Deno.makeTempFileSync({ dir: "/dev/shm", prefix });
  Deno.truncateSync(path, size);
  if (random) {
    using f = Deno.openSync(path, { write: true });
    const chunk = new Uint8Array(MiB);
    for (let i = 0; i < size; i += MiB) {
      for (let j = 0; j < MiB; j += 65536) {
        crypto.getRandomValues(chunk.subarray(j, j + 65536));
      }
      f.writeSync(chunk.subarray(0, Math.min(MiB, size - i)));
    }
  }
  return path;
}

/** The SHA-256 of a file, in hex. */
export async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", Deno.readFileSync(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** `pmemctl verify PATH --mode rw --journal JOURNAL --resume`. */
export function resumeRw(path: string, journal: string) {
  return pmemctl(
    "verify",
    path,
    "--mode",
    "rw",
    "--journal",
    journal,
    "--resume",
  );
}

/** A scratch copy (links kept) of the captured tree tests/fixtures/NAME, to change. */
export function copyFixture(name: string): string {
  const dir = Deno.makeTempDirSync({ prefix: "pmemctl-tree-" });
  const cp = new Deno.Command("cp", {
    args: [
      "-a",
      `${new URL("./fixtures/", import.meta.url).pathname}${name}/.`,
      dir,
    ],
  }).outputSync();
  if (!cp.success) throw new Error(`cp of fixture ${name} failed`);
  return dir;
}

/**
 * Asserts every device `daxctl list` printed (`daxctl`) is a namespace's
 * `daxdev` in a `list --json` document, with daxctl's keys and values.
 */
// deno-lint-ignore no-explicit-any
export function assertDaxctlAgrees(daxctl: any[], list: any): void {
  // deno-lint-ignore no-explicit-any
  const ours = list.regions.flatMap((r: any) => r.namespaces)
    // deno-lint-ignore no-explicit-any
    .map((n: any) => n.daxdev).filter(Boolean);
  for (const d of daxctl) {
    // deno-lint-ignore no-explicit-any
    const mine = ours.find((o: any) => o.chardev === d.chardev);
    if (!mine) throw new Error(`${d.chardev}: not in list --json`);
    const picked = Object.fromEntries(
      Object.keys(d).filter((k) => k in mine).map((k) => [k, mine[k]]),
    );
    assertDeepEqual(picked, d);
  }
}

/** What `promtool check metrics` says of `text`: whether it passed, and its remarks. */
export async function promtoolCheck(
  text: string,
): Promise<{ ok: boolean; said: string }> {
  const lint = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = lint.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const res = await lint.output();
  return {
    ok: res.success,
    said: new TextDecoder().decode(res.stdout) +
      new TextDecoder().decode(res.stderr),
  };
}
