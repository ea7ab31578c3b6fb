// Merging one PR never leaves the others conflicted (issue 12, point 1), end to end through the
// App against the fake GitHub, whose merges and `mergeable` are git's three-way merge
// (test/support/fake-merge.ts). A cluster's first run opens the bootstrap PR (cluster-wide files)
// and one PR per namespace; people merge them one after another in every order, and after each
// merge the run that merge triggers (the push webhook requests it; here it is called directly):
// - no open PR conflicts with the default branch after that run;
// - a PR that did not conflict keeps its head commit (it is not rewritten);
// - once all are merged, the default branch builds as Flux builds it (fluxBuild) with every
//   policy and the tiers.
// Both layouts: the default (a directory, no list: nothing ever conflicts, nothing is rewritten)
// and a repository from an earlier release's template (kustomizations listing every file: the
// PRs share a list, so a merge makes the others conflict, and the run rebuilds those only).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { branchName, branchOf } from '../../src/plan/lifecycle/unit-key.ts';
import { AppHarness, HOUR } from '../app/support/app-harness.ts';
import { fluxBuild, kubectlAvailable } from '../support/kustomize.ts';
import { useNock } from '../support/nock-scope.ts';
import { report, sized } from './size.ts';

useNock();

const NAMESPACES = ['api', 'shop', 'web'] as const;
const BOOTSTRAP = branchOf({ kind: 'bootstrap', cluster: 'prod' });
const BRANCHES = [BOOTSTRAP, ...NAMESPACES.map((ns) => branchName('prod', ns))];

