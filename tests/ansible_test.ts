/**
 * The Ansible collection (ansible/pmemctl/pmem) with the real engine:
 * ansible-galaxy builds and installs it, ansible-test's offline sanity tests
 * pass, ansible-doc renders each module,
 * and ansible-playbook runs the modules on this host over pmemctl: memmap
 * plans and writes a GRUB file (then leaves it alone, and in check mode
 * only shows the diff), facts reads a captured tree, verify passes rw and
 * refuses destructive without force.
 */
import assert from "node:assert/strict";
import { ansible, changedIn, installCollection } from "./ansible.ts";
import { have, requireThat } from "./require.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const run = ansible;

const PLAYBOOK = (dir: string, check: boolean) => `
- hosts: localhost
  connection: local
  gather_facts: false
  vars:
    pmemctl: ${ROOT}bin/pmemctl
  tasks:
    - name: reserve 256M
      pmemctl.pmem.memmap:
        size: 256M
        keep: 1G
        grub_file: ${dir}/grub
        update_grub: false
        dmesg: ${ROOT}tests/fixtures/legacy/dmesg.txt
        pmemctl: "{{ pmemctl }}"
      register: memmap
    - name: facts of a captured tree
      pmemctl.pmem.facts:
        root: ${ROOT}tests/fixtures/legacy
        pmemctl: "{{ pmemctl }}"
    - name: rw on a file
      pmemctl.pmem.verify:
        path: ${dir}/target
        mode: rw
        pmemctl: "{{ pmemctl }}"
      register: rw
    - name: destructive without force
      pmemctl.pmem.verify:
        path: ${dir}/target
        mode: destructive
        pmemctl: "{{ pmemctl }}"
      register: destructive
      ignore_errors: true
${
  check ? "" : `    - name: keep what happened
      ansible.builtin.copy:
        content: "{{ {'memmap': memmap, 'pmem': ansible_facts.pmem, 'rw': rw, 'destructive': destructive} | to_json }}"
        dest: ${dir}/out.json
      changed_when: false
`
}`;

requireThat(
  have("ansible-playbook") && have("ansible-galaxy") && have("ansible-doc")
    ? undefined
    : "needs ansible-core (apt-get install ansible-core)",
  "ansible: the collection builds, ansible-doc renders its modules, and a playbook plans memmap= into GRUB once (then changed=0; --check --diff shows it and changes nothing), reads facts and runs verify",
  () => {
    const dir = Deno.makeTempDirSync({ prefix: "pmemctl-ansible-" });
    try {
      const env = installCollection(dir);
      let r;
      // ansible-test sanity: the tests that need no venv from PyPI (offline).
      const python = run("python3", [
        "-c",
        "import sys; print('%d.%d' % sys.version_info[:2])",
      ]).out.trim();
      for (
        const t of [
          "compile",
          "shebang",
          "future-import-boilerplate",
          "metaclass-boilerplate",
        ]
      ) {
        const s = new Deno.Command("ansible-test", {
          args: ["sanity", "--test", t, "--python", python],
          cwd: `${dir}/collections/ansible_collections/pmemctl/pmem`,
          stdout: "piped",
          stderr: "piped",
        }).outputSync();
        assert.equal(s.code, 0, `${t}: ${text(s.stdout)}${text(s.stderr)}`);
      }
      for (
        const m of ["memmap", "namespace", "cxl_region", "facts", "verify"]
      ) {
        r = run("ansible-doc", [`pmemctl.pmem.${m}`], env);
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /EXAMPLES/, m);
        assert.match(r.out, /RETURN VALUES/, m);
      }
      const grub =
        'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n';
      Deno.writeTextFileSync(`${dir}/grub`, grub);
      Deno.writeFileSync(
        `${dir}/target`,
        crypto.getRandomValues(new Uint8Array(65536)).slice(),
      );
      Deno.writeTextFileSync(`${dir}/play.yml`, PLAYBOOK(dir, false));
      Deno.writeTextFileSync(`${dir}/check.yml`, PLAYBOOK(dir, true));
      const play = (file: string, ...extra: string[]) =>
        run("ansible-playbook", ["-i", "localhost,", ...extra, file], env);
      const recap = (out: string) => changedIn(out, "localhost");

      // Check mode on the fresh file: the diff, and nothing written.
      r = play(`${dir}/check.yml`, "--check", "--diff");
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal(recap(r.out), 1, r.out);
      assert.match(
        r.out,
        /\+GRUB_CMDLINE_LINUX="console=ttyS0 memmap=256M!\d+M"/,
      );
      assert.equal(Deno.readTextFileSync(`${dir}/grub`), grub);

      // First run: the reservation is planned and written.
      r = play(`${dir}/play.yml`);
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal(recap(r.out), 1, r.out);
      const got = JSON.parse(Deno.readTextFileSync(`${dir}/out.json`));
      assert.match(got.memmap.param, /^memmap=256M!\d+M$/);
      assert.equal(got.memmap.reboot_required, true);
      assert.ok(
        Deno.readTextFileSync(`${dir}/grub`).includes(
          `GRUB_CMDLINE_LINUX="console=ttyS0 ${got.memmap.param}"`,
        ),
      );
      assert.equal(got.pmem.regions[0].namespaces[0].blockdev, "pmem0");
      assert.equal(got.rw.report.result, "pass");
      assert.equal(got.rw.changed, false);
      assert.equal(got.destructive.failed, true);
      assert.match(got.destructive.msg, /pass --force/);

      // Second run: nothing to do.
      const before = Deno.readTextFileSync(`${dir}/grub`);
      r = play(`${dir}/play.yml`);
      assert.equal(r.code, 0, r.out + r.err);
      assert.equal(recap(r.out), 0, r.out);
      assert.equal(Deno.readTextFileSync(`${dir}/grub`), before);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);
