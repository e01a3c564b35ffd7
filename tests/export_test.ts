/**
 * `pmemctl export`, checked by the real consumers, started here on
 * loopback: `promtool check metrics` and a prometheus-node-exporter that
 * reads the file through its textfile collector and is scraped over HTTP;
 * ansible-core's setup module reading the fact, and the example playbook
 * writing only where the facts show device-DAX; NFD's feature-file and
 * Kubernetes' label syntax. And `--output` replaces files atomically and
 * never anything but a regular file.
 */
import assert from "node:assert/strict";
import { run } from "../cli.ts";
import { captureOutput } from "../src/cli/output.ts";
import { LABEL } from "../src/export/nfd.ts";
import { recordVerify } from "../src/state/results.ts";
import { copyFixture, promtoolCheck } from "./helpers.ts";
import { have, requireThat } from "./require.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const FIX = `${ROOT}tests/fixtures/`;

async function cli(...args: string[]) {
  const out = captureOutput();
  const code = await run(args, out);
  return { code, out: out.out, err: out.err };
}

/** A state file holding one recorded verify of /dev/pmem0. */
function stateWithRecord(dir: string): string {
  const path = `${dir}/state.json`;
  recordVerify(path, {
    target: "/dev/pmem0",
    mode: "scan",
    result: "fail",
    time: "2026-11-26T10:00:00.000Z",
    offset: 0,
    length: 2 ** 20,
    bytes_checked: 2 ** 20,
    mismatch_count: 7,
  });
  return path;
}

function sample(text: string, name: string, labels: RegExp): number {
  const line = text.split("\n").find((l) =>
    l.startsWith(`${name}{`) && labels.test(l) || l.startsWith(`${name} `)
  );
  assert.ok(line, `${name} ${labels} in:\n${text}`);
  return Number(line.split(" ").pop());
}

