// Doing: carries out one decision against the repository, with as few requests as the action
// allows (open: 5, update: at most 7, refresh: at most 4, close: 3). Each PR gets exactly one commit on top
// of the default branch head; labels people added are kept.

import type { Flavor } from '../../config/recommendation-config.ts';
import type { WorkloadReport } from '../../engine/report.ts';
import type { UnitChange } from '../../plan/lifecycle/unit.ts';
import { branchOf, describeKey, type ProposalKey } from '../../plan/lifecycle/unit-key.ts';
import { own } from '../../util/plain.ts';
import { type BranchHead, BranchMoved, type PullRequestInfo, type Repository, RepositoryConflict } from '../github/repository.ts';
import { DISMISSED_MARKER, dismissalComment } from '../render/comments.ts';
import { code } from '../render/markdown.ts';
import { type PolicySection, type PullRequestUnit, pullRequestTitle, renderPullRequestBody, ruleId } from '../render/pull-request-body.ts';
import {
  decodeState,
  OBSOLETE_MARKER,
  type PullRequestState,
  REBASE_COMMANDS_KEPT,
  REBASE_LABEL,
  RECOMMENDATION_LABEL,
  type RuleEvidence,
  replaceState,
  STATUS_LABELS,
} from '../state/pull-request-state.ts';
import { type ClosedDecision, type Decision, dismissalTidy, statusLabel } from './decide.ts';

const EDITED_MARKER = '<!-- policy-recommender:edited -->';

export interface ApplyContext {
  readonly repository: Repository;
  readonly head: BranchHead;
  readonly engineVersion: string;
  readonly flavor: Flavor;
  readonly stabilizationPeriod: number;
  readonly extraLabels: readonly string[];
  readonly skippedLines: number;
  /** How long an accepted staged policy must deny nothing before it is proposed for enforcement. */
  readonly enforceAfter: number;
}

export interface Applied {
  readonly pr?: { number: number; url: string };
  readonly error?: string;
}

