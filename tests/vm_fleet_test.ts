/**
 * A fleet of two, provisioned with the real engine: ansible-playbook on this
 * host reaches two guests over SSH on 127.0.0.1, each booted from a Debian
 * disk through GRUB (tests/vm/disk_guest.ts), installs the pmemctl package
 * there and runs the collection's provision role: memmap= into
 * /etc/default/grub and update-grub, a real reboot through GRUB, plan check,
 * the namespace's map moved onto the pmem, mkfs, a DAX mount and a recorded
 * verify. Asserted: --check --diff on the fresh guests shows the GRUB change
 * and changes nothing; the first run leaves /dev/pmem0 exactly where the
 * plan put it, DAX-mounted; the second run changes nothing and reboots
 * nothing. A third guest, guest-c, has a CXL type-3 device: the cxl_region
 * module turns its free persistent capacity into a region and an fsdax
 * namespace (check mode first, which makes nothing), and leaves it alone
 * the second time. (It is not one of the two that reboot: after a warm
 * reset QEMU 7.2's type-3 device keeps its DVSEC range registers, and the
 * kernel then refuses HDM decoding, "Legacy range registers configuration
 * prevents HDM operation", leaving mem0 disabled.)
 */
import assert from "node:assert/strict";
import { ansible, changedIn, installCollection } from "./ansible.ts";
import { parseMemmap } from "../src/parse/cmdline.ts";
import { debs } from "./packages.ts";
import { have, inCI, requireThat } from "./require.ts";
import { bootDiskGuest, disk, type DiskGuest } from "./vm/disk_guest.ts";

const SUITE = "bookworm";
/** The two that the provision role reboots into memmap= pmem. */
const HOSTS = ["guest-a", "guest-b"];
/** The longest a playbook run may take (the first run boots each guest again). */
const PLAY_SECONDS = 1200;
/** The one with CXL persistent capacity. */
const CXL_HOST = "guest-c";

function missing(): string | undefined {
  if (Deno.env.get("PMEMCTL_VM") === "skip" && !inCI) return "PMEMCTL_VM=skip";
  if (Deno.uid() !== 0) {
    return "needs root (the disk image is made on a loop device)";
  }
  for (
    const [cmd, pkg] of [
      ["qemu-system-x86_64", "qemu-system-x86"],
      ["qemu-img", "qemu-utils"],
      ["ansible-playbook", "ansible"],
      ["ssh", "openssh-client"],
      ["debootstrap", "debootstrap"],
    ]
  ) {
    if (!have(cmd, ["--version"]) && !have(cmd, ["-V"])) {
      return `${cmd} is not installed (apt-get install ${pkg})`;
    }
  }
  const posix =
    "/usr/lib/python3/dist-packages/ansible_collections/ansible/posix";
  try {
    Deno.statSync(posix);
  } catch {
    return "ansible.posix and community.general are missing (apt-get install ansible)";
  }
  return undefined;
}

const SITE = `
- name: Provision persistent memory
  hosts: pmem_hosts
  gather_facts: false
  roles:
    - role: pmemctl.pmem.provision
      vars:
        pmem_size: 256M
        pmem_keep: 1G
        pmem_map: dev
`;

const INSTALL = (deb: string) => `
- name: Install pmemctl
  hosts: all
  gather_facts: false
  tasks:
    - name: Copy the package
      ansible.builtin.copy:
        src: ${deb}
        dest: /var/cache/pmemctl.deb
        mode: "0644"
    - name: Install it
      ansible.builtin.apt:
        deb: /var/cache/pmemctl.deb
`;

const CXL = `
- name: Provision CXL persistent memory
  hosts: cxl_hosts
  gather_facts: false
  tasks:
    - name: A CXL region with an fsdax namespace
      pmemctl.pmem.cxl_region:
        mode: fsdax
`;

