import { describe, expect, test } from '@jest/globals';
import type { PullRequestInfo } from '../../src/app/github/repository.ts';
import { decide, decideClosed, dismissalTidy, type Limits, needsHistory, type UnitFacts } from '../../src/app/run/decide.ts';
import { encodeState, OBSOLETE_MARKER, type PullRequestState, REBASE_LABEL } from '../../src/app/state/pull-request-state.ts';
import type { UnitChange } from '../../src/plan/lifecycle/unit.ts';

const noLimits: Limits = { concurrent: 0, hourly: 0, open: 0, openedLastHour: 0 };
const recommendation = (hash: string) => ({ hash, files: new Map([['p', 'x']]) }) as unknown as UnitChange;

function state(over: Partial<PullRequestState> = {}): PullRequestState {
  return { v: 1, cluster: 'c', namespace: 'ns', engine: 't', hash: 'h1', commit: 'sha1', memory: {}, evidence: {}, notified: [], ...over };
}

function pr(over: Partial<PullRequestInfo> = {}, s: PullRequestState | null = state()): PullRequestInfo {
  return {
    id: 'PR_1',
    number: 1,
    state: 'open',
    url: 'u',
    title: 'Network policy for namespace ns (cluster c)',
    body: s ? encodeState(s) : 'hand written',
    draft: true,
    labels: ['policy-recommendation', 'Learning'],
    branch: 'policy-recommender/c/ns',
    headOid: 'sha1',
    createdAt: '2026-01-01T00:00:00Z',
    ...over,
  };
}

function facts(over: Partial<UnitFacts> = {}): UnitFacts {
  const open = over.openPullRequest === undefined ? null : over.openPullRequest;
  return {
    key: { kind: 'namespace', cluster: over.cluster ?? 'c', namespace: over.namespace ?? 'ns' },
    cluster: 'c',
    namespace: 'ns',
    change: recommendation('h1'),
    status: 'Learning',
    openPullRequest: open,
    state: open ? state() : null,
    gone: null,
    accepted: false,
    recreate: false,
    ...over,
  };
}

const one = (f: UnitFacts, limits = noLimits, afterMerge: 'propose-updates' | 'stop' = 'propose-updates') =>
  decide([f], limits, afterMerge)[0]!;