export async function apply(decision: Decision, ctx: ApplyContext): Promise<Applied> {
  const { action, facts } = decision;
  const repo = ctx.repository;
  try {
    switch (action.kind) {
      case 'none':
        return facts.openPullRequest ? { pr: facts.openPullRequest } : {};
      case 'open': {
        const branch = branchOf(facts.key);
        const commit = await repo.commit(ctx.head, facts.change!.files, commitMessage(facts.key, ctx.flavor));
        const replaced = await createBranch(repo, branch, commit);
        const state = stateOf(decision, ctx, commit, {});
        const draft = facts.status !== 'Stable';
        let pr: PullRequestInfo;
        try {
          pr = await repo.createPullRequest({
            branch,
            title: title(decision, action.update),
            body: body(decision, ctx, state, action.update),
            draft,
          });
        } catch (e) {
          // Another run opened it between our look and our write: its branch goes back to its commit.
          if (e instanceof RepositoryConflict && replaced !== null) await repo.setBranch(branch, replaced, commit).catch(() => undefined);
          throw e;
        }
        await repo.addLabels(pr.number, labels([], decision, ctx));
        // Drafts unavailable (private repository on a free plan): remember it, the label stands in.
        if (draft && !pr.draft)
          await repo.updatePullRequest(pr.number, { body: body(decision, ctx, { ...state, noDrafts: true }, action.update) });
        return { pr };
      }
      case 'update': {
        const pr = action.pr;
        const commit = await repo.commit(ctx.head, facts.change!.files, commitMessage(facts.key, ctx.flavor));
        const evidence = action.rebase ? {} : (facts.state?.evidence ?? {});
        // The new commit is recorded before the branch moves to it, with the current head as
        // `previous`: a run stopped in between leaves a head the next run knows as its own.
        const state: PullRequestState = {
          ...stateOf(decision, ctx, commit, evidence),
          ...(action.rebase ? {} : { previous: pr.headOid }),
          ...(facts.state?.noDrafts ? { noDrafts: true as const } : {}),
          ...servedCommands(facts.state?.rebaseCommands, facts.rebaseCommands),
        };
        const update = isUpdate(pr);
        const text = body(decision, ctx, state, update);
        await repo.updatePullRequest(pr.number, { title: title(decision, update), body: text });
        try {
          // Compare-and-swap from the head this run saw: a commit pushed since is never overwritten.
          await repo.setBranch(pr.branch, commit, pr.headOid);
        } catch (e) {
          if (!(e instanceof BranchMoved)) throw e;
          return await lostRace(decision, ctx, pr, state, e);
        }
        await syncLabelsAndDraft(pr, decision, ctx, state, text);
        return { pr };
      }
      case 'resume': {
        const pr = action.pr;
        try {
          await repo.setBranch(pr.branch, action.commit, pr.headOid);
        } catch (e) {
          if (!(e instanceof BranchMoved)) throw e;
          return { error: `${where(facts.key)}: ${e.message}` };
        }
        await syncLabelsAndDraft(pr, decision, ctx, facts.state!, pr.body);
        return { pr };
      }
      case 'refresh': {
        const pr = action.pr;
        const change = facts.change!;
        const state = {
          ...facts.state!,
          evidence: evidence(change, facts.state!.evidence),
          ...(change.quietSince === undefined ? {} : { quietSince: change.quietSince }),
        };
        const text = body(decision, ctx, state, isUpdate(pr));
        await repo.updatePullRequest(pr.number, { body: text });
        await syncLabelsAndDraft(pr, decision, ctx, state, text);
        return { pr };
      }
      case 'close': {
        const pr = action.pr;
        // Still open? A person who closed it during the run dismissed it: marking it obsolete
        // would undo that (GitHub's update has no precondition; the window left is this request).
        const now = (await repo.latestPullRequests([pr.branch])).get(pr.branch);
        if (now?.number !== pr.number || now.state !== 'open') return {};
        // The reason goes into the body in the same request that closes it: nothing to repeat
        // or lose if the run stops half-way.
        const note = `> **Closed by policy-recommender:** ${action.reason}. A new pull request is opened when there is something to propose again.\n\n${OBSOLETE_MARKER}\n\n`;
        await repo.updatePullRequest(pr.number, { state: 'closed', body: note + pr.body });
        // Only the head the run saw: a commit pushed since keeps its branch.
        await repo.deleteBranch(pr.branch, pr.headOid);
        return {};
      }
      case 'note-dismissal':
        await tidyClosed(repo, { key: facts.key, pr: action.pr, tidy: dismissalTidy(action.pr) });
        return {};
      case 'notify-edited': {
        const pr = action.pr;
        // Exactly once, even if a run stops between saying it and recording that it was said.
        await repo.commentOnce(
          pr.number,
          `Someone else changed this branch, so policy-recommender stopped updating this pull request: your edits are yours. ` +
            `To have it regenerated (discarding those edits), add the label ${code(REBASE_LABEL)}.\n\n${EDITED_MARKER}`,
          EDITED_MARKER,
        );
        const state = facts.state;
        if (state !== null)
          await repo.updatePullRequest(pr.number, { body: replaceState(pr.body, { ...state, notified: [...state.notified, 'edited'] }) });
        return { pr };
      }
    }
  } catch (e) {
    if (e instanceof RepositoryConflict) return { error: e.message };
    return { error: `${where(facts.key)}: ${(e as Error).message}` };
  }
}

/**
 * Tidies after a closed pull request of the bot (decide.ts decideClosed), each step idempotent:
 * - the dismissal is said once (commentOnce looks first, and after, for a replica saying it at the
 *   same moment);
 * - the status labels of a merged PR are removed one request per label (issues/remove-label in
 *   @octokit/openapi's api.github.com.json: DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}
 *   removes that one label), so a label a person adds meanwhile stays; one already gone answers
 *   404, which is fine (github-repository.ts removeLabel);
 * - the branch is deleted only while it points at the PR's head (git/get-ref in @octokit/openapi's
 *   api.github.com.json: 404 when the ref does not exist; then the compare-and-swap of updateRefs): a branch already gone costs one read, and a
 *   branch a person pushed to, or a new PR's branch of the same name, stays.
 */
