import assert from "node:assert/strict";
import { detectSignature, SIGNATURE_BYTES } from "./signature.ts";

/** Formats a file with a real mkfs/mkswap and returns its first bytes. */
function formatted(command: string[], size = 64 << 20): Uint8Array | undefined {
  const path = Deno.makeTempFileSync({ dir: "/dev/shm" });
  try {
    Deno.truncateSync(path, size);
    const out = new Deno.Command(command[0], {
      args: [...command.slice(1), path],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    if (!out.success) return undefined;
    return Deno.readFileSync(path).slice(0, SIGNATURE_BYTES);
  } catch {
    return undefined; // the tool is not installed
  } finally {
    Deno.removeSync(path);
  }
}

Deno.test("signatures written by the real tools are found", () => {
  const cases: [string[], string][] = [
    [["mkfs.ext4", "-q", "-F", "-b", "4096"], "ext2/3/4"],
    [["mkfs.ext2", "-q", "-F"], "ext2/3/4"],
    [["mkswap"], "swap"],
  ];
  let ran = 0;
  for (const [cmd, name] of cases) {
    const head = formatted(cmd);
    if (!head) continue;
    ran++;
    assert.equal(detectSignature(head), name, cmd.join(" "));
  }
  if (Deno.env.get("CI") === "true") {
    assert.equal(
      ran,
      cases.length,
      "e2fsprogs and util-linux are installed in CI",
    );
  }
});

Deno.test("zeros, random bytes and short heads carry no signature", () => {
  assert.equal(detectSignature(new Uint8Array(SIGNATURE_BYTES)), undefined);
  assert.equal(detectSignature(new Uint8Array(10)), undefined);
  const noise = new Uint8Array(SIGNATURE_BYTES);
  for (let i = 0; i < noise.length; i += 65536) {
    crypto.getRandomValues(noise.subarray(i, i + 65536));
  }
  noise[1080] = 0; // keep the ext magic from appearing by chance
  assert.equal(detectSignature(noise), undefined);
  const xfs = new Uint8Array(4096);
  xfs.set(new TextEncoder().encode("XFSB"));
  assert.equal(detectSignature(xfs), "xfs");
});
