/** Helpers shared by the tests that run pmemctl as a user would. */

export const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** Runs pmemctl as a user would, in its own process. */
export async function pmemctl(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
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