export async function tidyClosed(repo: Repository, closed: ClosedDecision): Promise<void> {
  const { key, pr, tidy } = closed;
  if (tidy.comment) await repo.commentOnce(pr.number, dismissalComment(key), DISMISSED_MARKER);
  for (const label of tidy.removeLabels) await repo.removeLabel(pr.number, label);
  if (tidy.deleteBranch && (await repo.branchSha(pr.branch)) === pr.headOid) await repo.deleteBranch(pr.branch, pr.headOid);
}

/**
 * Creates the PR's branch at `commit`. A branch already there without an open PR (left by a run
 * that stopped before opening it, or by a merged or closed PR) is moved, compare-and-swap from
 * where it is; one whose PR another run just opened is that run's. Returns the commit replaced.
 */
async function createBranch(repo: Repository, branch: string, commit: string): Promise<string | null> {
  try {
    await repo.setBranch(branch, commit, null);
    return null;
  } catch (e) {
    if (!(e instanceof BranchMoved) || e.current === null) throw e;
    const latest = (await repo.latestPullRequests([branch])).get(branch);
    if (latest?.state === 'open') throw new RepositoryConflict(`a pull request for ${branch} was opened meanwhile (#${latest.number})`);
    await repo.setBranch(branch, commit, e.current);
    return e.current;
  }
}

/**
 * The branch moved between this run's look and its write (compare-and-swap failed): nothing of
 * the winner's was overwritten, but this run's body, written first, may now claim a commit the
 * branch does not have. Re-read the PR and put the record right:
 * - the body records the branch's head: the winner wrote last, nothing to do;
 * - the head is another run's commit (same message, same parents) with the same files: it is
 *   this run's result, recorded as such;
 * - another run's commit with other files: recorded, with its policy as memory, so the next run
 *   regenerates from it (whatever it learned is kept);
 * - anything else is a person's commit: the PR gets back the title and body it had, so it
 *   describes its branch, and the next run sees the branch edited and leaves it alone.
 */
async function lostRace(
  decision: Decision,
  ctx: ApplyContext,
  pr: PullRequestInfo,
  ours: PullRequestState,
  moved: BranchMoved,
): Promise<Applied> {
  const repo = ctx.repository;
  const { facts } = decision;
  const conflict = { error: `${where(facts.key)}: ${moved.message}` };
  const fresh = (await repo.latestPullRequests([pr.branch])).get(pr.branch);
  if (fresh?.state !== 'open' || fresh.number !== pr.number) return conflict;
  const recorded = decodeState(fresh.body);
  if (recorded?.commit !== ours.commit) return conflict;
  const [mine, theirs] = await Promise.all([repo.readCommit(ours.commit), repo.readCommit(fresh.headOid)]);
  const sibling = theirs.message === mine.message && theirs.parents.join() === mine.parents.join();
  if (!sibling) {
    // A person's commit: the PR says again what its branch holds (and the next run sees it edited).
    await repo.updatePullRequest(pr.number, { title: pr.title, body: pr.body });
    return conflict;
  }
  const { previous: _previous, ...record } = recorded;
  if (theirs.tree === mine.tree) {
    await repo.updatePullRequest(pr.number, { body: replaceState(fresh.body, { ...record, commit: fresh.headOid }) });
    return { pr };
  }
  // Their policy files become the memory: whatever the other run learned is kept.
  const memory: Record<string, string> = {};
  for (const path of Object.keys(ours.memory)) {
    const full = [...facts.change!.files.keys()].find((p) => p === path || p.endsWith(`/${path}`));
    const theirsText = full === undefined ? null : await repo.readFile(fresh.headOid, full);
    if (theirsText !== null) memory[path] = theirsText;
  }
  await repo.updatePullRequest(pr.number, { body: replaceState(fresh.body, { ...record, commit: fresh.headOid, hash: '', memory }) });
  return conflict;
}

