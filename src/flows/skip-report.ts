// Counts what a flow source skipped and remembers the first few places, so a summary can say
// "12 lines skipped: 10 not JSON, 2 invalid source_namespace; first at flows.log:17 (not JSON)".

export interface SkippedExample {
  /** `file:line`, `<stdin>:line`, or a source-specific location. */
  readonly location: string;
  readonly reason: string;
}

export interface SkipSummary {
  readonly total: number;
  /** Reason -> count, sorted by reason. */
  readonly byReason: Readonly<Record<string, number>>;
  readonly examples: readonly SkippedExample[];
}

export class SkipReport {
  static readonly EXAMPLES = 5;
  #total = 0;
  readonly #byReason = new Map<string, number>();
  readonly #examples: SkippedExample[] = [];

  add(location: string, reason: string): void {
    this.#total++;
    this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + 1);
    if (this.#examples.length < SkipReport.EXAMPLES) this.#examples.push({ location, reason });
  }

  /**
   * Adds what another report counted, as if its inputs had been added here in its order after
   * this one's (a reader thread's part of a file): its examples are relocated (line numbers).
   */
  merge(summary: SkipSummary, relocate: (location: string) => string): void {
    this.#total += summary.total;
    for (const [reason, n] of Object.entries(summary.byReason)) this.#byReason.set(reason, (this.#byReason.get(reason) ?? 0) + n);
    for (const example of summary.examples) {
      if (this.#examples.length >= SkipReport.EXAMPLES) break;
      this.#examples.push({ location: relocate(example.location), reason: example.reason });
    }
  }

  get total(): number {
    return this.#total;
  }

  summary(): SkipSummary {
    const byReason: Record<string, number> = {};
    for (const reason of [...this.#byReason.keys()].sort()) byReason[reason] = this.#byReason.get(reason)!;
    return { total: this.#total, byReason, examples: [...this.#examples] };
  }
}

/**
 * Summaries of parts of one input read side by side (batches of lines handed out to several
 * readers in turn) as one: counts added up, and the first examples by line, where each part's
 * locations are line numbers and its examples its first in line order.
 */
export function inLineOrder(summaries: readonly SkipSummary[]): SkipSummary {
  const counts = new SkipReport();
  for (const s of summaries) counts.merge({ ...s, examples: [] }, (location) => location);
  // Each part's first examples hold the first of all: none of its later lines can come before them.
  const examples = summaries
    .flatMap((s) => s.examples)
    .sort((a, b) => Number(a.location) - Number(b.location))
    .slice(0, SkipReport.EXAMPLES);
  return { ...counts.summary(), examples };
}
