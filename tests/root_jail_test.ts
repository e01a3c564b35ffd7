/**
 * `--root DIR` is a jail: a captured tree from someone else never makes
 * pmemctl read the host. Trees with links out of them (absolute and
 * relative) to a root-only file holding a marker, link loops, a FIFO and a
 * device node: the marker never appears in stdout or stderr, nothing blocks,
 * the runs exit as documented, and the committed fixtures still read.
 * Run as root, as users run it on sosreports.
 */
import assert from "node:assert/strict";
import { pmemctl } from "./helpers.ts";
import { requireThat } from "./require.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

function copyTree(from: string, to: string): void {
  new Deno.Command("cp", { args: ["-a", `${from}/.`, to] }).outputSync();
}

const root = Deno.uid() === 0
  ? undefined
  : "needs root (mknod, and a root-only marker file)";

requireThat(
  root,
  "links out of a captured tree, loops, a FIFO and a device node are never read",
  async () => {
    const marker = `PMEMCTL-HOST-SECRET-${crypto.randomUUID()}`;
    const secretDir = Deno.makeTempDirSync({ prefix: "pmemctl-secret-" });
    const secret = `${secretDir}/shadow`;
    Deno.writeTextFileSync(secret, `memmap=${marker}\n${marker}\n`);
    Deno.chmodSync(secret, 0o600);
    const tree = Deno.makeTempDirSync({ prefix: "pmemctl-tree-" });
    try {
      copyTree(`${FIXTURES}legacy`, tree);
      const depth = tree.split("/").length + 2;
      const up = "../".repeat(depth);
      // Absolute and relative links to the host's secret, where list reads.
      Deno.removeSync(`${tree}/proc/cmdline`);
      Deno.symlinkSync(secret, `${tree}/proc/cmdline`);
      Deno.removeSync(`${tree}/dmesg.txt`);
      Deno.symlinkSync(`${up}${secret.slice(1)}`, `${tree}/dmesg.txt`);
      Deno.removeSync(`${tree}/proc/modules`);
      Deno.symlinkSync(`../../${up}${secret.slice(1)}`, `${tree}/proc/modules`);
      // A link loop where a sysfs directory should be.
      Deno.removeSync(`${tree}/sys/firmware`, { recursive: true });
      Deno.symlinkSync("loop-b", `${tree}/sys/firmware`);
      Deno.symlinkSync("firmware", `${tree}/sys/loop-b`);
      // A FIFO and a device node where files should be.
      Deno.removeSync(`${tree}/proc/iomem`);
      await new Deno.Command("mkfifo", { args: [`${tree}/proc/iomem`] })
        .output();
      Deno.removeSync(`${tree}/proc/self/mountinfo`);
      await new Deno.Command("mknod", {
        args: [`${tree}/proc/self/mountinfo`, "c", "1", "5"], // /dev/zero
      }).output();

      for (
        const args of [
          ["list", "--root", tree],
          ["list", "--root", tree, "--json"],
          ["kmod", "status", "--root", tree],
          ["kmod", "status", "--root", tree, "--json"],
        ]
      ) {
        const t0 = performance.now();
        const r = await pmemctl(...args);
        assert.ok(performance.now() - t0 < 30000, "nothing blocked");
        const all = r.stdout + r.stderr;
        assert.doesNotMatch(all, new RegExp(marker), args.join(" "));
        assert.doesNotMatch(all, /Traceback|^\s+at /m);
        // Missing sources are warnings, not errors.
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      }
      const r = await pmemctl("list", "--root", tree);
      assert.match(r.stderr, /sys\/firmware\/memmap: a loop of links in /);
      assert.match(
        r.stderr,
        /\/proc\/iomem in .* is not a regular file: not read/,
      );
      assert.match(
        r.stderr,
        /\/proc\/self\/mountinfo in .* is not a regular file: not read/,
      );
      assert.match(r.stderr, /dmesg.txt: a link or path leads out of /);
      assert.match(r.stderr, /no kernel command line under /);
      // libnvdimm's sysfs in the tree (links inside it) still reads.
      assert.match(r.stdout, /namespace0\.0 fsdax/);
      const k = await pmemctl("kmod", "status", "--root", tree);
      assert.match(k.stderr, /proc\/modules: a link or path leads out of /);
    } finally {
      Deno.removeSync(tree, { recursive: true });
      Deno.removeSync(secretDir, { recursive: true });
    }
  },
);

Deno.test("values from a tree reach the terminal escaped and bounded", async () => {
  const tree = Deno.makeTempDirSync({ prefix: "pmemctl-tree-" });
  try {
    Deno.mkdirSync(`${tree}/proc`, { recursive: true });
    const evil = `\x1b]0;owned\x07\x1b[2J${"A".repeat(5000)}`;
    Deno.writeTextFileSync(
      `${tree}/proc/cmdline`,
      `memmap=${evil}!1G memmap=bad\x1b[31m\n`,
    );
    const r = await pmemctl("list", "--root", tree, "--dmesg", "/dev/null");
    assert.equal(r.code, 1, r.stderr);
    const printed = r.stdout + r.stderr;
    assert.ok(
      !printed.includes("\x1b") && !printed.includes("\x07"),
      printed.slice(0, 200),
    );
    assert.match(r.stderr, /\\x1b\]0;owned\\x07/);
    for (const line of r.stderr.split("\n")) {
      assert.ok(line.length < 1000, line.slice(0, 80));
    }
  } finally {
    Deno.removeSync(tree, { recursive: true });
  }
});
