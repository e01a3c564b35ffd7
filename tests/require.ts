/**
 * The one way a test may not run: `requireThat(missing, name, fn)`
 * registers a test that needs something (root, qemu, dkms, script(1)…).
 * When `missing` names what is absent, the test is skipped with a loud
 * reason on this machine, and fails under CI=true, where everything must
 * be there. A test never passes by returning early.
 */

/** Whether this run is CI's (where nothing may be skipped). */
export const inCI = Deno.env.get("CI") === "true";

/** Options of {@link requireThat}. */
export interface RequireOptions {
  /** CI may skip it too (only for what CI cannot have, e.g. a denort runtime). */
  optionalInCI?: boolean;
}

/**
 * Registers test `name`. `missing` is undefined when it can run, else the
 * reason it cannot.
 */
export function requireThat(
  missing: string | undefined,
  name: string,
  fn: () => void | Promise<void>,
  options: RequireOptions = {},
): void {
  if (missing === undefined) {
    Deno.test({ name, fn });
  } else if (inCI && !options.optionalInCI) {
    Deno.test({
      name,
      fn: () => {
        throw new Error(`this test must run in CI, but: ${missing}`);
      },
    });
  } else {
    console.warn(`\n*** SKIPPING "${name}": ${missing} ***\n`);
    Deno.test({ name, ignore: true, fn });
  }
}

/** Whether `command` runs here (`command --version` succeeds). */
export function have(command: string, args = ["--version"]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}
