/**
 * Property-based tests (fast-check) over every parser pmemctl feeds with
 * untrusted text: random strings and mutations of real captured kernel
 * output. Whatever the input, no exception escapes but pmemctl's own
 * (exit-coded) errors, and every number that comes out is exact and every
 * range possible.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { PmemctlError } from "../errors.ts";
import { joinRegions } from "../list/join.ts";
import { listTable } from "../render/list.ts";
import { listDocument } from "../render/json.ts";
import { parseProcLocks } from "../safety/lock.ts";
import { parseBadblocks } from "../sysfs/nd.ts";
import { parseSize } from "../units.ts";
import { parseMemmap } from "./cmdline.ts";
import { parseE820 } from "./e820.ts";
import { parseFirmwareMemmap } from "./firmware_memmap.ts";
import { iomemNodes, parseIomem } from "./iomem.ts";
import { kernelLogLines } from "./klog.ts";
import { parseMountinfo } from "./mountinfo.ts";

const FIXTURES = new URL("../../tests/fixtures/", import.meta.url).pathname;

function read(path: string): string {
  return Deno.readTextFileSync(`${FIXTURES}${path}`);
}

const logs = [...Deno.readDirSync(`${FIXTURES}logs`)].map((e) =>
  read(`logs/${e.name}`)
);
const trees = ["legacy", "legacy2", "nfit-devdax", "nfit-fsdax-mounted"];
const iomems = trees.map((t) => read(`${t}/proc/iomem`));
const cmdlines = trees.map((t) => read(`${t}/proc/cmdline`));

/** Real text with random edits: characters changed, lines cut, runs repeated, digits grown. */
function mutated(samples: string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    fc.record({
      kind: fc.constant("replace"),
      at: fc.nat(),
      text: fc.string({ maxLength: 8 }),
    }),
    fc.record({
      kind: fc.constant("cut"),
      at: fc.nat(),
      text: fc.constant(""),
    }),
    fc.record({
      kind: fc.constant("digits"),
      at: fc.nat(),
      text: fc.stringMatching(/^[0-9a-f]{1,24}$/),
    }),
    fc.record({
      kind: fc.constant("dup"),
      at: fc.nat(),
      text: fc.constant(""),
    }),
  );
  return fc.tuple(
    fc.constantFrom(...samples),
    fc.array(edit, { maxLength: 12 }),
  ).map(
    ([text, edits]) => {
      let out = text;
      for (const e of edits) {
        const at = out.length === 0 ? 0 : e.at % out.length;
        if (e.kind === "cut") out = out.slice(0, at);
        else if (e.kind === "dup") {
          out = out.slice(0, at) + out.slice(at - Math.min(at, 200));
        } else out = out.slice(0, at) + e.text + out.slice(at + e.text.length);
      }
      return out;
    },
  );
}

const anyText = fc.oneof(
  fc.string({ maxLength: 400 }),
  fc.string({ unit: "binary", maxLength: 400 }),
  fc.array(
    fc.constantFrom(
      "BIOS-e820: ",
      "[mem 0x",
      "-0x",
      "] ",
      "persistent (type 12)",
      "user: ",
      "\n",
      "ffffffffffffffffff",
      "0",
      "usable",
      " : ",
      "  ",
    ),
    { maxLength: 40 },
  ).map((parts) => parts.join("")),
);

const exact = (n: unknown) =>
  typeof n === "number" && Number.isSafeInteger(n) && n >= 0;

/** Runs `fn`, accepting only pmemctl's own errors. */
function survives<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PmemctlError) return undefined;
    throw e;
  }
}

const RUNS = { numRuns: 300 };

Deno.test("parseE820: any text gives exact, possible entries and no exception", () => {
  fc.assert(
    fc.property(fc.oneof(anyText, mutated(logs)), (text) => {
      const log = parseE820(text);
      for (const e of log.entries) {
        assert.ok(exact(e.start) && exact(e.end), JSON.stringify(e));
        assert.ok(e.end >= e.start, JSON.stringify(e));
      }
    }),
    RUNS,
  );
});

Deno.test("parseIomem: any text gives exact, possible ranges and no exception", () => {
  fc.assert(
    fc.property(fc.oneof(anyText, mutated(iomems)), (text) => {
      for (const n of iomemNodes(parseIomem(text))) {
        assert.ok(exact(n.start) && exact(n.end) && n.end >= n.start);
      }
    }),
    RUNS,
  );
});