describe('decisions per namespace', () => {
  test('a new recommendation opens a PR once its history shows none', () => {
    expect(needsHistory(facts())).toBe(true);
    expect(one(facts({ latest: null }))).toMatchObject({ action: { kind: 'open', update: false }, dashboard: 'Learning' });
  });

  test('unchanged files and status: nothing; a changed hash: update; a status change: refresh', () => {
    const p = pr();
    expect(one(facts({ openPullRequest: p })).action).toEqual({ kind: 'none' });
    expect(one(facts({ openPullRequest: p, change: recommendation('h2') })).action).toEqual({ kind: 'update', pr: p, rebase: false });
    expect(one(facts({ openPullRequest: p, status: 'Stable' }))).toMatchObject({
      action: { kind: 'refresh' },
      dashboard: 'Ready for review',
    });
    // Without drafts the label alone carries the status.
    const noDrafts = pr({ draft: false, labels: ['policy-recommendation', 'Learning'] }, state({ noDrafts: true }));
    expect(one(facts({ openPullRequest: noDrafts, state: state({ noDrafts: true }) })).action).toEqual({ kind: 'none' });
  });

  test("a person's commit stops updates (said once); the rebase label regenerates", () => {
    const edited = pr({ headOid: 'their-commit' });
    expect(one(facts({ openPullRequest: edited, change: recommendation('h2') }))).toMatchObject({
      action: { kind: 'notify-edited' },
      dashboard: 'Edited',
    });
    const told = pr({ headOid: 'their-commit' }, state({ notified: ['edited'] }));
    expect(one(facts({ openPullRequest: told, state: state({ notified: ['edited'] }), change: recommendation('h2') })).action).toEqual({
      kind: 'none',
    });
    const rebase = pr({ headOid: 'their-commit', labels: ['policy-recommendation', REBASE_LABEL] });
    expect(one(facts({ openPullRequest: rebase })).action).toEqual({ kind: 'update', pr: rebase, rebase: true });
    // A PR whose body lost our state counts as a person's.
    expect(one(facts({ openPullRequest: pr({}, null), state: null })).dashboard).toBe('Edited');
  });

  test('closed as obsolete: namespace gone, or nothing left to add', () => {
    const p = pr();
    expect(one(facts({ openPullRequest: p, gone: 'the namespace no longer exists in the cluster' }))).toMatchObject({
      action: { kind: 'close', reason: 'the namespace no longer exists in the cluster' },
    });
    expect(one(facts({ openPullRequest: p, change: null }))).toMatchObject({
      action: { kind: 'close', reason: 'its changes are already on the default branch: nothing is left to add' },
      dashboard: 'Closed as obsolete',
    });
    // Rebuilt for a rebase (label or command) from this run's flows alone: not "already on the default branch".
    const rebuilt =
      /^a rebase was asked for, and rebuilt from the flows this run read .* no traffic beyond what the default branch allows was seen$/;
    for (const asked of [{ openPullRequest: pr({ labels: [REBASE_LABEL] }) }, { openPullRequest: p, rebaseCommands: [42] }])
      for (const key of [
        { kind: 'namespace', cluster: 'c', namespace: 'ns' },
        { kind: 'workloads', cluster: 'c', namespace: 'ns' },
      ] as const)
        expect(one(facts({ ...asked, key, change: null }))).toMatchObject({
          action: { kind: 'close', reason: expect.stringMatching(rebuilt) },
          dashboard: 'Closed as obsolete',
        });
    // Not rebuilt from flows: the cluster-wide files, an enforcement, an enforced namespace.
    for (const unit of [
      { key: { kind: 'bootstrap', cluster: 'c' } },
      { key: { kind: 'enforce', cluster: 'c', namespace: 'ns' } },
      { enforced: true },
    ] as Partial<UnitFacts>[])
      expect(one(facts({ ...unit, openPullRequest: pr({ labels: [REBASE_LABEL] }), change: null })).action).toMatchObject({
        kind: 'close',
        reason: 'its changes are already on the default branch: nothing is left to add',
      });
  });

  test('dismissed stays dismissed unless recreated; merged proposes updates unless afterMerge is stop', () => {
    const closed = pr({ state: 'closed' });
    // Seen through once (its comment said, its branch deleted, in case the webhook failed), then nothing.
    expect(one(facts({ latest: closed }))).toMatchObject({ action: { kind: 'note-dismissal', pr: closed }, dashboard: 'Dismissed' });
    expect(one(facts({ latest: closed, dismissalNoted: true }))).toMatchObject({ action: { kind: 'none' }, dashboard: 'Dismissed' });
    expect(one(facts({ latest: closed, recreate: true })).action).toEqual({ kind: 'open', update: false });
    const merged = pr({ state: 'merged' });
    expect(one(facts({ latest: merged, accepted: true })).action).toEqual({ kind: 'open', update: true });
    expect(one(facts({ latest: merged, accepted: true }), noLimits, 'stop')).toMatchObject({
      action: { kind: 'none' },
      dashboard: 'Accepted',
    });
    expect(one(facts({ change: null, accepted: true }))).toMatchObject({ dashboard: 'Accepted' });
  });

  test('an open PR that lost its label (a run stopped before labelling) is adopted, not duplicated', () => {
    const unlabelled = pr({ labels: [] });
    expect(one(facts({ latest: unlabelled }))).toMatchObject({ action: { kind: 'refresh', pr: unlabelled } });
  });

  test('PR limits: concurrent and hourly, in namespace order', () => {
    const many = ['d', 'a', 'c', 'b'].map((namespace) => facts({ namespace, latest: null }));
    const limited = decide(many, { concurrent: 10, hourly: 2, open: 3, openedLastHour: 1 }, 'propose-updates');
    expect(limited.map((d) => [d.facts.namespace, d.action.kind, d.dashboard])).toEqual([
      ['a', 'open', 'Learning'],
      ['b', 'none', 'Awaiting PR limits'],
      ['c', 'none', 'Awaiting PR limits'],
      ['d', 'none', 'Awaiting PR limits'],
    ]);
    expect(
      decide(many, { concurrent: 5, hourly: 0, open: 3, openedLastHour: 0 }, 'propose-updates').filter((d) => d.action.kind === 'open'),
    ).toHaveLength(2);
  });

  test('the dashboard says which limit holds a unit back', () => {
    const waiting = (limits: Limits) => one(facts({ latest: null }), limits);
    expect(waiting({ concurrent: 3, hourly: 2, open: 3, openedLastHour: 2 })).toMatchObject({
      dashboard: 'Awaiting PR limits',
      note: 'pullRequests.concurrentLimit (3) holds it back: 3 recommendation pull requests are open; it is opened when one is merged or closed',
    });
    expect(waiting({ concurrent: 10, hourly: 1, open: 3, openedLastHour: 1 })).toMatchObject({
      dashboard: 'Awaiting PR limits',
      note: 'pullRequests.hourlyLimit (1) holds it back: 1 pull request was opened in the last hour',
    });
    expect(waiting(noLimits).note).toBeUndefined();
  });

  test('enforcements are not starved by new namespaces: they get the room first, then updates, then new proposals', () => {
    const enforce = facts({
      key: { kind: 'enforce', cluster: 'c', namespace: 'z' },
      namespace: 'z',
      status: 'Stable',
      accepted: false,
      latest: null,
    });
    const update = facts({ namespace: 'y', key: { kind: 'namespace', cluster: 'c', namespace: 'y' }, accepted: true, latest: null });
    const fresh = ['a', 'b', 'c'].map((namespace) =>
      facts({ namespace, key: { kind: 'namespace', cluster: 'c', namespace }, latest: null }),
    );
    const decided = decide([...fresh, update, enforce], { concurrent: 0, hourly: 2, open: 0, openedLastHour: 0 }, 'propose-updates');
    // Returned in key order (the dashboard's), decided in priority order.
    expect(decided.map((d) => [d.facts.namespace, d.action.kind])).toEqual([
      ['a', 'none'],
      ['b', 'none'],
      ['c', 'none'],
      ['y', 'open'],
      ['z', 'open'],
    ]);
    // Every PR counts against the limits, enforcements too.
    expect(
      decide([enforce, ...fresh], { concurrent: 1, hourly: 0, open: 1, openedLastHour: 0 }, 'propose-updates').every(
        (d) => d.dashboard === 'Awaiting PR limits',
      ),
    ).toBe(true);
  });

  test('a namespace namespaceSpec does not select is "Not selected", not "No traffic"', () => {
    expect(one(facts({ change: null, gone: 'the namespace is no longer selected by namespaceSpec', notSelected: true })).dashboard).toBe(
      'Not selected',
    );
    expect(one(facts({ change: null })).dashboard).toBe('No traffic');
    // With its PR open, the PR is closed as obsolete.
    expect(
      one(facts({ openPullRequest: pr(), gone: 'the namespace is no longer selected by namespaceSpec', notSelected: true })).dashboard,
    ).toBe('Closed as obsolete');
  });
});