/** A tree made from the template of earlier releases: its tiers and default deny, a root kustomization and a list of namespace policies. */
const templateFile = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../policies-template/clusters/example/${name}`, import.meta.url)), 'utf8');
const KUSTOMIZE_LAYOUT = {
  'clusters/prod/tiers.yaml': templateFile('tiers.yaml'),
  'clusters/prod/global-default-deny.yaml': templateFile('global-default-deny.yaml'),
  'clusters/prod/kustomization.yaml':
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - tiers.yaml\n  - global-default-deny.yaml\n  - namespace-isolation\n',
  // Two policies written by hand: api's entry goes above them, shop's and web's below, so a merge
  // of shop makes web's PR conflict (same place in the list) but not api's.
  'clusters/prod/namespace-isolation/kustomization.yaml':
    '# One staged namespace-isolation policy per namespace.\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - billing.yaml\n  - payments.yaml\n',
  ...Object.fromEntries(
    ['billing', 'payments'].map((ns) => [
      `clusters/prod/namespace-isolation/${ns}.yaml`,
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${ns}-by-hand\n  namespace: ${ns}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n`,
    ]),
  ),
};

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [[...items]];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Every order of the branches given (those absent from a layout's first run are dropped). */
function orders(branches: readonly string[], count: number): string[][] {
  const all = permutations(branches);
  // Under `npm test` a spread sample (first, last and evenly between); all of them under `npm run reliability`.
  if (count >= all.length) return all;
  return Array.from({ length: count }, (_, i) => all[Math.round((i * (all.length - 1)) / Math.max(1, count - 1))]!);
}

let work: string | undefined;
let h: AppHarness | undefined;
afterEach(async () => {
  expect(h?.errors ?? []).toEqual([]);
  expect(h?.github.unexpected() ?? []).toEqual([]);
  await h?.stop();
  h = undefined;
});
afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

interface Figures {
  orders: number;
  /** Orders after whose every merge no PR conflicted once the run was done. */
  converged: number;
  merges: number;
  conflictedAfterRun: number;
  /** PRs that conflicted after a merge and were brought up to date by the run. */
  rebuilt: number;
  /** PRs that did not conflict but whose head commit the run changed anyway. */
  rewrittenClean: number;
  /** PRs that did not conflict after a merge and kept their commit. */
  kept: number;
}
const figures: Record<'directory' | 'kustomize', Figures> = {
  directory: { orders: 0, converged: 0, merges: 0, conflictedAfterRun: 0, rebuilt: 0, rewrittenClean: 0, kept: 0 },
  kustomize: { orders: 0, converged: 0, merges: 0, conflictedAfterRun: 0, rebuilt: 0, rewrittenClean: 0, kept: 0 },
};

/** The first run and, stabilised, the run that marks every PR ready for review. */
async function opened(layout: 'directory' | 'kustomize'): Promise<AppHarness> {
  h = await AppHarness.start(layout === 'kustomize' ? { files: KUSTOMIZE_LAYOUT } : { clusterTree: 'empty' });
  await h.see(...NAMESPACES.map((namespace) => ({ namespace, direction: 'egress' as const, peer: 'pub', port: 443 })));
  await h.run('first');
  h.now += 4 * HOUR; // past the stabilization period (3h): ready for review
  await h.run('stable');
  return h;
}

async function mergeInOrder(layout: 'directory' | 'kustomize', order: readonly string[]): Promise<void> {
  const f = figures[layout];
  f.orders++;
  const h = await opened(layout);
  const open = () => h.repo.pullRequests({ state: 'open' });
  expect(
    open()
      .map((p) => p.head)
      .sort(),
  ).toEqual(order.slice().sort());
  for (const branch of order) {
    const pr = h.repo.pullRequestFor(branch)!;
    expect(pr.state).toBe('open');
    expect(pr.draft).toBe(false);
    expect(h.repo.conflicts(pr.number)).toEqual([]);
    h.repo.mergePullRequest(pr.number);
    f.merges++;
    // What the merge leaves: which PRs conflict now, and every head.
    const conflictedBefore = new Set(
      open()
        .filter((p) => h.repo.conflicts(p.number).length > 0)
        .map((p) => p.head),
    );
    const heads = new Map(open().map((p) => [p.head, p.headSha]));
    h.now += 60;
    await h.run(`push: merged ${branch}`);
    for (const p of open()) {
      const conflicts = h.repo.conflicts(p.number);
      f.conflictedAfterRun += conflicts.length > 0 ? 1 : 0;
      expect({ pr: p.head, conflicts }).toEqual({ pr: p.head, conflicts: [] });
      const rewritten = heads.get(p.head) !== p.headSha;
      if (conflictedBefore.has(p.head)) f.rebuilt += rewritten ? 1 : 0;
      else {
        f.rewrittenClean += rewritten ? 1 : 0;
        f.kept += rewritten ? 0 : 1;
        expect({ pr: p.head, head: p.headSha }).toEqual({ pr: p.head, head: heads.get(p.head) });
      }
    }
    if (layout === 'directory') expect(conflictedBefore).toEqual(new Set());
  }
  expect(open()).toEqual([]);
  f.converged++;
  // Everything merged: the cluster's tree builds as Flux builds it, with every policy and tier.
  if (kubectlAvailable()) {
    work ??= mkdtempSync(join(tmpdir(), 'merge-order-'));
    const dir = join(work, `${layout}-${f.orders}`);
    for (const [path, text] of h.repo.tree('main')) {
      if (!path.startsWith('clusters/prod/')) continue;
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const built = fluxBuild(join(dir, 'clusters/prod'));
    expect(built.stderr).toBe('');
    const names = built.objects.map((o) => `${String(o['kind'])}/${String((o['metadata'] as { name: string }).name)}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Tier/namespace-isolation',
        'StagedGlobalNetworkPolicy/default-deny',
        ...NAMESPACES.map((ns) => `StagedNetworkPolicy/${ns}-recommendation`),
      ]),
    );
  }
}

describe('merging PRs one after another, in any order', () => {
  const directory = orders(BRANCHES, sized(4, Infinity));
  test.each(directory.map((order) => [order.map((b) => b.split('/').at(-1)).join(' > '), order]))(
    'directory layout (the default): %s — no PR conflicts, none is rewritten',
    async (_, order) => {
      await mergeInOrder('directory', order as string[]);
    },
  );

  // The earlier releases' layout already has its tiers in the template's place: no bootstrap PR.
  const kustomize = orders(BRANCHES.slice(1), sized(3, Infinity));
  test.each(kustomize.map((order) => [order.map((b) => b.split('/').at(-1)).join(' > '), order]))(
    'kustomize layout (a shared list): %s — the PRs a merge made conflict are rebuilt, the others keep their commits',
    async (_, order) => {
      await mergeInOrder('kustomize', order as string[]);
    },
  );
});

afterAll(() => {
  const d = figures.directory;
  const k = figures.kustomize;
  report({
    suite: 'merge in any order (bootstrap + namespace PRs)',
    scenarios: d.orders + k.orders,
    converged: d.converged + k.converged,
    failures: d.conflictedAfterRun + k.conflictedAfterRun + d.rewrittenClean + k.rewrittenClean,
    note:
      `directory layout: ${d.orders} orders, ${d.merges} merges, each followed by its run: ${d.conflictedAfterRun} PRs conflicted after a run, ${d.rebuilt + d.rewrittenClean} rewritten, ${d.kept} kept their commits; ` +
      `kustomize layout: ${k.orders} orders, ${k.merges} merges: ${k.rebuilt} conflicted PRs rebuilt by the run, ${k.conflictedAfterRun} still conflicted, ${k.kept} clean PRs kept their commits, ${k.rewrittenClean} rewritten`,
  });
});
