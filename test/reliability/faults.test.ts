// Fault injection on GitHub: in the scripted multi-namespace history (scenario.ts), one request
// of a run fails (500; 502 with an HTML body after GitHub carried it out; a connection reset; a
// secondary rate limit; or the branch moves under a ref update because a person pushed), then a
// fault-free run follows. What GitHub holds afterwards must be exactly what a fault-free history
// leaves (a person's push: what the history leaves when the push came first): no duplicate PR,
// branch or comment, no merge or dismissal lost, no PR closed by mistake.
//
// `npm test` tries every request of the busiest run with each kind (and the same with Probot's
// real retry and throttling plugins for the kinds they handle); `npm run reliability` tries every
// request of every run.

import { afterAll, describe, expect, test } from '@jest/globals';
import type { AppHarness } from '../app/support/app-harness.ts';
import { useNock } from '../support/nock-scope.ts';
import {
  decisions,
  duplicates,
  FAULT_KINDS,
  type FaultKind,
  faultAt,
  lostDecisions,
  movedBranch,
  PERSON_EDIT,
  type RecordedRequest,
  replay,
  STEPS,
  snapshot,
} from './scenario.ts';
import { report, sized } from './size.ts';

useNock();

interface Tally {
  cases: number;
  faults: number;
  converged: number;
  duplicates: number;
  lost: number;
  failures: string[];
}

interface Outcome {
  readonly snapshot: unknown;
  readonly decisions: Map<string, string[]>;
}

/**
 * The history up to run `run` with `before` happening right before it, then the run and two
 * more; `inspect` sees the result before the harness stops (only one fake GitHub serves at a time).
 */
async function history<T>(
  run: number,
  options: { retries: boolean },
  before: ((h: AppHarness) => void | Promise<void>) | null,
  inspect: (h: AppHarness, requests: RecordedRequest[]) => T,
): Promise<T> {
  const h = await replay(run, options);
  try {
    await STEPS[run]!.prepare(h);
    await before?.(h);
    h.github.resetRequests();
    await h.run(`${STEPS[run]!.name} (faulted)`);
    const requests = [...h.github.requests()];
    // A fault-free run converges; one more shows the dashboard's steady state (a run's dashboard
    // also tells what that run did, e.g. "Closed as obsolete", and a fault delays some of it by a run).
    // GitHub's webhooks for what happened are delivered between runs, as in production.
    await h.deliver();
    await h.run('recovery');
    await h.deliver();
    await h.run('settled');
    return inspect(h, requests);
  } finally {
    await h.stop();
  }
}

const outcome = (h: AppHarness): Outcome => ({ snapshot: snapshot(h), decisions: decisions(h) });

async function tryRun(run: number, kinds: readonly FaultKind[], options: { retries: boolean }, every: number): Promise<Tally> {
  const tally: Tally = { cases: 0, faults: 0, converged: 0, duplicates: 0, lost: 0, failures: [] };
  const reference = await history(run, options, null, (h, requests) => ({ ...outcome(h), requests }));
  // A person's push, made before the run instead of during it.
  const pushedFirst = new Map<string, Outcome>();
  for (const kind of kinds) {
    for (const [index, request] of reference.requests.entries()) {
      if (index % every !== every - 1 && !(kind === 'branch-moved' && movedBranch(request) !== null)) continue;
      const branch = movedBranch(request);
      let against: Outcome = reference;
      if (kind === 'branch-moved') {
        if (branch === null) continue;
        if (!pushedFirst.has(branch))
          pushedFirst.set(branch, await history(run, options, (x) => void x.repo.pushToBranch(branch, PERSON_EDIT, 'a person'), outcome));
        against = pushedFirst.get(branch)!;
      }
      const want = against.snapshot;
      await history(
        run,
        options,
        (x) => x.github.failNext(faultAt(kind, index, x, request)!),
        (h) => {
          tally.cases++;
          const hit = h.github.pendingFaults() === 0;
          if (hit) tally.faults++;
          const got = snapshot(h);
          const same = JSON.stringify(got) === JSON.stringify(want);
          const dup = duplicates(h);
          const lost = lostDecisions(h, against.decisions);
          if (same) tally.converged++;
          tally.duplicates += dup.length;
          tally.lost += lost.length;
          if (!hit || !same || dup.length > 0 || lost.length > 0) {
            tally.failures.push(
              `${kind} at request ${index} (${request.method} ${request.path}${request.graphql ? ` ${request.graphql}` : ''}) of run ${run + 1}: ${!hit ? 'not hit; ' : ''}${same ? '' : 'diverged; '}${[...dup, ...lost].join('; ')}`,
            );
            if (!same && process.env['RELIABILITY_SHOW_DIFF'])
              expect({ case: tally.failures.at(-1), snapshot: got }).toEqual({ case: tally.failures.at(-1), snapshot: want });
          }
        },
      );
    }
  }
  return tally;
}

const RUNS = sized(
  [1],
  STEPS.map((_, i) => i),
);
/** Every request (1) or every n-th (its ref updates always, for the branch-moved kind). */
const EVERY = sized(2, 1);
/** With the plugins a run is slower (their limiters schedule every request): fewer cases. */
const EVERY_WITH_RETRIES = sized(12, 3);
const totals = new Map<string, Tally>();
/** Each case replays a run once per fault: about 45 s alone on 2 CPUs, more beside other suites. Never a timing assertion. */
const CASE_TIMEOUT_MS = sized(240_000, 3_600_000);

afterAll(() => {
  for (const [suite, t] of totals) {
    report({
      suite,
      scenarios: t.cases,
      faults: t.faults,
      converged: t.converged,
      duplicates: t.duplicates,
      lost: t.lost,
      failures: t.failures.length,
    });
  }
});

function add(suite: string, t: Tally): void {
  const sum = totals.get(suite) ?? { cases: 0, faults: 0, converged: 0, duplicates: 0, lost: 0, failures: [] };
  totals.set(suite, {
    cases: sum.cases + t.cases,
    faults: sum.faults + t.faults,
    converged: sum.converged + t.converged,
    duplicates: sum.duplicates + t.duplicates,
    lost: sum.lost + t.lost,
    failures: [...sum.failures, ...t.failures],
  });
}

describe('one GitHub request of a run fails; the next run converges to the fault-free history', () => {
  test.each(RUNS)(
    `run #%i of the history (from 0), each fault kind (Octokit without retries: every fault reaches the App)`,
    async (run) => {
      const t = await tryRun(run, FAULT_KINDS, { retries: false }, EVERY);
      add('GitHub faults (no retries)', t);
      expect(t.failures).toEqual([]);
      expect(t.cases).toBeGreaterThan(0);
      expect({ faults: t.faults, converged: t.converged, duplicates: t.duplicates, lost: t.lost }).toEqual({
        faults: t.cases,
        converged: t.cases,
        duplicates: 0,
        lost: 0,
      });
    },
    CASE_TIMEOUT_MS,
  );

  test.each(RUNS)(
    `run #%i, with Probot's retry and throttling plugins on (5xx and secondary rate limits)`,
    async (run) => {
      const t = await tryRun(run, ['http-500', 'http-502-html', 'secondary-rate-limit'], { retries: true }, EVERY_WITH_RETRIES);
      add("GitHub faults (Probot's retries)", t);
      expect(t.failures).toEqual([]);
      expect({ faults: t.faults, converged: t.converged, duplicates: t.duplicates, lost: t.lost }).toEqual({
        faults: t.cases,
        converged: t.cases,
        duplicates: 0,
        lost: 0,
      });
    },
    CASE_TIMEOUT_MS,
  );
});
