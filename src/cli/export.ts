/**
 * `pmemctl export prometheus|ansible|nfd`: this host's pmem in the fleet's
 * formats, to stdout or replacing `--output` atomically.
 *
 * @module
 */

import { gatherFrom, sourceFlags } from "./list.ts";
import { warn } from "./output.ts";
import {
  type CommandSpec,
  type GroupSpec,
  type Invocation,
  rootFlag,
} from "./spec.ts";

type Format = "prometheus" | "ansible" | "nfd";

async function runExport(format: Format, { opt, out }: Invocation) {
  const output = opt.optionalText("output");
  const [
    { refuseNonRegular, writeFileAtomic },
    { joinRegions },
    { kmemDevices },
    { readState, statePath },
    { pmemFacts },
    render,
    { VERSION },
  ] = await Promise.all([
    import("../safety/atomic.ts"),
    import("../list/join.ts"),
    import("../sysfs/block.ts"),
    import("../state/results.ts"),
    import("../export/facts.ts"),
    format === "prometheus"
      ? import("../export/prometheus.ts").then((m) => m.renderPrometheus)
      : format === "ansible"
      ? import("../export/ansible.ts").then((m) => m.renderAnsible)
      : import("../export/nfd.ts").then((m) => m.renderNfd),
    import("../version.ts"),
  ]);
  if (output) refuseNonRegular(output, "--output");
  const gathered = await gatherFrom(opt);
  const { state, warning } = readState(
    statePath(opt.optionalText("state"), opt.optionalText("root")),
  );
  const warnings = [...gathered.warnings];
  if (warning) warnings.push(warning);
  const facts = pmemFacts(
    VERSION,
    joinRegions(gathered.obs),
    gathered.obs.memmap,
    kmemDevices(gathered.obs.dax),
    state,
    warnings,
  );
  for (const w of facts.warnings) warn(out, w);
  const text = render(facts);
  if (!output) {
    out.stdout(text);
    return;
  }
  // NFD reads every file of features.d: its temporary file goes one level up.
  const dir = output.includes("/")
    ? output.slice(0, output.lastIndexOf("/"))
    : ".";
  const tmpDir = format === "nfd" && dir.includes("/")
    ? dir.slice(0, dir.lastIndexOf("/")) || "/"
    : undefined;
  writeFileAtomic(output, text, 0o644, tmpDir);
}

const common = (what: string) => [
  {
    name: "output",
    brief: `replace FILE atomically instead of printing (${what})`,
    kind: "value" as const,
    placeholder: "file",
  },
  {
    name: "state",
    brief:
      "pmemctl's state file with recorded verify results (default: $PMEMCTL_STATE or /var/lib/pmemctl/state.json)",
    kind: "value" as const,
    placeholder: "file",
  },
  rootFlag("read proc/ and sys/ under DIR (a captured tree)"),
  ...sourceFlags,
];

const prometheus: CommandSpec = {
  name: "prometheus",
  brief: "metrics for node_exporter's textfile collector",
  description: [
    "The inventory, doctor's checks and recorded verify results as metrics, written atomically to --output for node_exporter's textfile collector (the package's pmemctl-export.timer, disabled until enabled, does it every minute).",
  ],
  flags: common("a .prom file in the collector's directory"),
  args: [],
  examples: [
    "pmemctl export prometheus --output /var/lib/prometheus/node-exporter/pmem.prom",
  ],
  run: (call) => runExport("prometheus", call),
};

const ansible: CommandSpec = {
  name: "ansible",
  brief: "an Ansible local fact (ansible_local.pmem)",
  description: [
    "The same inventory, checks and recorded results as one JSON document for /etc/ansible/facts.d/pmem.fact, which Ansible's setup module reads as ansible_local.pmem.",
  ],
  flags: common("/etc/ansible/facts.d/pmem.fact"),
  args: [],
  examples: [
    "pmemctl export ansible --output /etc/ansible/facts.d/pmem.fact",
  ],
  run: (call) => runExport("ansible", call),
};

const nfd: CommandSpec = {
  name: "nfd",
  brief: "a Node Feature Discovery feature file (Kubernetes node labels)",
  description: [
    "Node labels for Kubernetes' Node Feature Discovery (a feature file in its features.d directory): whether the node has persistent memory and how many bytes, DAX, fsdax and device-DAX namespaces, type-12 and NFIT regions.",
  ],
  flags: common("/etc/kubernetes/node-feature-discovery/features.d/pmem"),
  args: [],
  examples: [
    "pmemctl export nfd --output /etc/kubernetes/node-feature-discovery/features.d/pmem",
  ],
  run: (call) => runExport("nfd", call),
};

export const exportGroup: GroupSpec = {
  name: "export",
  brief: "this host's pmem for Prometheus, Ansible and Kubernetes (NFD)",
  commands: [prometheus, ansible, nfd],
};
