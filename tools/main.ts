/**
 * How every script under tools/ ends: its work, or one line on stderr,
 * `NAME: what: why`, and an exit code as pmemctl's own (2 for a usage error,
 * 3 for anything the machine lacks or refuses) — never a stack trace.
 *
 * @module
 */

/** A usage error of a tool script: exit 2. */
export class ToolUsage extends Error {}

/** A failure the script has already put in one line: exit 3. */
export class ToolError extends Error {}

/** The last non-empty line of a command's stderr: what it says went wrong. */
export function lastLine(text: string): string {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).at(-1) ?? "";
}

/** One line for `e`, as the tool's failure. */
export function describe(e: unknown): string {
  const spawn = e instanceof Deno.errors.NotFound &&
    e.message.match(/^Failed to spawn '([^']+)'/);
  if (spawn) return `${spawn[1]}: not installed`;
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n")[0];
}

/** Runs `work` as the tool `name`'s main: exits 0, or 2/3 with one line. */
export async function toolMain(
  name: string,
  work: () => void | Promise<void>,
): Promise<void> {
  try {
    await work();
  } catch (e) {
    console.error(`${name}: ${describe(e)}`);
    Deno.exit(e instanceof ToolUsage ? 2 : 3);
  }
}
