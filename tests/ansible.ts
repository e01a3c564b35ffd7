/**
 * The Ansible engine for the collection's tests: runs its commands without
 * colour, and builds and installs ansible/pmemctl/pmem as a user does.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Runs an ansible command; its code, stdout and stderr. */
export function ansible(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): { code: number; out: string; err: string } {
  const r = new Deno.Command(cmd, {
    args,
    env: { ANSIBLE_NOCOLOR: "1", ANSIBLE_LOCALHOST_WARNING: "0", ...env },
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
}

/**
 * Builds the collection with ansible-galaxy into `dir` and installs the
 * tarball in `dir`/collections; the environment that finds it.
 */
export function installCollection(dir: string): Record<string, string> {
  let r = ansible("ansible-galaxy", [
    "collection",
    "build",
    `${ROOT}ansible/pmemctl/pmem`,
    "--output-path",
    dir,
  ]);
  assert.equal(r.code, 0, r.out + r.err);
  r = ansible("ansible-galaxy", [
    "collection",
    "install",
    "--no-deps",
    `${dir}/pmemctl-pmem-0.1.0.tar.gz`,
    "-p",
    `${dir}/collections`,
  ]);
  assert.equal(r.code, 0, r.out + r.err);
  return { ANSIBLE_COLLECTIONS_PATH: `${dir}/collections` };
}

/** `changed=` of `host` in ansible-playbook's PLAY RECAP. */
export function changedIn(out: string, host: string): number {
  const m = out.match(
    new RegExp(`^${host}\\s+: ok=\\d+\\s+changed=(\\d+)`, "m"),
  );
  assert.ok(m, `no recap for ${host} in:\n${out}`);
  return Number(m[1]);
}
