// Webhooks as GitHub may deliver them: GitHub promises neither order nor once-only delivery (a
// redelivery keeps the event's X-GitHub-Delivery GUID: github/docs#32822), and a busy App
// receives several at once. The scripted history (scenario.ts) is replayed with every webhook
// delivered twice, all of a round's deliveries at once, and both; what it leaves on GitHub must
// be what the history leaves with one delivery at a time, once each.

import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { useNock } from '../support/nock-scope.ts';
import { decisions, duplicates, lostDecisions, replay, STEPS, snapshot } from './scenario.ts';
import { report } from './size.ts';

useNock();

interface Outcome {
  readonly snapshot: unknown;
  readonly decisions: ReturnType<typeof decisions>;
  readonly duplicates: string[];
  /** People's decisions lost against the reference (none for the reference itself). */
  readonly lost: string[];
  readonly errors: unknown[];
}

async function history(deliveries: { concurrent?: boolean; twice?: boolean }, against?: Outcome): Promise<Outcome> {
  const h = await replay(STEPS.length, { deliveries });
  try {
    await h.deliver();
    return {
      snapshot: snapshot(h),
      decisions: decisions(h),
      duplicates: duplicates(h),
      lost: against ? lostDecisions(h, against.decisions) : [],
      errors: [...h.errors],
    };
  } finally {
    await h.stop();
  }
}

let reference: Outcome;
const rows: { variant: string; same: boolean; duplicates: number; lost: number }[] = [];

beforeAll(async () => {
  reference = await history({});
  expect(reference.duplicates).toEqual([]);
});

afterAll(() => {
  report({
    suite: 'webhooks twice / concurrently',
    scenarios: rows.length,
    converged: rows.filter((r) => r.same).length,
    duplicates: rows.reduce((n, r) => n + r.duplicates, 0),
    lost: rows.reduce((n, r) => n + r.lost, 0),
    failures: rows.filter((r) => !r.same || r.duplicates > 0 || r.lost > 0).length,
  });
});

async function variant(name: string, deliveries: { concurrent?: boolean; twice?: boolean }): Promise<void> {
  const got = await history(deliveries, reference);
  rows.push({
    variant: name,
    same: JSON.stringify(got.snapshot) === JSON.stringify(reference.snapshot),
    duplicates: got.duplicates.length,
    lost: got.lost.length,
  });
  expect({ duplicates: got.duplicates, lost: got.lost, errors: got.errors }).toEqual({ duplicates: [], lost: [], errors: [] });
  expect(got.snapshot).toEqual(reference.snapshot);
}

describe('the scripted history with webhooks delivered as GitHub may', () => {
  test('each twice, one after the other: the same end state', () => variant('twice', { twice: true }));
  test('all of a round at once: the same end state', () => variant('concurrent', { concurrent: true }));
  // Two concurrent deliveries of one `pull_request.closed` would both list the PR's comments and
  // both post "Dismissed" if each said it: each only asks for a run, and one repository's runs
  // happen one at a time (scheduler.ts), the second tidying after nothing left to do.
  test('each twice, all at once: the same end state', () => variant('concurrent and twice', { concurrent: true, twice: true }));
});
