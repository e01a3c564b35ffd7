/**
 * The Debian packages tools/deb.ts builds, once per test process, into a
 * scratch directory (deb_test and the fleet test install them).
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

let built: Promise<{ pmemctl: string; dkms: string }> | undefined;

/** The paths of the pmemctl and pmem-legacy-dkms packages, built once. */
export function debs(): Promise<{ pmemctl: string; dkms: string }> {
  built ??= (async () => {
    const out = Deno.makeTempDirSync({ prefix: "pmemctl-debs-" });
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${ROOT}tools/deb.ts`, "--out", out],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, text(r.stderr));
    const [pmemctl, dkms] = text(r.stdout).trim().split("\n");
    return { pmemctl, dkms };
  })();
  return built;
}
