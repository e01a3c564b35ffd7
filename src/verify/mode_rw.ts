/**
 * `verify --mode rw`: save, test and restore each window; with a journal
 * (journal.ts) the saved bytes are on disk before the window is touched,
 * and `--resume` puts back what an interrupted run left under test.
 *
 * @module
 */

import type { Target } from "../target/target.ts";
import { windows } from "../target/windows.ts";
import { Journal, journalTarget } from "./journal.ts";
import { checkPattern, fillPattern, patternFor } from "./pattern.ts";
import type { Range, Run } from "./walk.ts";
import { checkStillHolds } from "../target/checks.ts";

/** The rw mode: starts or resumes its journal, then walks the range; returns the seed used. */
export async function rwMode(
  t: Target,
  o: { journal?: string; resume: boolean },
  range: Range,
  seed: number,
  run: Run,
  reserve: () => Promise<string | undefined>,
): Promise<number> {
  using journal = o.journal === undefined
    ? undefined
    : o.resume
    ? await Journal.resume(o.journal, journalTarget(t))
    : await Journal.start(o.journal, journalTarget(t), { ...range, seed });
  if (journal && o.resume) {
    const s = journal.state;
    if (s.active) {
      const saved = await journal.saved();
      checkStillHolds(t, s.window + s.windowLength);
      run.persisted(restoreWindow(t, s.window, saved));
      t.flush();
      await journal.advance(s.window + s.windowLength);
    }
    range.offset = journal.state.window;
    range.length = s.offset + s.length - range.offset;
    run.total = range.length;
    seed = s.seed;
  }
  if (await reserve()) return seed;
  await rw(t, journal, range, seed, run);
  return seed;
}

/** Writes the saved window back to the target and makes it durable. */
function restoreWindow(t: Target, start: number, saved: Uint8Array): boolean {
  const [w] = windows(
    start,
    saved.length,
    t.align,
    Math.max(saved.length, t.align),
  );
  using m = t.map(w);
  m.bytes(w.start - w.mapStart, w.length).set(saved);
  return t.persist(m, w.start, w.length);
}

/** Save, test and restore each window; the journal (if any) saves first. */
async function rw(
  t: Target,
  journal: Journal | undefined,
  range: Range,
  seed: number,
  run: Run,
): Promise<void> {
  const p = patternFor(seed, 0);
  await run.each(t, range.offset, range.length, async (w) => {
    using m = t.map(w);
    const view = m.bytes(w.start - w.mapStart, w.length);
    const saved = view.slice();
    // The saved bytes reach the disk before the window is touched.
    await journal?.save(w.start, saved);
    fillPattern(p, view, w.start);
    run.persisted(t.persist(m, w.start, w.length));
    checkPattern(p, view, w.start, run.log);
    view.set(saved);
    run.persisted(t.persist(m, w.start, w.length));
    await journal?.advance(w.start + w.length);
    run.tick(w.length);
  });
  t.flush();
}
