// Doing: carries out one decision against the repository, with as few requests as the action
// allows (open: 5, update: at most 6, refresh: at most 3). Each PR gets exactly one commit on top
// of the default branch head; labels people added are kept.

import type { Flavor } from '../../config/recommendation-config.ts';
import type { RuleReport } from '../../engine/report.ts';
import { RepositoryConflict, type BranchHead, type PullRequestInfo, type Repository } from '../github/repository.ts';
import { pullRequestTitle, renderPullRequestBody, ruleId } from '../render/pull-request-body.ts';
import { code } from '../render/markdown.ts';
import {
  branchName,
  OBSOLETE_MARKER,
  RECOMMENDATION_LABEL,
  REBASE_LABEL,
  replaceState,
  STATUS_LABELS,
  type PullRequestState,
  type RuleEvidence,
} from '../state/pull-request-state.ts';
import type { Decision } from './decide.ts';

const EDITED_MARKER = '<!-- policy-recommender:edited -->';

export interface ApplyContext {
  readonly repository: Repository;
  readonly head: BranchHead;
  readonly engineVersion: string;
  readonly flavor: Flavor;
  readonly stabilizationPeriod: number;
  readonly extraLabels: readonly string[];
  readonly skippedLines: number;
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
        const branch = branchName(facts.cluster, facts.namespace);
        const commit = await repo.commit(ctx.head, facts.recommendation!.files, commitMessage(facts.cluster, facts.namespace));
        await repo.setBranch(branch, commit, { create: true });
        const state = stateOf(decision, ctx, commit, {});
        const draft = facts.status !== 'Stable';
        const pr = await repo.createPullRequest({ branch, title: title(decision, action.update), body: body(decision, ctx, state, action.update), draft });
        await repo.setLabels(pr.number, labels([], decision, ctx));
        // Drafts unavailable (private repository on a free plan): remember it, the label stands in.
        if (draft && !pr.draft) await repo.updatePullRequest(pr.number, { body: body(decision, ctx, { ...state, noDrafts: true }, action.update) });
        return { pr };
      }
      case 'update': {
        const pr = action.pr;
        const commit = await repo.commit(ctx.head, facts.recommendation!.files, commitMessage(facts.cluster, facts.namespace));
        const evidence = action.rebase ? {} : (facts.state?.evidence ?? {});
        // The new commit is recorded before the branch moves to it, with the current head as
        // `previous`: a run stopped in between leaves a head the next run knows as its own.
        const state: PullRequestState = {
          ...stateOf(decision, ctx, commit, evidence),
          ...(action.rebase ? {} : { previous: pr.headOid }),
          ...(facts.state?.noDrafts ? { noDrafts: true as const } : {}),
        };
        const update = isUpdate(pr);
        const text = body(decision, ctx, state, update);
        await repo.updatePullRequest(pr.number, { title: title(decision, update), body: text });
        await repo.setBranch(pr.branch, commit, { create: false });
        await syncLabelsAndDraft(pr, decision, ctx, state, text);
        return { pr };
      }
      case 'refresh': {
        const pr = action.pr;
        const state = { ...facts.state!, evidence: evidence(facts.recommendation!.report.rules, facts.state!.evidence) };
        const text = body(decision, ctx, state, isUpdate(pr));
        await repo.updatePullRequest(pr.number, { body: text });
        await syncLabelsAndDraft(pr, decision, ctx, state, text);
        return { pr };
      }
      case 'close': {
        const pr = action.pr;
        // The reason goes into the body in the same request that closes it: nothing to repeat
        // or lose if the run stops half-way.
        const note = `> **Closed by policy-recommender:** ${action.reason}. A new pull request is opened if new traffic needs one.\n\n${OBSOLETE_MARKER}\n\n`;
        await repo.updatePullRequest(pr.number, { state: 'closed', body: note + pr.body });
        await repo.deleteBranch(pr.branch);
        return {};
      }
      case 'notify-edited': {
        const pr = action.pr;
        // Exactly once, even if a run stops between saying it and recording that it was said.
        if (!(await repo.hasComment(pr.number, EDITED_MARKER))) {
          await repo.comment(
            pr.number,
            `Someone else changed this branch, so policy-recommender stopped updating this pull request: your edits are yours. ` +
              `To have it regenerated (discarding those edits), add the label ${code(REBASE_LABEL)}.\n\n${EDITED_MARKER}`,
          );
        }
        const state = facts.state;
        if (state !== null) await repo.updatePullRequest(pr.number, { body: replaceState(pr.body, { ...state, notified: [...state.notified, 'edited'] }) });
        return { pr };
      }
    }
  } catch (e) {
    if (e instanceof RepositoryConflict) return { error: e.message };
    return { error: `${facts.cluster}/${facts.namespace}: ${(e as Error).message}` };
  }
}