/** The rebase commands a PR's state records as served: those it had, and those this rebuild serves. */
function servedCommands(had: readonly number[] = [], serves: readonly number[] = []): { rebaseCommands?: readonly number[] } {
  const all = [...had, ...serves.filter((id) => !had.includes(id))].slice(-REBASE_COMMANDS_KEPT);
  return all.length > 0 ? { rebaseCommands: all } : {};
}

function isUpdate(pr: PullRequestInfo): boolean {
  return pr.title.startsWith('Update ');
}

function title(decision: Decision, update: boolean): string {
  const { facts } = decision;
  return pullRequestTitle({ cluster: facts.cluster, namespace: facts.namespace ?? '', update, unit: unitOf(facts.key) });
}

function unitOf(key: ProposalKey): PullRequestUnit {
  if (key.kind === 'workloads' || key.kind === 'enforce-workloads')
    return key.workload === undefined ? { kind: key.kind } : { kind: key.kind, workload: key.workload };
  return { kind: key.kind };
}

/** Where an error happened, for the dashboard: `prod/shop`, `prod/shop.appsec` ... */
function where(key: ProposalKey): string {
  return branchOf(key).slice('policy-recommender/'.length);
}

function commitMessage(key: ProposalKey, flavor: Flavor): string {
  const enforce = key.kind === 'enforce' || key.kind === 'enforce-workloads' || key.kind === 'enforce-default-deny';
  const what = key.kind === 'namespace' ? `network policy for namespace ${key.namespace}` : describeKey(key);
  const why = enforce
    ? flavor === 'cilium'
      ? "The clusterwide default deny from policy-recommender's template; merging enforces it (Cilium has no staged policies)."
      : 'The staged policy denied nothing it would deny for the configured time.'
    : key.kind === 'bootstrap'
      ? "The tiers the recommended policies name, and a staged global default deny, from policy-recommender's template."
      : 'Recommended from observed flows by policy-recommender.';
  return `policy-recommender: ${enforce ? 'enforce ' : ''}${what.replace(/ \(enforce\)$/, '')} (cluster ${key.cluster})\n\n${why}`;
}

function stateOf(
  decision: Decision,
  ctx: ApplyContext,
  commit: string,
  previous: Readonly<Record<string, RuleEvidence>>,
): PullRequestState {
  const { facts } = decision;
  const change = facts.change!;
  return {
    v: 1,
    cluster: facts.cluster,
    namespace: facts.namespace ?? '',
    engine: ctx.engineVersion,
    hash: change.hash,
    commit,
    memory: change.memory,
    evidence: evidence(change, previous),
    notified: [],
    base: { tree: ctx.head.treeSha, paths: [...change.files.keys()] },
    ...(change.quietSince === undefined ? {} : { quietSince: change.quietSince }),
  };
}

/** The policies of a change as the body shows them: one, or one per workload. */
function policySections(change: UnitChange): PolicySection[] {
  return change.reports.map((report) => {
    const workload = (report as Partial<WorkloadReport>).key;
    return workload === undefined
      ? {
          heading: change.reports.length > 1 ? { label: 'Namespace', name: report.namespace } : null,
          subject: `namespace ${report.namespace}`,
          rules: report.rules,
          evidencePrefix: '',
          self: `namespace:${report.namespace}`,
        }
      : {
          heading: change.reports.length > 1 ? { label: 'Workload', name: workload } : null,
          subject: subjectOf(report as WorkloadReport),
          rules: report.rules,
          evidencePrefix: `${workload} `,
        };
  });
}

