// The body of a recommendation pull request, rendered from data: what the PR does and what merge
// and close mean, the rules with their evidence, a graph of the namespace's peers, warnings, the
// files, and the hidden state. GitHub limits bodies to 65,536 characters: the rule table and graph
// shrink before anything else does, and the hidden state is never cut.

import type { Flavor } from '../../config/recommendation-config.ts';
import { formatDuration } from '../../config/duration.ts';
import type { RuleReport, Warning } from '../../engine/report.ts';
import type { RecommendationStatus } from '../../engine/status.ts';
import { formatTime } from '../../engine/provenance.ts';
import { encodeState, REBASE_LABEL, type PullRequestState, type RuleEvidence } from '../state/pull-request-state.ts';
import { code, plural, table, text, timestamp } from './markdown.ts';
import { namespaceGraph, type GraphEdge } from './mermaid.ts';

export const MAX_BODY = 65_536;

export interface PullRequestContent {
  readonly cluster: string;
  readonly namespace: string;
  readonly flavor: Flavor;
  readonly status: RecommendationStatus;
  readonly lastUpdated: string | null;
  readonly stabilizationPeriod: number;
  /** The policy is already on the default branch: this PR adds traffic seen since it was merged. */
  readonly update: boolean;
  readonly rules: readonly RuleReport[];
  readonly evidence: Readonly<Record<string, RuleEvidence>>;
  readonly warnings: readonly Warning[];
  /** Repository paths and whether each is new. */
  readonly files: readonly { path: string; added: boolean }[];
  readonly skippedLines: number;
  readonly state: PullRequestState;
}

export function pullRequestTitle(content: { cluster: string; namespace: string; update: boolean }): string {
  return `${content.update ? 'Update network policy' : 'Network policy'} for namespace ${content.namespace} (cluster ${content.cluster})`;
}

/** The evidence key of a rule: stable while ports are added to it. */
export function ruleId(rule: RuleReport): string {
  return `${rule.direction} ${rule.action} ${rule.category} ${rule.protocol} ${rule.peers.join(',')}`;
}

export function renderPullRequestBody(c: PullRequestContent, budget = MAX_BODY): string {
  const marker = encodeState(c.state);
  for (const detail of [{ rows: Infinity, graph: true }, { rows: 100, graph: true }, { rows: 30, graph: false }, { rows: 0, graph: false }]) {
    const body = `${sections(c, detail.rows, detail.graph).join('\n\n')}\n\n${marker}\n`;
    if (body.length <= budget) return body;
  }
  return `${intro(c)}\n\nThe details do not fit in a pull request body; see the files.\n\n${marker}\n`;
}

function intro(c: PullRequestContent): string {
  const kind = c.flavor === 'kubernetes' ? 'Kubernetes `NetworkPolicy`' : 'staged Calico policy';
  const what = c.update
    ? `This adds to the accepted policy of namespace ${code(c.namespace)} (cluster ${code(c.cluster)}) the traffic observed since it was merged.`
    : `This proposes a ${kind} for namespace ${code(c.namespace)} (cluster ${code(c.cluster)}) that allows exactly the traffic observed in its flow logs.`;
  const merge =
    c.flavor === 'kubernetes'
      ? '- **Merge** to accept it: Argo CD or Flux apply it, and Kubernetes **enforces** it.'
      : '- **Merge** to accept it: Argo CD or Flux apply it as a staged policy; Calico reports what it would deny and denies nothing yet.';
  return [
    `## ${text(pullRequestTitle(c))}`,
    what,
    [merge, '- **Close** to dismiss it: this namespace is not proposed again (reopen the pull request to undo).'].join('\n'),
  ].join('\n\n');
}

function statusLine(c: PullRequestContent): string {
  const since = c.lastUpdated ? ` Its rules last changed at ${timestamp(c.lastUpdated)}.` : '';
  switch (c.status) {
    case 'Learning':
      return `**Status: Learning.** New traffic was seen recently.${since} It becomes ready for review once its rules have not changed for ${formatDuration(c.stabilizationPeriod)}.`;
    case 'Stabilizing':
      return `**Status: Stabilizing.**${since} It becomes ready for review once its rules have not changed for ${formatDuration(c.stabilizationPeriod)}.`;
    case 'Stable':
      return `**Status: Ready for review.** The rules have not changed for ${formatDuration(c.stabilizationPeriod)}.${since}`;
  }
}

