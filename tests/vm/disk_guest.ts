/**
 * Guests that boot like a real machine: from the cached Debian disk of
 * tools/roots.sh (`disk SUITE`) through SeaBIOS and GRUB, with systemd and
 * sshd, each on its own copy-on-write overlay, reached over SSH on
 * 127.0.0.1 through QEMU user networking (`hostfwd`). A reboot inside the
 * guest resets the machine, and GRUB boots the command line the guest's
 * own update-grub wrote.
 */
import assert from "node:assert/strict";
import { cxlDevice } from "./vm.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The cached disk of `suite`, built by tools/roots.sh when missing. */
export function disk(suite: string): { image: string; key: string } {
  const r = new Deno.Command("bash", {
    args: [`${ROOT}tools/roots.sh`, "disk", suite],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  assert.equal(r.code, 0, text(r.stdout) + text(r.stderr));
  const dir = `${ROOT}.vm-cache/roots/disk-${suite}`;
  return { image: `${dir}/disk.qcow2`, key: `${dir}/id_ed25519` };
}

/** A free TCP port on 127.0.0.1 (free when asked). */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running guest. */
export interface DiskGuest {
  name: string;
  port: number;
  /** The SSH options that reach it as root. */
  sshArgs: string[];
  /** Runs `cmd` in the guest through sh; its code and output. */
  ssh(cmd: string): { code: number; out: string };
  /** What the guest printed on its serial console so far. */
  console(): string;
  /** Waits for sshd (after a boot), at most `seconds`. */
  waitForSsh(seconds?: number): Promise<void>;
  /** Powers the guest off (kills QEMU) and removes its overlay. */
  stop(): Promise<void>;
}

/**
 * Boots `name` from an overlay of `image` in `dir`, with `memoryMiB` of RAM
 * and, when `cxlMiB` is given, a CXL type-3 device of that much persistent
 * capacity (its backing files in `dir` too).
 */
export function bootDiskGuest(
  name: string,
  image: string,
  key: string,
  dir: string,
  options: { memoryMiB?: number; cxlMiB?: number } = {},
): DiskGuest {
  const memoryMiB = options.memoryMiB ?? 2048;
  let machine = ["-m", `${memoryMiB}`];
  const files: string[] = [];
  if (options.cxlMiB) {
    const file = `${dir}/${name}.cxl`;
    files.push(file, `${file}.lsa`);
    for (const f of files) {
      Deno.writeFileSync(f, new Uint8Array());
      Deno.truncateSync(f, options.cxlMiB * 2 ** 20);
    }
    machine = cxlDevice(file, memoryMiB, options.cxlMiB);
  }
  const overlay = `${dir}/${name}.qcow2`;
  const log = `${dir}/${name}.console`;
  const made = new Deno.Command("qemu-img", {
    args: ["create", "-q", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay],
    stderr: "piped",
  }).outputSync();
  assert.ok(made.success, text(made.stderr));
  const port = freePort();
  const child = new Deno.Command("qemu-system-x86_64", {
    args: [
      "-accel",
      "tcg",
      "-smp",
      "1",
      "-display",
      "none",
      "-monitor",
      "none",
      "-serial",
      `file:${log}`,
      "-drive",
      `file=${overlay},if=none,id=disk0,format=qcow2`,
      "-device",
      "virtio-blk-pci,drive=disk0",
      "-netdev",
      `user,id=net0,hostfwd=tcp:127.0.0.1:${port}-:22`,
      "-device",
      "virtio-net-pci,netdev=net0",
      // After the disk and the NIC: a CXL host bridge takes later devices.
      ...machine,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const sshArgs = [
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "LogLevel=ERROR",
    "-o",
    "ConnectTimeout=5",
    "-i",
    key,
    "-p",
    `${port}`,
  ];
  const ssh = (cmd: string) => {
    const r = new Deno.Command("ssh", {
      args: [...sshArgs, "root@127.0.0.1", cmd],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).outputSync();
    return { code: r.code, out: text(r.stdout) + text(r.stderr) };
  };
  const consoleText = () => {
    try {
      return Deno.readTextFileSync(log);
    } catch {
      return "";
    }
  };
  let exited = false;
  let qemuSaid = "";
  const done = child.output().then((o) => {
    exited = true;
    qemuSaid = text(o.stderr);
  });
  return {
    name,
    port,
    sshArgs,
    ssh,
    console: consoleText,
    async waitForSsh(seconds = 600) {
      const until = Date.now() + seconds * 1000;
      while (Date.now() < until) {
        assert.ok(
          !exited,
          `${name}: QEMU exited: ${qemuSaid}; console:\n${
            consoleText().slice(-3000)
          }`,
        );
        if (ssh("true").code === 0) return;
        await new Promise((r) => setTimeout(r, 2000));
      }
      assert.fail(
        `${name}: no ssh after ${seconds} s; console:\n${
          consoleText().slice(-3000)
        }`,
      );
    },
    async stop() {
      if (!exited) child.kill("SIGKILL");
      await done;
      for (const f of [overlay, ...files]) Deno.removeSync(f);
    },
  };
}