describe('after the default branch moved (run/mergeability.ts answers `mergeable`)', () => {
  const memory = { 'namespace-isolation/ns.yaml': 'policy' };
  const recorded = state({ memory });
  const withMemory = (hash: string, m: Record<string, string> = memory) => ({ ...recommendation(hash), memory: m }) as UnitChange;

  test('a PR that conflicts is rebuilt even when its files would not change', () => {
    const p = pr({}, recorded);
    expect(one(facts({ openPullRequest: p, state: recorded, change: withMemory('h1'), mergeable: false })).action).toEqual({
      kind: 'update',
      pr: p,
      rebase: false,
    });
  });

  test('same policies, merging cleanly: its commit stays, though a list it extends changed', () => {
    const p = pr({}, recorded);
    expect(one(facts({ openPullRequest: p, state: recorded, change: withMemory('h2'), mergeable: true })).action).toEqual({ kind: 'none' });
    // Not known to merge cleanly (a state from an earlier release): rebuilt, as before.
    expect(one(facts({ openPullRequest: p, state: recorded, change: withMemory('h2') })).action).toEqual({
      kind: 'update',
      pr: p,
      rebase: false,
    });
    // Its policies changed: rebuilt.
    expect(
      one(
        facts({
          openPullRequest: p,
          state: recorded,
          change: withMemory('h2', { 'namespace-isolation/ns.yaml': 'more rules' }),
          mergeable: true,
        }),
      ).action,
    ).toEqual({ kind: 'update', pr: p, rebase: false });
  });

  test('an enforcement or the bootstrap, derived from the default branch, is rebuilt whenever its files change', () => {
    const p = pr({}, recorded);
    const enforce = facts({
      key: { kind: 'enforce', cluster: 'c', namespace: 'ns' },
      openPullRequest: p,
      state: recorded,
      change: withMemory('h2'),
      mergeable: true,
      status: 'Stable',
    });
    expect(one(enforce).action).toMatchObject({ kind: 'update' });
    const bootstrap = facts({
      key: { kind: 'bootstrap', cluster: 'c' },
      namespace: null,
      openPullRequest: p,
      state: recorded,
      change: withMemory('h2'),
      mergeable: true,
      status: 'Stable',
    });
    expect(one(bootstrap).action).toMatchObject({ kind: 'update' });
  });

  test('the bootstrap PR is not held back by the PR limits', () => {
    const full: Limits = { concurrent: 1, hourly: 1, open: 1, openedLastHour: 1 };
    expect(one(facts({ key: { kind: 'bootstrap', cluster: 'c' }, namespace: null, latest: null, status: 'Stable' }), full).action).toEqual({
      kind: 'open',
      update: false,
    });
    expect(one(facts({ latest: null }), full).dashboard).toBe('Awaiting PR limits');
  });
});