function subjectOf(report: WorkloadReport): string {
  const [, kind, name] = report.key.split('/');
  return `${(kind ?? '').toLowerCase()} ${name ?? ''}`;
}

/** Evidence accumulated across runs, for the rules the policies have now. */
function evidence(change: UnitChange, previous: Readonly<Record<string, RuleEvidence>>): Record<string, RuleEvidence> {
  const out: Record<string, RuleEvidence> = {};
  for (const section of policySections(change))
    for (const rule of section.rules) {
      const id = section.evidencePrefix + ruleId(rule);
      const before = own(previous, id);
      if (rule.flows === 0 || rule.firstSeen === null || rule.lastSeen === null) {
        if (before) out[id] = before;
        continue;
      }
      // Flows no later than those already counted were counted already: read again in the window's
      // overlap, or carried over from a run that recorded them but failed after.
      out[id] = before
        ? rule.lastSeen <= before[2]
          ? before
          : [before[0] + rule.flows, Math.min(before[1], rule.firstSeen), Math.max(before[2], rule.lastSeen)]
        : [rule.flows, rule.firstSeen, rule.lastSeen];
    }
  return out;
}

function body(decision: Decision, ctx: ApplyContext, state: PullRequestState, update: boolean): string {
  const { facts } = decision;
  const change = facts.change!;
  const policies = policySections(change);
  return renderPullRequestBody({
    cluster: facts.cluster,
    namespace: facts.namespace ?? '',
    unit: unitOf(facts.key),
    flavor: ctx.flavor,
    status: facts.status ?? 'Learning',
    lastUpdated: change.lastUpdated,
    stabilizationPeriod: ctx.stabilizationPeriod,
    update,
    rules: policies.length === 1 ? policies[0]!.rules : [],
    // One policy without a heading is the body's plain rules table, unless its evidence is kept under a
    // workload's prefix (a per-workload PR): then the section carries the prefix and its subject.
    ...(policies.length === 1 && policies[0]!.heading === null && policies[0]!.evidencePrefix === '' ? {} : { policies }),
    evidence: state.evidence,
    ...(change.simulation ? { simulation: change.simulation } : {}),
    enforceAfter: ctx.enforceAfter,
    warnings: change.warnings,
    files: [...change.files.keys()].map((path) => ({ path, added: change.added.has(path) })),
    skippedLines: ctx.skippedLines,
    state,
  });
}

/** Our labels (the recommendation label, the status, the configured extras); people's stay. */
function labels(current: readonly string[], decision: Decision, ctx: ApplyContext): string[] {
  const ours = new Set<string>([RECOMMENDATION_LABEL, statusLabel(decision.facts), ...ctx.extraLabels]);
  const theirs = current.filter((l) => !(STATUS_LABELS as readonly string[]).includes(l) && l !== REBASE_LABEL && !ours.has(l));
  return [...ours, ...theirs];
}

async function syncLabelsAndDraft(
  pr: PullRequestInfo,
  decision: Decision,
  ctx: ApplyContext,
  state: PullRequestState,
  body: string,
): Promise<void> {
  const wanted = labels(pr.labels, decision, ctx);
  // Added and removed one by one, never set as a whole: a label a person adds during the run stays
  // (and the rebase label is removed only when this run read it, so it served it).
  const add = wanted.filter((l) => !pr.labels.includes(l));
  if (add.length > 0) await ctx.repository.addLabels(pr.number, add);
  for (const label of pr.labels.filter((l) => !wanted.includes(l))) await ctx.repository.removeLabel(pr.number, label);
  const draft = decision.facts.status !== 'Stable';
  if (state.noDrafts || pr.draft === draft) return;
  try {
    await ctx.repository.setDraft(pr, draft);
  } catch (e) {
    // Drafts unavailable here after all: remember it; the status label stands in.
    if (!/draft/i.test((e as Error).message)) throw e;
    await ctx.repository.updatePullRequest(pr.number, { body: replaceState(body, { ...state, noDrafts: true }) });
  }
}