function sections(c: PullRequestContent, maxRows: number, graph: boolean): string[] {
  const out = [intro(c), statusLine(c)];
  out.push(`### Rules\n\n${rulesTable(c, maxRows)}`);
  if (graph && c.rules.length > 0) out.push(`### Traffic\n\n${namespaceGraph(c.namespace, edges(c.rules))}`);
  const notes = warnings(c);
  if (notes !== '') out.push(`### Warnings\n\n${notes}`);
  out.push(`### Files\n\n${c.files.map((f) => `- ${code(f.path)}${f.added ? ' (new)' : ''}`).join('\n')}`);
  out.push(
    [
      '<details><summary>Controls</summary>',
      '',
      `- Add the label ${code(REBASE_LABEL)} to regenerate this pull request (discarding commits others made to its branch).`,
      '- Comment `/policy-recommender run` to refresh it now.',
      '- Edits you push to the branch are kept: the bot then stops updating it until you ask for a rebase.',
      '',
      '</details>',
    ].join('\n'),
  );
  return out;
}

function rulesTable(c: PullRequestContent, maxRows: number): string {
  if (c.rules.length === 0) return 'No rules.';
  const rows = c.rules.slice(0, maxRows === Infinity ? undefined : maxRows).map((rule, i) => {
    const e = c.evidence[ruleId(rule)];
    return [
      String(i + 1),
      rule.direction,
      rule.action,
      rule.peers.map(code).join(', '),
      code(rule.protocol),
      rule.ports.length > 0 ? rule.ports.map(code).join(', ') : 'any',
      e ? String(e[0]) : '0',
      e ? formatTime(e[1]) : '-',
      e ? formatTime(e[2]) : '-',
      rule.changed ? 'new' : '',
    ];
  });
  const more = c.rules.length > rows.length ? `\n\n${plural(c.rules.length - rows.length, 'more rule')} in the file.` : '';
  return table(['#', 'Direction', 'Action', 'Peer', 'Protocol', 'Ports', 'Flows seen', 'First seen', 'Last seen', ''], rows) + more;
}

function edges(rules: readonly RuleReport[]): GraphEdge[] {
  const byPeer = new Map<string, { direction: 'ingress' | 'egress'; peer: string; traffic: Set<string> }>();
  for (const rule of rules) {
    for (const peer of rule.peers) {
      const key = `${rule.direction} ${peer}`;
      const entry = byPeer.get(key) ?? { direction: rule.direction, peer: peerName(peer, rule.category), traffic: new Set<string>() };
      entry.traffic.add(`${rule.protocol}${rule.ports.length > 0 ? ` ${rule.ports.join(',')}` : ''}`);
      byPeer.set(key, entry);
    }
  }
  return [...byPeer.values()].map((e) => ({ direction: e.direction, peer: e.peer, traffic: [...e.traffic].join('; ') }));
}

function peerName(peer: string, category: string): string {
  if (category === 'Custom') return 'custom rule';
  const [kind, ...rest] = peer.split(':');
  const name = rest.join(':');
  switch (kind) {
    case 'namespace':
      return `namespace ${name}`;
    case 'networkset':
    case 'globalnetworkset':
      return `network set ${name}`;
    case 'service':
      return `service ${name}`;
    case 'private':
      return 'private networks';
    case 'private-ipv6':
      return 'private IPv6 networks';
    case 'public':
      return 'public internet';
    default:
      return category === 'Domains' ? 'domains' : peer;
  }
}

function warnings(c: PullRequestContent): string {
  const lines = c.warnings.map((w) => `- ${text(w.message)}`);
  if (c.skippedLines > 0) lines.push(`- ${plural(c.skippedLines, 'flow log input')} could not be read and were skipped (see the dashboard).`);
  return lines.join('\n');
}