function isUpdate(pr: PullRequestInfo): boolean {
  return pr.title.startsWith('Update ');
}

function title(decision: Decision, update: boolean): string {
  return pullRequestTitle({ cluster: decision.facts.cluster, namespace: decision.facts.namespace, update });
}

function commitMessage(cluster: string, namespace: string): string {
  return `policy-recommender: network policy for namespace ${namespace} (cluster ${cluster})\n\nRecommended from observed flows by policy-recommender.`;
}

function stateOf(decision: Decision, ctx: ApplyContext, commit: string, previous: Readonly<Record<string, RuleEvidence>>): PullRequestState {
  const { facts } = decision;
  const r = facts.recommendation!;
  return {
    v: 1,
    cluster: facts.cluster,
    namespace: facts.namespace,
    engine: ctx.engineVersion,
    hash: r.hash,
    commit,
    policyPath: r.policyPath,
    policy: r.policy,
    evidence: evidence(r.report.rules, previous),
    notified: [],
  };
}

/** Evidence accumulated across runs, for the rules the policy has now. */
function evidence(rules: readonly RuleReport[], previous: Readonly<Record<string, RuleEvidence>>): Record<string, RuleEvidence> {
  const out: Record<string, RuleEvidence> = {};
  for (const rule of rules) {
    const id = ruleId(rule);
    const before = previous[id];
    if (rule.flows === 0 || rule.firstSeen === null || rule.lastSeen === null) {
      if (before) out[id] = before;
      continue;
    }
    out[id] = before
      ? [before[0] + rule.flows, Math.min(before[1], rule.firstSeen), Math.max(before[2], rule.lastSeen)]
      : [rule.flows, rule.firstSeen, rule.lastSeen];
  }
  return out;
}

function body(decision: Decision, ctx: ApplyContext, state: PullRequestState, update: boolean): string {
  const { facts } = decision;
  const r = facts.recommendation!;
  return renderPullRequestBody({
    cluster: facts.cluster,
    namespace: facts.namespace,
    flavor: ctx.flavor,
    status: facts.status ?? 'Learning',
    lastUpdated: r.report.lastUpdated,
    stabilizationPeriod: ctx.stabilizationPeriod,
    update,
    rules: r.report.rules,
    evidence: state.evidence,
    warnings: r.warnings,
    files: [...r.files.keys()].map((path) => ({ path, added: r.added.has(path) })),
    skippedLines: ctx.skippedLines,
    state,
  });
}

/** Our labels (the recommendation label, the status, the configured extras); people's stay. */
function labels(current: readonly string[], decision: Decision, ctx: ApplyContext): string[] {
  const status = decision.facts.status ?? 'Learning';
  const ours = new Set<string>([RECOMMENDATION_LABEL, status, ...ctx.extraLabels]);
  const theirs = current.filter((l) => !(STATUS_LABELS as readonly string[]).includes(l) && l !== REBASE_LABEL && !ours.has(l));
  return [...ours, ...theirs];
}

async function syncLabelsAndDraft(pr: PullRequestInfo, decision: Decision, ctx: ApplyContext, state: PullRequestState, body: string): Promise<void> {
  const wanted = labels(pr.labels, decision, ctx);
  if (wanted.length !== pr.labels.length || wanted.some((l) => !pr.labels.includes(l))) await ctx.repository.setLabels(pr.number, wanted);
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
