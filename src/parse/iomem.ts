/**
 * /proc/iomem as a tree: each line `start-end : name`, children indented by
 * two spaces under their parent.
 *
 * @module
 */

/** One resource; `end` is inclusive. */
export interface IomemNode {
  start: number;
  end: number;
  name: string;
  children: IomemNode[];
}

/** A parsed /proc/iomem. */
export interface Iomem {
  roots: IomemNode[];
  /** Every address reads 0: the file was read without CAP_SYS_ADMIN (Linux 4.6+). */
  hidden: boolean;
  /** Lines dropped because their numbers are impossible, with why. */
  warnings: string[];
}

const LINE = /^( *)([0-9a-f]+)-([0-9a-f]+) : (.*)$/i;

import { excerpt, hexNumber, impossibleRange } from "./numbers.ts";

/** Parses /proc/iomem text. Lines that are not resources are skipped. */
export function parseIomem(text: string): Iomem {
  const roots: IomemNode[] = [];
  const stack: { depth: number; node: IomemNode }[] = [];
  const warnings: string[] = [];
  let nodes = 0;
  let nonZero = 0;
  for (const line of text.split("\n")) {
    const m = line.match(LINE);
    if (!m) continue;
    const depth = Math.floor(m[1].length / 2);
    const start = hexNumber(m[2]);
    const end = hexNumber(m[3]);
    const bad = impossibleRange(start, end);
    if (bad || start === undefined || end === undefined) {
      warnings.push(
        `/proc/iomem: the line "${excerpt(line)}" holds ${bad}: ignored`,
      );
      continue;
    }
    const node: IomemNode = {
      start,
      end,
      name: m[4].trim(),
      children: [],
    };
    nodes++;
    if (node.start !== 0 || node.end !== 0) nonZero++;
    while (stack.length > 0 && stack[stack.length - 1].depth >= depth) {
      stack.pop();
    }
    if (stack.length === 0) roots.push(node);
    else stack[stack.length - 1].node.children.push(node);
    stack.push({ depth, node });
  }
  return { roots, hidden: nodes > 0 && nonZero === 0, warnings };
}

/** Every node of the tree, parents before children. */
export function iomemNodes(iomem: Iomem): IomemNode[] {
  const out: IomemNode[] = [];
  const visit = (n: IomemNode) => {
    out.push(n);
    n.children.forEach(visit);
  };
  iomem.roots.forEach(visit);
  return out;
}
