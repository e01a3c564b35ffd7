/**
 * Where the CLI writes, as a seam: the process's own streams, or a capture
 * in tests (`run(args, out)`). Only the CLI layer prints.
 *
 * @module
 */

import { sleepSync } from "../../ffi/sleep.ts";
import { SystemError } from "../errors.ts";
import { escapeControls } from "../parse/numbers.ts";

/** The CLI's outputs and what it asks of the terminal. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether descriptor 0, 1 or 2 is a terminal. */
  isTerminal: (fd: 0 | 1 | 2) => boolean;
}

const encoder = new TextEncoder();

/** What Linux writes to a pipe all at once or not at all (PIPE_BUF). */
const PIPE_BUF = 4096;

const pipes = new Map<number, boolean>();

/** Whether descriptor `fd` is a pipe (asked once). */
function isPipe(fd: number): boolean {
  let pipe = pipes.get(fd);
  if (pipe === undefined) {
    try {
      pipe = Deno.statSync(`/proc/self/fd/${fd}`).isFifo === true;
    } catch {
      pipe = false;
    }
    pipes.set(fd, pipe);
  }
  return pipe;
}

/**
 * Writes all of `text` to `fd`. To a pipe it goes in writes of at most
 * PIPE_BUF bytes, each all or nothing: if another process made the pipe
 * non-blocking (O_NONBLOCK lives on the open file both share), a write
 * that finds it full (EAGAIN) wrote nothing and is repeated a millisecond
 * later. Deno's own writes go on after a partial write and lose its count
 * when the next one fails, so a larger write could not be repeated
 * without writing bytes twice (seen: the man page doubled).
 */
function writeAll(
  file: { writeSync(p: Uint8Array): number },
  fd: number,
  text: string,
): void {
  const bytes = encoder.encode(text);
  const pipe = isPipe(fd);
  const step = pipe ? PIPE_BUF : bytes.length;
  for (let done = 0; done < bytes.length;) {
    try {
      done += file.writeSync(bytes.subarray(done, done + step));
    } catch (e) {
      if (!(pipe && e instanceof Deno.errors.WouldBlock)) throw e;
      sleepSync(1);
    }
  }
}

/**
 * The process's own stdout and stderr. Stdout that cannot be written (a
 * terminal that hung up: EIO) is a system error like any other, reported
 * in one line; a closed pipe stays a BrokenPipe (`| head` is no failure).
 * Stderr that cannot be written leaves nothing to report it on: the exit
 * code says the rest.
 */
export const processOutput: Output = {
  stdout: (text) => {
    try {
      writeAll(Deno.stdout, 1, text);
    } catch (e) {
      if (e instanceof Deno.errors.BrokenPipe) throw e;
      throw new SystemError("stdout", (e as Error).message, { cause: e });
    }
  },
  stderr: (text) => {
    try {
      writeAll(Deno.stderr, 2, text);
    } catch { /* nowhere left to say it */ }
  },
  isTerminal: (fd) =>
    (fd === 0 ? Deno.stdin : fd === 1 ? Deno.stdout : Deno.stderr)
      .isTerminal(),
};

/** A capture for tests: what was written, and terminals as asked. */
export function captureOutput(
  terminals: { stdin?: boolean; stdout?: boolean; stderr?: boolean } = {},
): Output & { out: string; err: string } {
  const o = {
    out: "",
    err: "",
    stdout: (text: string) => {
      o.out += text;
    },
    stderr: (text: string) => {
      o.err += text;
    },
    isTerminal: (fd: 0 | 1 | 2) =>
      [terminals.stdin, terminals.stdout, terminals.stderr][fd] ?? false,
  };
  return o;
}

/** Prints a warning line (`pmemctl: warning: …`), control characters escaped. */
export function warn(out: Output, text: string): void {
  out.stderr(`pmemctl: warning: ${escapeControls(text)}\n`);
}

/**
 * Prints text for people (a table, a report): every control character but
 * newline shown as `\\xNN`. Fields that come from outside (paths, mount
 * points) are escaped whole by their renderers (escapeField), newlines too.
 */
export function printText(out: Output, text: string): void {
  out.stdout(escapeControls(text));
}

/** Prints one JSON document (JSON escapes control characters itself). */
export function printJson(out: Output, doc: unknown): void {
  out.stdout(JSON.stringify(doc, null, 2) + "\n");
}

/** The progress bar's sink: stderr of `out`, drawn only when it is a terminal. */
export function progressSink(out: Output) {
  return { write: out.stderr, isTerminal: () => out.isTerminal(2) };
}
