/**
 * Where the CLI writes, as a seam: the process's own streams, or a capture
 * in tests (`run(args, out)`). Only the CLI layer prints.
 *
 * @module
 */

import { canWriteStream, writeStream } from "../../ffi/stream.ts";
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

const streams = new Map<number, boolean>();

/**
 * Whether descriptor `fd` is a stream another process can make
 * non-blocking under us (a pipe, a socket or a terminal), asked once.
 */
function isStream(fd: 0 | 1 | 2): boolean {
  let stream = streams.get(fd);
  if (stream === undefined) {
    try {
      const info = Deno.statSync(`/proc/self/fd/${fd}`);
      stream = info.isFifo === true || info.isSocket === true ||
        (fd === 1 ? Deno.stdout : Deno.stderr).isTerminal();
    } catch {
      stream = false;
    }
    streams.set(fd, stream);
  }
  return stream;
}

/**
 * Writes all of `text` to `fd`. A pipe, socket or terminal gets raw
 * `write(2)` calls (ffi/stream.ts), which wait out EAGAIN when another
 * process made it non-blocking and never write a byte twice; Deno's own
 * stdout cannot promise that (its line buffer can fail a call after part
 * of it went out). Files and /dev/null take Deno's writes; so does every
 * descriptor where FFI is not allowed, and there EAGAIN is an error.
 */
function writeAll(
  file: { writeSync(p: Uint8Array): number },
  fd: 1 | 2,
  text: string,
): void {
  const bytes = encoder.encode(text);
  if (isStream(fd) && canWriteStream()) {
    writeStream(fd, bytes, fd === 1 ? "stdout" : "stderr");
    return;
  }
  for (let done = 0; done < bytes.length;) {
    done += file.writeSync(bytes.subarray(done));
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
      if (e instanceof SystemError) throw e;
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