describe('closed pull requests (decideClosed: the one code path, whoever saw the close)', () => {
  const closed = (over: Partial<PullRequestInfo> = {}) => pr({ state: 'closed', number: 7, ...over });

  test('a dismissal is said once: not when the dashboard noted it already; its branch goes', () => {
    expect(decideClosed([closed()], [], new Set())).toEqual([
      {
        key: { kind: 'namespace', cluster: 'c', namespace: 'ns' },
        pr: closed(),
        tidy: { comment: true, removeLabels: [], deleteBranch: true },
      },
    ]);
    expect(decideClosed([closed()], [], new Set(['c/ns']))[0]!.tidy).toEqual({ comment: false, removeLabels: [], deleteBranch: true });
    // The unit's own decision (its latest PR a dismissal) tidies the same way.
    expect(dismissalTidy(closed())).toEqual({ comment: true, removeLabels: [], deleteBranch: true });
  });

  test('closed by the bot as obsolete: not a dismissal, only its branch', () => {
    const obsolete = closed({ body: `${OBSOLETE_MARKER}\n${encodeState(state())}` });
    expect(decideClosed([obsolete], [], new Set())[0]!.tidy).toEqual({ comment: false, removeLabels: [], deleteBranch: true });
  });

  test('merged: its status labels go, one by one (a label a person added stays); no comment', () => {
    const merged = closed({ state: 'merged', labels: ['policy-recommendation', 'Stable', 'security-reviewed'] });
    expect(decideClosed([merged], [], new Set())[0]!.tidy).toEqual({ comment: false, removeLabels: ['Stable'], deleteBranch: true });
    // Seen again once tidied (its labels gone): nothing left but the branch check.
    expect(decideClosed([closed({ state: 'merged', labels: ['policy-recommendation'] })], [], new Set())[0]!.tidy).toEqual({
      comment: false,
      removeLabels: [],
      deleteBranch: true,
    });
  });

  test("a branch an open PR holds now (a newer proposal) is not deleted; open PRs and others' branches are not decided", () => {
    const newer = pr({ number: 9 });
    expect(decideClosed([closed()], [newer], new Set())[0]!.tidy.deleteBranch).toBe(false);
    expect(decideClosed([pr(), closed({ branch: 'someone/feature' })], [], new Set())).toEqual([]);
  });
});

describe('the rebase command (run/inbox.ts): served as the rebase label is', () => {
  test('an open PR with a command not served yet is rebuilt afresh, even if a person edited it; none: as before', () => {
    const edited = pr({ headOid: 'theirs' });
    expect(one(facts({ openPullRequest: edited })).action).toEqual({ kind: 'notify-edited', pr: edited });
    expect(one(facts({ openPullRequest: edited, rebaseCommands: [42] })).action).toEqual({ kind: 'update', pr: edited, rebase: true });
    expect(one(facts({ openPullRequest: pr(), rebaseCommands: [42] })).action).toEqual({ kind: 'update', pr: pr(), rebase: true });
    expect(one(facts({ openPullRequest: pr(), rebaseCommands: [] })).action).toEqual({ kind: 'none' });
  });
});
