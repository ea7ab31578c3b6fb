// How much the reliability suites try. `npm test` runs them small (a sample that keeps the whole
// suite fast); `npm run reliability` (run.ts) sets RELIABILITY_SIZE=large and collects what each
// suite reports into one table. The suites are the same code at both sizes.

import { appendFileSync } from 'node:fs';

const LARGE = process.env['RELIABILITY_SIZE'] === 'large';

/** `small` under `npm test`, `large` under `npm run reliability`. */
export function sized<T>(small: T, large: T): T {
  return LARGE ? large : small;
}

export interface SuiteReport {
  readonly suite: string;
  readonly scenarios: number;
  readonly faults?: number;
  readonly converged?: number;
  readonly duplicates?: number;
  readonly lost?: number;
  readonly fuzzCases?: number;
  readonly failures: number;
  readonly note?: string;
}

/** Adds a row to the reliability table (when run.ts asked for one). */
export function report(row: SuiteReport): void {
  const file = process.env['RELIABILITY_REPORT'];
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}
