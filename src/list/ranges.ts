/**
 * Disjoint closed ranges kept sorted by start, for the join's "which ranges
 * overlap this one" in O(log n + hits) instead of a scan per range.
 *
 * @module
 */

/** A closed byte range `[start, end]`. */
export interface Span {
  start: number;
  end: number;
}

/** Bytes two closed ranges share. */
export function overlap(a: Span, b: Span): number {
  return Math.max(0, Math.min(a.end, b.end) - Math.max(a.start, b.start) + 1);
}

/**
 * Pairwise disjoint ranges, each with a value. Ranges arrive mostly in
 * address order (the kernel's tables are sorted), so insertion is an append.
 */
export class DisjointRanges<T> {
  #spans: Span[] = [];
  #values: T[] = [];

  /** The index of the first range that ends at or after `at`. */
  #firstEndingFrom(at: number): number {
    let lo = 0, hi = this.#spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#spans[mid].end < at) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The values of the ranges that overlap `span`, in address order. */
  overlapping(span: Span): T[] {
    const out: T[] = [];
    for (
      let i = this.#firstEndingFrom(span.start);
      i < this.#spans.length && this.#spans[i].start <= span.end;
      i++
    ) {
      out.push(this.#values[i]);
    }
    return out;
  }

  /** Adds a range that overlaps none already held (the caller checked). */
  add(span: Span, value: T): void {
    const n = this.#spans.length;
    if (n === 0 || this.#spans[n - 1].end < span.start) {
      this.#spans.push(span);
      this.#values.push(value);
      return;
    }
    const i = this.#firstEndingFrom(span.start);
    if (i < n && this.#spans[i].start <= span.end) {
      throw new Error(
        `DisjointRanges: ${span.start}-${span.end} overlaps a range held`,
      );
    }
    this.#spans.splice(i, 0, span);
    this.#values.splice(i, 0, value);
  }
}