function inventory(guests: DiskGuest[], key: string): string {
  const line = (g: DiskGuest) => `${g.name} ansible_port=${g.port}`;
  return [
    "[pmem_hosts]",
    ...guests.filter((g) => HOSTS.includes(g.name)).map(line),
    "",
    "[cxl_hosts]",
    ...guests.filter((g) => g.name === CXL_HOST).map(line),
    "",
    "[all:vars]",
    "ansible_host=127.0.0.1",
    "ansible_user=root",
    `ansible_ssh_private_key_file=${key}`,
    // Keepalives: a guest that reboots drops its TCP connections without a
    // reset through QEMU's user network, and an ssh (or its ControlPersist
    // master) waiting on one would wait for ever; with them it fails in
    // 15 s, which the reboot module expects of a rebooting host.
    "ansible_ssh_common_args='-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=3'",
    "ansible_python_interpreter=/usr/bin/python3",
    "",
  ].join("\n");
}

/** A guest's answer to `cmd`, which must succeed. */
function must(g: DiskGuest, cmd: string): string {
  const r = g.ssh(cmd);
  assert.equal(r.code, 0, `${g.name}: ${cmd}:\n${r.out}`);
  return r.out.trim();
}

/** The start of memmap=SIZE!START in bytes, as the kernel parses it. */
function startOf(param: string): number {
  const { requests, errors } = parseMemmap(param);
  assert.equal(requests.length, 1, param);
  assert.deepEqual(errors, [], param);
  assert.equal(requests[0].kind, "pmem", param);
  return requests[0].start!;
}

