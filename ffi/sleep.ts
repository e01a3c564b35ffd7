/**
 * A synchronous pause, for loops that wait on a descriptor without an event
 * loop (a non-blocking stream's EAGAIN). No imports: the CLI's output uses
 * it without loading libc.
 *
 * @module
 */

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread for about `ms` milliseconds. */
export function sleepSync(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}
