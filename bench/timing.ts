/**
 * Timing whole commands for the comparison scripts: wall seconds and peak
 * memory from GNU time (`apt-get install time`).
 *
 * @module
 */

const ROOT = new URL("../", import.meta.url).pathname;

/** What one command run cost. */
export interface Timed {
  seconds: number;
  maxKiB: number;
  stdout: string;
}

/** Runs `command` with sh in the project root under /usr/bin/time. */
export function timed(command: string): Timed {
  const out = new Deno.Command("/usr/bin/time", {
    args: ["-f", "@@ %e %M", "sh", "-c", command],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  const err = new TextDecoder().decode(out.stderr);
  const m = err.match(/@@ ([\d.]+) (\d+)/);
  if (!m) throw new Error(`${command} failed:\n${err}`);
  return {
    seconds: Number(m[1]),
    maxKiB: Number(m[2]),
    stdout: new TextDecoder().decode(out.stdout),
  };
}

/** The median of a few timings. */
export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

/** `0.25 s (0.24–0.27)`: the median of `xs` seconds, with min and max. */
export function spread(xs: number[]): string {
  return `${median(xs).toFixed(2)} s (${Math.min(...xs).toFixed(2)}–${
    Math.max(...xs).toFixed(2)
  })`;
}