requireThat(
  missing(),
  "[vm] fleet: ansible-playbook provisions GRUB-booted guests over SSH: two reserve memmap= pmem (reboot, namespace, DAX mount, verify; --check --diff changes nothing; the second run changes nothing), one provisions CXL capacity with cxl_region",
  async () => {
    const t0 = Date.now();
    const seconds = () => ((Date.now() - t0) / 1000).toFixed(0);
    const { image, key } = disk(SUITE);
    const { pmemctl: deb } = await debs();
    const dir = Deno.makeTempDirSync({ prefix: "pmemctl-fleet-" });
    const guests = [
      ...HOSTS.map((h) => bootDiskGuest(h, image, key, dir)),
      bootDiskGuest(CXL_HOST, image, key, dir, { cxlMiB: 256 }),
    ];
    const pmemGuests = guests.slice(0, HOSTS.length);
    const figures: string[] = [`image and package ready at ${seconds()} s`];
    try {
      const env = {
        ...installCollection(dir),
        ANSIBLE_HOST_KEY_CHECKING: "False",
        ANSIBLE_RETRY_FILES_ENABLED: "False",
        // This run's own ControlPersist sockets, not ~/.ansible/cp's.
        ANSIBLE_SSH_CONTROL_PATH_DIR: `${dir}/cp`,
        // Three TCG guests beside the rest of the suite answer slowly.
        ANSIBLE_TIMEOUT: "60",
      };
      Deno.writeTextFileSync(`${dir}/hosts`, inventory(guests, key));
      Deno.writeTextFileSync(`${dir}/install.yml`, INSTALL(deb));
      Deno.writeTextFileSync(`${dir}/site.yml`, SITE);
      Deno.writeTextFileSync(`${dir}/cxl.yml`, CXL);
      const play = (file: string, ...extra: string[]) => {
        // Bounded: a hang fails the test instead of holding CI.
        const r = ansible("timeout", [
          "-k",
          "10",
          `${PLAY_SECONDS}`,
          "ansible-playbook",
          "-i",
          `${dir}/hosts`,
          ...extra,
          `${dir}/${file}`,
        ], env);
        assert.equal(
          r.code,
          0,
          `${file} ${extra.join(" ")}${
            r.code === 124 ? ` took over ${PLAY_SECONDS} s` : ""
          }: ${r.out}${r.err}\n` +
            guests.map((g) => `${g.name} console:\n${g.console().slice(-2000)}`)
              .join("\n"),
        );
        return r.out;
      };
      const bootIds = () =>
        guests.map((g) => must(g, "cat /proc/sys/kernel/random/boot_id"));
      const grubs = () =>
        guests.map((g) =>
          must(g, "sha256sum /etc/default/grub /boot/grub/grub.cfg")
        );

      await Promise.all(guests.map((g) => g.waitForSsh()));
      figures.push(`three guests up (GRUB, systemd, sshd) at ${seconds()} s`);

      let out = play("install.yml");
      for (const h of [...HOSTS, CXL_HOST]) {
        assert.equal(changedIn(out, h), 2, out);
      }
      figures.push(`package installed at ${seconds()} s`);

      // Check mode on the fresh guests: the GRUB change is shown, nothing
      // is written, nothing reboots.
      const boot0 = bootIds();
      const grub0 = grubs();
      out = play("site.yml", "--check", "--diff");
      for (const h of HOSTS) assert.equal(changedIn(out, h), 1, out);
      assert.equal(
        out.match(/^\+GRUB_CMDLINE_LINUX="memmap=256M!\w+"$/gm)?.length,
        2,
        out,
      );
      assert.deepEqual(grubs(), grub0);
      assert.deepEqual(bootIds(), boot0);
      figures.push(
        `check mode: changed=1 on each, nothing written, at ${seconds()} s`,
      );

      // The first run: memmap=, reboot through GRUB, namespace, DAX, verify.
      out = play("site.yml");
      const first = HOSTS.map((h) => changedIn(out, h));
      // memmap, reboot, namespace, filesystem, mount
      for (const c of first) assert.equal(c, 5, out);
      const boot1 = bootIds();
      pmemGuests.forEach((g, i) => assert.notEqual(boot1[i], boot0[i], g.name));
      for (const g of pmemGuests) {
        const grub = must(g, "grep '^GRUB_CMDLINE_LINUX=' /etc/default/grub");
        const param = grub.match(/memmap=\S+?(?=["\s])/)?.[0];
        assert.ok(param, grub);
        assert.ok(
          must(g, "cat /proc/cmdline").split(" ").includes(param),
          g.name,
        );
        // The planned range is a region that starts where memmap= says, and
        // its namespace, now with its page map on the pmem, is DAX-mounted.
        const check = JSON.parse(
          must(g, `pmemctl plan check '${param}' --json`),
        );
        const region = check.requests[0].region;
        const start = Number(
          must(g, `cat /sys/bus/nd/devices/${region}/resource`),
        );
        assert.equal(start, startOf(param), `${g.name}: ${param}`);
        const ns = JSON.parse(
          must(g, `ndctl list --namespaces --region ${region}`),
        );
        const one = Array.isArray(ns) ? ns[0] : ns;
        assert.equal(one.mode, "fsdax");
        assert.equal(one.map, "dev");
        assert.match(
          must(g, "findmnt -no SOURCE,OPTIONS /mnt/pmem"),
          new RegExp(`^/dev/${one.blockdev}\\s.*\\bdax\\b`),
        );
      }
      figures.push(
        `first run: changed=${
          first.join("/")
        }, one reboot each, at ${seconds()} s`,
      );

      // The second run: nothing changes, nothing reboots.
      out = play("site.yml");
      for (const h of HOSTS) assert.equal(changedIn(out, h), 0, out);
      assert.deepEqual(bootIds(), boot1);
      figures.push(`second run: changed=0/0, no reboot, at ${seconds()} s`);

      // CXL on guest-c: check mode makes nothing; the run makes a region
      // and a namespace; the next run leaves them alone.
      const b = guests[HOSTS.length];
      const cxlRegions = () => {
        const out = must(b, "cxl list --regions 2>/dev/null");
        return [JSON.parse(out || "[]")].flat().length;
      };
      assert.equal(cxlRegions(), 0);
      out = play("cxl.yml", "--check");
      assert.equal(changedIn(out, CXL_HOST), 1, out);
      assert.equal(cxlRegions(), 0);
      out = play("cxl.yml");
      assert.equal(changedIn(out, CXL_HOST), 1, out);
      const made = JSON.parse(must(b, "pmemctl list --json")).regions.filter((
        r: { provider?: string },
      ) => r.provider === "CXL");
      assert.equal(made.length, 1, JSON.stringify(made));
      assert.equal(cxlRegions(), 1);
      assert.equal(made[0].namespaces[0].mode, "fsdax");
      assert.match(made[0].namespaces[0].blockdev, /^pmem\d+$/);
      out = play("cxl.yml");
      assert.equal(changedIn(out, CXL_HOST), 0, out);
      figures.push(
        `CXL: check mode made nothing, then changed=1, then 0, at ${seconds()} s`,
      );
      console.log(`fleet: ${figures.join("; ")} (5 boots in all)`);
    } finally {
      await Promise.all(guests.map((g) => g.stop()));
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