requireThat(
  have("promtool", ["--version"])
    ? undefined
    : "no promtool (apt-get install prometheus)",
  "export prometheus: promtool accepts it, values from a captured tree and the state file",
  async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const state = stateWithRecord(dir);
      for (const tree of ["legacy", "nfit-fsdax-mounted", "nfit-devdax"]) {
        const r = await cli(
          "export",
          "prometheus",
          "--root",
          `${FIX}${tree}`,
          "--state",
          state,
        );
        assert.equal(r.code, 0, r.err);
        const { ok, said } = await promtoolCheck(r.out);
        assert.ok(ok, `${tree}: ${said}`);
        assert.equal(said.trim(), "", `${tree}: promtool's remarks: ${said}`);
        assert.equal(
          sample(r.out, "pmem_verify_last_success", /\/dev\/pmem0/),
          0,
        );
        assert.equal(
          sample(r.out, "pmem_verify_last_timestamp_seconds", /\/dev\/pmem0/),
          Date.parse("2026-11-26T10:00:00Z") / 1000,
        );
      }
      const legacy = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}legacy`,
        "--state",
        state,
      );
      assert.equal(
        sample(legacy.out, "pmem_region_size_bytes", /region="region0"/),
        256 * 2 ** 20,
      );
      assert.equal(
        sample(legacy.out, "pmem_region_claimed", /region="region0"/),
        1,
      );
      assert.equal(
        sample(
          legacy.out,
          "pmem_memmap_request_realised",
          /param="memmap=256M!1G"/,
        ),
        1,
      );
      assert.match(
        legacy.out,
        /^pmem_region_info\{region="region0",start="0x40000000",end="0x4fffffff",e820_type="12",provider="e820",claimed_by="namespace0\.0",persistence_domain="unknown"\} 1$/m,
      );
      const mounted = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}nfit-fsdax-mounted`,
        "--state",
        state,
      );
      assert.equal(
        sample(
          mounted.out,
          "pmem_mount_dax",
          /mountpoint="\/mnt\/pmem",device="pmem0",fstype="ext4",requested="always"/,
        ),
        1,
      );
      const faults = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}faults/doctor-faults`,
        "--state",
        state,
      );
      assert.equal(
        sample(faults.out, "pmem_namespace_bad_sectors", /device="pmem0"/),
        8,
      );
      assert.equal(
        sample(faults.out, "pmem_mount_dax", /requested="inode"/),
        0,
      );
      const hole = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}faults/doctor-hole`,
        "--state",
        state,
      );
      assert.equal(sample(hole.out, "pmem_memmap_requests_unrealised", /^/), 2);
      assert.equal(
        sample(hole.out, "pmem_region_claimed", /start="0x40000000"/),
        0,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

const EXPORTER = "/usr/bin/prometheus-node-exporter";
requireThat(
  have(EXPORTER, ["--version"])
    ? undefined
    : "no prometheus-node-exporter (apt-get install prometheus-node-exporter)",
  "export prometheus --output: a real node_exporter serves the metrics from its textfile directory",
  async () => {
    const dir = Deno.makeTempDirSync();
    const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (free.addr as Deno.NetAddr).port;
    free.close();
    const exporter = new Deno.Command(EXPORTER, {
      args: [
        `--web.listen-address=127.0.0.1:${port}`,
        "--collector.disable-defaults",
        "--collector.textfile",
        `--collector.textfile.directory=${dir}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const r = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}nfit-devdax`,
        "--state",
        `${dir}/none.json`,
        "--output",
        `${dir}/pmem.prom`,
      );
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, "");
      assert.equal(Deno.statSync(`${dir}/pmem.prom`).mode! & 0o777, 0o644);
      let body = "";
      for (let i = 0; i < 100 && !body; i++) {
        try {
          const res = await fetch(`http://127.0.0.1:${port}/metrics`);
          body = await res.text();
        } catch {
          await new Promise((ok) => setTimeout(ok, 100));
        }
      }
      assert.ok(body, "node_exporter answered");
      assert.equal(sample(body, "node_textfile_scrape_error", /^/), 0);
      assert.equal(
        sample(body, "pmem_namespace_size_bytes", /namespace="namespace0\.0"/),
        526385152,
      );
      assert.equal(sample(body, "pmem_namespace_dax", /device="dax0\.0"/), 1);
      assert.equal(sample(body, "pmem_present", /^/), 1);
      // Replaced atomically: nothing but the .prom file in the directory.
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), [
        "pmem.prom",
      ]);
    } finally {
      exporter.kill("SIGTERM");
      await exporter.output();
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

requireThat(
  have("ansible", ["--version"])
    ? undefined
    : "no ansible-core (apt-get install ansible-core)",
  "export ansible: ansible's setup module reads the fact, and the playbook writes only where devdax is",
  async () => {
    const dir = Deno.makeTempDirSync();
    try {
      const env = {
        ANSIBLE_LOCAL_TEMP: `${dir}/tmp`,
        ANSIBLE_HOME: `${dir}/home`,
        ANSIBLE_NOCOLOR: "1",
        ANSIBLE_PYTHON_INTERPRETER: "auto_silent",
      };
      const facts = `${dir}/facts.d`;
      Deno.mkdirSync(facts);
      const fact = async (tree: string) => {
        const r = await cli(
          "export",
          "ansible",
          "--root",
          `${FIX}${tree}`,
          "--state",
          `${dir}/none.json`,
          "--output",
          `${facts}/pmem.fact`,
        );
        assert.equal(r.code, 0, r.err);
      };
      await fact("nfit-devdax");
      const setup = await new Deno.Command("ansible", {
        args: [
          "localhost",
          "-c",
          "local",
          "-m",
          "setup",
          "-a",
          `filter=ansible_local fact_path=${facts}`,
        ],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(setup.stdout);
      assert.ok(setup.success, text + new TextDecoder().decode(setup.stderr));
      const json = JSON.parse(text.slice(text.indexOf("{")));
      const pmem = json.ansible_facts.ansible_local.pmem;
      assert.equal(pmem.present, true);
      assert.deepEqual(pmem.modes, ["devdax"]);
      assert.equal(pmem.namespaces[0].chardev, "dax0.0");
      assert.equal(pmem.regions[0].size, 536870912);

      // The playbook: a devdax host gets the image, an fsdax one does not.
      const image = `${dir}/image.bin`;
      const target = `${dir}/target.bin`;
      Deno.writeFileSync(image, crypto.getRandomValues(new Uint8Array(65536)));
      const playbook = async () => {
        Deno.writeFileSync(target, new Uint8Array(65536));
        const p = await new Deno.Command("ansible-playbook", {
          args: [
            "-i",
            "localhost,",
            "-c",
            "local",
            `${ROOT}examples/pmem-devdax-write.yml`,
            "-e",
            `pmem_fact_path=${facts}`,
            "-e",
            `pmem_image=${image}`,
            "-e",
            `pmem_target=${target}`,
            "-e",
            `pmemctl=${ROOT}bin/pmemctl`,
          ],
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        const said = new TextDecoder().decode(p.stdout);
        assert.ok(p.success, said + new TextDecoder().decode(p.stderr));
        return said;
      };
      const wrote = await playbook();
      assert.match(wrote, /changed=1/);
      assert.deepEqual(Deno.readFileSync(target), Deno.readFileSync(image));
      await fact("nfit-fsdax-mounted");
      const skipped = await playbook();
      assert.match(skipped, /changed=0 .*skipped=1/);
      assert.deepEqual(Deno.readFileSync(target), new Uint8Array(65536));
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

Deno.test("export nfd: NFD's name=value lines, every name and value a valid label", async () => {
  const r = await cli(
    "export",
    "nfd",
    "--root",
    `${FIX}nfit-devdax`,
    "--state",
    "/nonexistent/state.json",
  );
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trimEnd().split("\n");
  const features = Object.fromEntries(lines.map((l) => l.split("=")));
  for (const l of lines) {
    const [name, value, ...rest] = l.split("=");
    assert.deepEqual(rest, [], l);
    assert.ok(LABEL.test(name) && name.length <= 63, name);
    assert.ok(LABEL.test(value) && value.length <= 63, value);
  }
  assert.deepEqual(features, {
    "pmem.present": "true",
    "pmem.bytes": "536870912",
    "pmem.dax": "true",
    "pmem.legacy": "false",
    "pmem.nfit": "true",
    "pmem.fsdax": "false",
    "pmem.devdax": "true",
    "pmem.namespaces": "1",
  });
});

Deno.test("export nfd --output: written atomically with its temporary file outside features.d", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const features = `${dir}/node-feature-discovery/features.d`;
    Deno.mkdirSync(features, { recursive: true });
    Deno.writeTextFileSync(`${features}/pmem`, "old\n");
    const r = await cli(
      "export",
      "nfd",
      "--root",
      `${FIX}legacy`,
      "--state",
      `${dir}/none.json`,
      "--output",
      `${features}/pmem`,
    );
    assert.equal(r.code, 0, r.err);
    assert.match(
      Deno.readTextFileSync(`${features}/pmem`),
      /^pmem\.present=true\npmem\.bytes=268435456\n/,
    );
    assert.deepEqual([...Deno.readDirSync(features)].map((e) => e.name), [
      "pmem",
    ]);
    assert.deepEqual(
      [...Deno.readDirSync(`${dir}/node-feature-discovery`)].map((e) => e.name),
      ["features.d"],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("export --output refuses anything but a regular file, and a corrupt state file is a warning", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    for (const bad of ["/dev/null", dir]) {
      const r = await cli(
        "export",
        "prometheus",
        "--root",
        `${FIX}legacy`,
        "--output",
        bad,
      );
      assert.equal(r.code, 2);
      assert.match(
        r.err,
        /--output .*: is not a regular file .*nothing was written/,
      );
    }
    Deno.writeTextFileSync(`${dir}/state.json`, "{not json");
    const r = await cli(
      "export",
      "prometheus",
      "--root",
      `${FIX}legacy`,
      "--state",
      `${dir}/state.json`,
    );
    assert.equal(r.code, 0);
    assert.match(r.err, /state file is corrupt/);
    assert.equal(sample(r.out, "pmem_export_warnings", /^/), 1);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("list --json reports the recorded verify of each namespace; a captured tree's state file is its own", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    new Deno.Command("cp", { args: ["-a", `${FIX}legacy/.`, dir] })
      .outputSync();
    stateWithRecord(`${dir}/var/lib/pmemctl`);
    const r = await cli("list", "--root", dir, "--json");
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.verify.length, 1);
    const ns = doc.regions[0].namespaces[0];
    assert.equal(ns.blockdev, "pmem0");
    assert.deepEqual(
      ns.verify.map((
        v: { mode: string; result: string },
      ) => [v.mode, v.result]),
      [["scan", "fail"]],
    );
    // The committed tree has no state file: no verify key at all.
    const plain = JSON.parse(
      (await cli("list", "--root", `${FIX}legacy`, "--json")).out,
    );
    assert.equal(plain.verify, undefined);
    assert.equal(plain.regions[0].namespaces[0].verify, undefined);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** The lines of docs/export.md's fenced block after `<!-- schema:NAME -->`. */
function docSchema(name: string): string[] {
  const readme = Deno.readTextFileSync(`${ROOT}docs/export.md`);
  const m = readme.match(
    new RegExp(
      `<!-- schema:${name} -->\\s*\`\`\`text\\n([\\s\\S]*?)\`\`\``,
    ),
  );
  assert.ok(m, `docs/export.md has no schema:${name} block`);
  return m[1].trim().split("\n");
}

const SCHEMA_TREES = [
  "legacy",
  "nfit-devdax",
  "nfit-fsdax-mounted",
  "nfit-system-ram",
  "nfit-labels",
  "faults/doctor-faults",
  "faults/doctor-hole",
];

Deno.test("export schemas: what the exports produce is exactly what docs/export.md writes down", async () => {
  const dir = Deno.makeTempDirSync();
  try {
    const state = stateWithRecord(dir);
    const metrics = new Map<string, string>();
    const factKeys = new Set<string>();
    const features = new Set<string>();
    for (const tree of SCHEMA_TREES) {
      const root = ["--root", `${FIX}${tree}`, "--state", state];
      const prom = await cli("export", "prometheus", ...root);
      for (const line of prom.out.split("\n")) {
        const declared = line.match(/^# TYPE (\S+) gauge$/);
        if (declared && !metrics.has(declared[1])) {
          metrics.set(declared[1], declared[1]);
        }
        const sample = line.match(/^(\w+)\{(.*)\} /);
        if (sample) {
          const keys = [...sample[2].matchAll(/(\w+)="/g)].map((k) => k[1]);
          metrics.set(sample[1], `${sample[1]}{${keys.join(",")}}`);
        }
      }
      const facts = JSON.parse((await cli("export", "ansible", ...root)).out);
      Object.keys(facts).forEach((k) => factKeys.add(k));
      for (
        const l of (await cli("export", "nfd", ...root)).out.trim().split("\n")
      ) {
        features.add(l.split("=")[0]);
      }
    }
    assert.deepEqual([...metrics.values()], docSchema("prometheus"));
    assert.deepEqual([...factKeys], docSchema("ansible"));
    assert.deepEqual([...features], docSchema("nfd"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

requireThat(
  have("systemd-analyze", ["--version"])
    ? undefined
    : "no systemd-analyze (apt-get install systemd)",
  "systemd/: systemd-analyze verify accepts the package's units, the verify template as an instance (and refuses a broken copy)",
  () => {
    const dir = Deno.makeTempDirSync();
    try {
      const units = [
        "pmemctl-export.service",
        "pmemctl-export.timer",
        "pmemctl-verify@.service",
        "pmemctl-verify@.timer",
      ];
      const verify = (edit: (text: string) => string) => {
        for (const u of units) {
          // The units name /usr/bin/pmemctl; here the checkout's stands in for it.
          Deno.writeTextFileSync(
            `${dir}/${u}`,
            edit(Deno.readTextFileSync(`${ROOT}systemd/${u}`)).replace(
              "/usr/bin/pmemctl",
              `${ROOT}bin/pmemctl`,
            ),
          );
        }
        return new Deno.Command("systemd-analyze", {
          args: [
            "verify",
            "--man=no",
            `${dir}/pmemctl-export.service`,
            `${dir}/pmemctl-export.timer`,
            `${dir}/pmemctl-verify@dev-pmem0.service`,
            `${dir}/pmemctl-verify@dev-pmem0.timer`,
          ],
          stdout: "piped",
          stderr: "piped",
        }).outputSync();
      };
      const ok = verify((t) => t);
      assert.ok(ok.success, new TextDecoder().decode(ok.stderr));
      assert.equal(new TextDecoder().decode(ok.stderr).trim(), "");
      const broken = verify((t) => t.replace("Type=oneshot", "Type=oneshoot"));
      assert.match(
        new TextDecoder().decode(broken.stderr),
        /Failed to parse service type/,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
);

requireThat(
  have("promtool", ["--version"])
    ? undefined
    : "no promtool (apt-get install prometheus)",
  "export prometheus on CXL, virtio-pmem and soft-reserved trees: CXL capacity, free capacity, regions and the dirty-shutdown count QEMU cannot show; soft-reserved memory is not pmem",
  async () => {
    const tree = copyFixture("cxl-fsdax-7.3");
    try {
      // What a device that counts them shows (QEMU's does not): the
      // nvdimm's cxl/dirty_shutdown beside cxl/id, the memdev's serial.
      Deno.writeTextFileSync(
        `${tree}/sys/devices/platform/ACPI0017:00/root0/nvdimm-bridge0/ndbus0/nmem0/cxl/dirty_shutdown`,
        "3\n",
      );
      for (
        const root of [
          tree,
          `${FIX}cxl`,
          `${FIX}virtio-pmem`,
          `${FIX}soft-reserved`,
        ]
      ) {
        const r = await cli("export", "prometheus", "--root", root);
        assert.equal(r.code, 0, r.err);
        const { ok, said } = await promtoolCheck(r.out);
        assert.ok(ok && said.trim() === "", `${root}: ${said}`);
      }
      const provisioned =
        (await cli("export", "prometheus", "--root", tree)).out;
      assert.equal(
        sample(provisioned, "pmem_cxl_memdev_pmem_bytes", /mem0/),
        256 << 20,
      );
      assert.equal(
        sample(provisioned, "pmem_cxl_memdev_pmem_free_bytes", /mem0/),
        0,
      );
      assert.equal(
        sample(provisioned, "pmem_cxl_memdev_dirty_shutdowns", /mem0/),
        3,
      );
      assert.equal(
        sample(provisioned, "pmem_cxl_region_committed", /region0/),
        1,
      );
      assert.match(
        provisioned,
        /^pmem_cxl_region_info\{region="region0",type="pmem",decoder="decoder0\.0",memdevs="mem0",nd_region="region0"\} 1$/m,
      );
      const bare =
        (await cli("export", "prometheus", "--root", `${FIX}cxl`)).out;
      assert.equal(
        sample(bare, "pmem_cxl_memdev_pmem_free_bytes", /mem0/),
        256 << 20,
      );
      assert.doesNotMatch(
        bare,
        /^pmem_cxl_memdev_dirty_shutdowns\{/m,
        "no count where the kernel gives none",
      );
      const soft =
        (await cli("export", "prometheus", "--root", `${FIX}soft-reserved`))
          .out;
      assert.equal(sample(soft, "pmem_present", /./), 0);
      assert.equal(sample(soft, "pmem_size_bytes", /./), 0);
      assert.match(soft, /^pmem_region_info\{.*provider="hmem".*\} 1$/m);
    } finally {
      Deno.removeSync(tree, { recursive: true });
    }
  },
);