Deno.test("parseMemmap and parseSize: any text gives exact numbers or pmemctl's own error", () => {
  fc.assert(
    fc.property(fc.oneof(anyText, mutated(cmdlines)), (text) => {
      const m = parseMemmap(text);
      for (const r of m.requests) {
        if ("size" in r && r.size !== undefined) assert.ok(exact(r.size));
        if ("start" in r && r.start !== undefined) assert.ok(exact(r.start));
      }
      const size = survives(() => parseSize(text, "--length"));
      if (size !== undefined) assert.ok(exact(size));
    }),
    RUNS,
  );
  fc.assert(
    fc.property(
      fc.tuple(
        fc.stringMatching(/^(0x[0-9a-f]{1,20}|[0-9]{1,22})$/),
        fc.constantFrom("", "K", "M", "G", "T", "KiB", "x"),
      ),
      ([n, unit]) => {
        const size = survives(() => parseSize(n + unit, "--offset"));
        if (size !== undefined) assert.ok(exact(size));
      },
    ),
    RUNS,
  );
});

Deno.test("parseMountinfo, kernelLogLines, badblocks, /proc/locks and firmware memmap: no exception", () => {
  const mountinfo = trees.map((t) => {
    try {
      return read(`${t}/proc/self/mountinfo`);
    } catch {
      return "";
    }
  });
  fc.assert(
    fc.property(
      fc.oneof(anyText, mutated(mountinfo), mutated(logs)),
      (text) => {
        parseMountinfo(text);
        kernelLogLines(text);
        for (const b of parseBadblocks(text)) {
          assert.ok(exact(b.start) && exact(b.end) && b.end >= b.start);
        }
        for (const l of parseProcLocks(text)) {
          assert.ok(
            Number.isSafeInteger(l.pid),
          );
        }
        const warnings: string[] = [];
        const lines = text.split("\n");
        const entries = parseFirmwareMemmap(
          [{
            index: 0,
            start: lines[0] ?? "",
            end: lines[1] ?? "",
            type: lines[2] ?? "",
          }],
          warnings,
        );
        for (const e of entries) assert.ok(exact(e.start) && e.end >= e.start);
      },
    ),
    RUNS,
  );
});

Deno.test("list's join and renderers over mutated logs, iomem and command lines: no exception, no impossible number", () => {
  fc.assert(
    fc.property(
      mutated(logs),
      mutated(iomems),
      mutated(cmdlines),
      (log, iomem, cmdline) => {
        const result = joinRegions({
          e820: parseE820(log),
          memmap: parseMemmap(cmdline),
          iomem: parseIomem(iomem),
          firmwareMemmap: undefined,
          nd: [],
          blocks: [],
          dax: [],
          mounts: [],
        });
        listTable(result);
        const doc = listDocument(result, false) as {
          regions: { start: number; end: number; size: number }[];
        };
        for (const r of doc.regions) {
          assert.ok(
            exact(r.start) && exact(r.end) && exact(r.size),
            JSON.stringify(r),
          );
          assert.ok(r.end >= r.start);
        }
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("impossible numbers become warnings naming the source", () => {
  const log = parseE820(
    "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n" +
      "BIOS-e820: [mem 0x0000000100000000-0x00000000000fffff] usable\n" +
      "BIOS-e820: [mem 0x0020000000000000-0x0020000000000fff] persistent (type 12)\n",
  );
  assert.equal(log.entries.length, 1);
  assert.equal(log.warnings.length, 2);
  assert.match(
    log.warnings[0],
    /^kernel log: .* ends before it starts: ignored$/,
  );
  assert.match(log.warnings[1], /past 2\^53/);
  const iomem = parseIomem(
    "100000000-1ffffffff : System RAM\n20000000000000-20000000000fff : Persistent Memory (legacy)\n",
  );
  assert.equal(iomem.roots.length, 1);
  assert.match(iomem.warnings[0], /^\/proc\/iomem: .*past 2\^53/);
  const fw: string[] = [];
  assert.deepEqual(
    parseFirmwareMemmap([{
      index: 3,
      start: "0x2000",
      end: "0x1000",
      type: "System RAM",
    }], fw),
    [],
  );
  assert.match(fw[0], /^\/sys\/firmware\/memmap\/3: .*ends before it starts/);
  assert.equal(parseMemmap("memmap=99999999999E!1G").errors.length, 1);
});
