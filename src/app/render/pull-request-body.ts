// The body of a recommendation pull request, rendered from data: what the PR does and what merge
// and close mean, the rules with their evidence, a graph of the peers, what the policies would
// do to the observed flows (simulated), warnings, the files, and the hidden state. One renderer
// for every kind of unit: a namespace's isolation policy, its workloads' policies, an
// enforcement. GitHub limits bodies to 65,536 characters: the rule tables and graphs shrink
// before anything else does, and the hidden state is never cut.

import { protocolHasPorts, protocolName, ruleProtocol } from '../../calico/protocol.ts';
import { formatDuration } from '../../config/duration.ts';
import type { Flavor } from '../../config/recommendation-config.ts';
import { formatTime } from '../../engine/provenance.ts';
import type { RuleReport, Warning } from '../../engine/report.ts';
import type { RecommendationStatus } from '../../engine/status.ts';
import type { SimulatedFlowRow, SimulationSummary } from '../../plan/lifecycle/unit.ts';
import { encodeState, type PullRequestState, REBASE_LABEL, type RuleEvidence } from '../state/pull-request-state.ts';
import { renderBootstrapBody } from './bootstrap-body.ts';
import { code, plural, table, text, timestamp } from './markdown.ts';
import { type GraphEdge, trafficGraph } from './mermaid.ts';

export const MAX_BODY = 65_536;

/** What the PR is for (default: the namespace's isolation policy). */
export type PullRequestUnit =
  | { readonly kind: 'namespace' }
  | { readonly kind: 'workloads'; readonly workload?: string }
  | { readonly kind: 'enforce' }
  | { readonly kind: 'enforce-workloads'; readonly workload?: string }
  | { readonly kind: 'enforce-default-deny' }
  | { readonly kind: 'bootstrap' };

/** One policy of the PR, with its rules: the namespace's, or each workload's. */
export interface PolicySection {
  /** Shown above the policy's rules when the PR has several policies: `Workload <name>`. */
  readonly heading: { readonly label: string; readonly name: string } | null;
  /** The centre of its traffic graph, e.g. `namespace shop` or `deployment web`. */
  readonly subject: string;
  readonly rules: readonly RuleReport[];
  /** Prefix of its rules' evidence keys (rules of different workloads can look alike). */
  readonly evidencePrefix: string;
  /** The peer key (engine/model.ts peerKey) of the subject's own pods, e.g. `namespace:shop`: its traffic within itself. */
  readonly self?: string;
}

export interface PullRequestContent {
  readonly cluster: string;
  readonly namespace: string;
  readonly unit?: PullRequestUnit;
  readonly flavor: Flavor;
  readonly status: RecommendationStatus;
  readonly lastUpdated: string | null;
  readonly stabilizationPeriod: number;
  /** The policy is already on the default branch: this PR adds traffic seen since it was merged. */
  readonly update: boolean;
  /** The namespace policy's rules (unit `namespace`, `enforce`); see `policies` for several. */
  readonly rules: readonly RuleReport[];
  /** Several policies (unit `workloads`): each with its own rules. */
  readonly policies?: readonly PolicySection[];
  readonly evidence: Readonly<Record<string, RuleEvidence>>;
  readonly simulation?: SimulationSummary;
  /** Enforcement: how long the staged policy has been quiet for the PR to be proposed (seconds). */
  readonly enforceAfter?: number;
  readonly warnings: readonly Warning[];
  /** Repository paths and whether each is new. */
  readonly files: readonly { path: string; added: boolean }[];
  readonly skippedLines: number;
  readonly state: PullRequestState;
}

export function pullRequestTitle(content: { cluster: string; namespace: string; update: boolean; unit?: PullRequestUnit }): string {
  const unit = content.unit ?? { kind: 'namespace' };
  const cluster = `(cluster ${content.cluster})`;
  switch (unit.kind) {
    case 'namespace':
      return `${content.update ? 'Update network policy' : 'Network policy'} for namespace ${content.namespace} ${cluster}`;
    case 'workloads': {
      const what =
        unit.workload === undefined
          ? `policies for the workloads of namespace ${content.namespace}`
          : `policy for workload ${unit.workload}`;
      return `${content.update ? 'Update workload' : 'Workload'} ${what} ${cluster}`;
    }
    case 'enforce':
      return `Enforce the network policy of namespace ${content.namespace} ${cluster}`;
    case 'enforce-workloads':
      return unit.workload === undefined
        ? `Enforce the workload policies of namespace ${content.namespace} ${cluster}`
        : `Enforce the workload policy of ${unit.workload} ${cluster}`;
    case 'enforce-default-deny':
      return `Enforce the global default deny ${cluster}`;
    case 'bootstrap':
      return `Cluster-wide policy files: tiers and a staged default deny ${cluster}`;
  }
}

/** The evidence key of a rule: stable while ports are added to it. */
export function ruleId(rule: RuleReport): string {
  return `${rule.direction} ${rule.action} ${rule.category} ${rule.protocol} ${rule.peers.join(',')}`;
}

export function renderPullRequestBody(c: PullRequestContent, budget = MAX_BODY): string {
  if (c.unit?.kind === 'bootstrap')
    return renderBootstrapBody({ cluster: c.cluster, title: pullRequestTitle(c), files: c.files, warnings: c.warnings, state: c.state });
  const marker = encodeState(c.state);
  for (const detail of [
    { rows: Infinity, graph: true },
    { rows: 100, graph: true },
    { rows: 30, graph: false },
    { rows: 0, graph: false },
  ]) {
    const body = `${sections(c, detail.rows, detail.graph).join('\n\n')}\n\n${marker}\n`;
    if (body.length <= budget) return body;
  }
  return `${intro(c)}\n\nThe details do not fit in a pull request body; see the files.\n\n${marker}\n`;
}

/**
 * Why a Cilium PR is the staging: Cilium has no staged policies. Its audit mode is per endpoint or
 * per node (`policy-audit-mode`, `PolicyAuditMode` of `cilium endpoint config`), never per policy
 * (cilium Documentation/security/policy-creation.rst, as /work/notes/cilium-semantics.md 1.4
 * quotes it), and cilium.io/v2 has no staged kind (pkg/k8s/apis/cilium.io/v2/register.go, as
 * cilium-cli vendors v1.20.0-pre.4: CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, no other policy kind).
 */
function ciliumStaging(c: PullRequestContent, them: boolean): string {
  return `Cilium has no staged policies (its audit mode is per endpoint or per node, not per policy), so this pull request is where ${them ? 'they are' : 'it is'} staged: every run checks the flows Hubble observed against ${them ? 'them' : 'it'}, and it is ready for review only once nothing ${them ? 'they' : 'it'} would deny has been seen for ${formatDuration(c.stabilizationPeriod)}.`;
}

function ciliumIntro(c: PullRequestContent, unit: PullRequestUnit): string {
  const where = `(cluster ${code(c.cluster)})`;
  const them = unit.kind === 'workloads' && unit.workload === undefined;
  const what =
    unit.kind === 'enforce-default-deny'
      ? `Every selected namespace of cluster ${code(c.cluster)} has its isolation policy merged. This adds the template's clusterwide default deny (a ${code('CiliumClusterwideNetworkPolicy')}): Cilium then drops whatever no policy allows, outside the namespaces it leaves out.`
      : unit.kind === 'workloads'
        ? c.update
          ? `This adds to the merged ${them ? 'policies of the workloads' : `policy of workload ${code(unit.workload ?? '')}`} of namespace ${code(c.namespace)} ${where} the traffic observed since.`
          : `This proposes ${them ? `a ${code('CiliumNetworkPolicy')} for every selected workload of namespace ${code(c.namespace)}` : `a ${code('CiliumNetworkPolicy')} for workload ${code(unit.workload ?? '')}`} ${where}: ${them ? 'each allows' : 'it allows'} the traffic its workload was seen to have, as the peer column says (a warning says where a rule had to allow more). The namespace's policy leaves ${them ? 'these workloads' : 'this workload'} out: Cilium's allow rules add up, so its broader rules would undo the narrowing.`
        : c.update
          ? `This updates the merged (so enforced) policy of namespace ${code(c.namespace)} ${where}: it adds the traffic observed since it was merged, and leaves out the pods of workloads whose own policies were merged since (Cilium's allow rules add up: its broader rules would undo their narrowing).`
          : `This proposes a ${code('CiliumNetworkPolicy')} for namespace ${code(c.namespace)} ${where} that allows the traffic observed in its Hubble flows: each rule below allows what its peer column says, no more (where a rule had to allow more than was seen, a warning says so).`;
  const merge = `- **Merge** to enforce ${them ? 'them' : 'it'} at once: Argo CD or Flux apply ${them ? 'them' : 'it'}, and Cilium **drops** what ${them ? 'they do' : 'it does'} not allow.`;
  const close =
    unit.kind === 'enforce-default-deny'
      ? '- **Close** to leave the cluster without a default deny: it is not proposed again (reopen the pull request to undo).'
      : `- **Close** to dismiss ${them ? 'them' : 'it'}: ${unit.kind === 'workloads' ? (them ? 'these workloads are' : 'this workload is') : 'this namespace is'} not proposed again (reopen the pull request to undo).`;
  return [what, ciliumStaging(c, them), [merge, close].join('\n')].join('\n\n');
}

function intro(c: PullRequestContent): string {
  const unit = c.unit ?? { kind: 'namespace' };
  if (c.flavor === 'cilium') return ciliumIntro(c, unit);
  if (unit.kind === 'enforce' || unit.kind === 'enforce-workloads' || unit.kind === 'enforce-default-deny') return enforceIntro(c, unit);
  if (unit.kind === 'workloads') return workloadsIntro(c, unit.workload);
  const kind = c.flavor === 'kubernetes' ? `staged Kubernetes policy (${code('StagedKubernetesNetworkPolicy')})` : 'staged Calico policy';
  const what = c.update
    ? `This adds to the accepted policy of namespace ${code(c.namespace)} (cluster ${code(c.cluster)}) the traffic observed since it was merged.`
    : `This proposes a ${kind} for namespace ${code(c.namespace)} (cluster ${code(c.cluster)}) that allows the traffic observed in its flow logs: each rule below allows what its peer column says, no more (where a rule had to allow more than was seen, a warning says so).`;
  const merge =
    '- **Merge** to accept it: Argo CD or Flux apply it as a staged policy; Calico reports what it would deny and denies nothing yet.';
  // GitHub shows the title above the body: the body does not repeat it.
  return [
    what,
    [merge, '- **Close** to dismiss it: this namespace is not proposed again (reopen the pull request to undo).'].join('\n'),
  ].join('\n\n');
}

function workloadsIntro(c: PullRequestContent, workload: string | undefined): string {
  const which = workload === undefined ? `every selected workload of namespace ${code(c.namespace)}` : `workload ${code(workload)}`;
  const one = workload !== undefined;
  const what = c.update
    ? `This adds to the accepted microsegmentation ${one ? 'policy' : 'policies'} of ${which} (cluster ${code(c.cluster)}) the traffic observed since ${one ? 'it was' : 'they were'} merged.`
    : one
      ? `This proposes a staged Calico policy in the microsegmentation tier for ${which} (cluster ${code(c.cluster)}): it allows the traffic the workload was seen to have, as its rules' peer column says (a warning says where a rule had to allow more). The namespace's isolation policy passes traffic within the namespace on to it.`
      : `This proposes staged Calico policies in the microsegmentation tier for ${which} (cluster ${code(c.cluster)}): each allows the traffic its workload was seen to have, as its rules' peer columns say (a warning says where a rule had to allow more). The namespace's isolation policy passes traffic within the namespace on to them.`;
  return [
    what,
    [
      one
        ? '- **Merge** to accept it: Argo CD or Flux apply it as a staged policy; Calico reports what it would deny and denies nothing yet.'
        : '- **Merge** to accept them: Argo CD or Flux apply them as staged policies; Calico reports what they would deny and denies nothing yet.',
      `- **Close** to dismiss them: ${workload === undefined ? 'these workloads are' : 'this workload is'} not proposed again (reopen the pull request to undo).`,
    ].join('\n'),
  ].join('\n\n');
}

function enforceIntro(
  c: PullRequestContent,
  unit: PullRequestUnit & { kind: 'enforce' | 'enforce-workloads' | 'enforce-default-deny' },
): string {
  const quiet = c.simulation?.quietSince;
  const evidence =
    quiet === undefined
      ? ''
      : ` Since ${timestamp(formatTime(quiet))}${c.enforceAfter ? ` (at least ${formatDuration(c.enforceAfter)})` : ''} it has denied nothing it would deny.`;
  const what =
    unit.kind === 'enforce'
      ? `This enforces the accepted staged policy of namespace ${code(c.namespace)} (cluster ${code(c.cluster)}): the ${code(c.flavor === 'kubernetes' ? 'StagedKubernetesNetworkPolicy' : 'StagedNetworkPolicy')} becomes a ${code(c.flavor === 'kubernetes' ? 'networking.k8s.io/v1 NetworkPolicy' : 'NetworkPolicy')} with the same rules.${evidence}`
      : unit.kind === 'enforce-workloads'
        ? `This enforces the accepted microsegmentation ${unit.workload === undefined ? `policies of the workloads of namespace ${code(c.namespace)}` : `policy of workload ${code(unit.workload)}`} (cluster ${code(c.cluster)}): each ${code('StagedNetworkPolicy')} becomes a ${code('NetworkPolicy')} with the same rules.${evidence}`
        : `Every selected namespace of cluster ${code(c.cluster)} has an enforced isolation policy. This enforces the staged global default deny: the ${code('StagedGlobalNetworkPolicy')} becomes a ${code('GlobalNetworkPolicy')}, which denies whatever no policy allows.`;
  // A namespace's workloads' policies are several; every other enforcement is of one policy.
  const several = unit.kind === 'enforce-workloads' && unit.workload === undefined;
  return [
    what,
    [
      several
        ? '- **Merge** to enforce them: Argo CD or Flux apply them, and Calico **denies** what they do not allow.'
        : '- **Merge** to enforce it: Argo CD or Flux apply it, and Calico **denies** what it does not allow.',
      several
        ? '- **Close** to keep them staged: enforcing them is not proposed again (reopen the pull request to undo).'
        : '- **Close** to keep it staged: enforcing it is not proposed again (reopen the pull request to undo).',
    ].join('\n'),
  ].join('\n\n');
}

/** A Cilium PR's status: its rules unchanged, and nothing it would deny seen, for the stabilization period. */
function ciliumStatusLine(c: PullRequestContent): string {
  const period = formatDuration(c.stabilizationPeriod);
  const since = c.lastUpdated ? ` Its rules last changed at ${timestamp(c.lastUpdated)}.` : '';
  const lastDenied = c.simulation?.lastDenied;
  const denied = lastDenied === undefined ? '' : ` It would have denied observed traffic at ${timestamp(formatTime(lastDenied))}.`;
  const quiet = c.simulation?.quietSince;
  // Both clocks must have run: the rules' (since they last changed) and the denials' (since quiet).
  const changed = c.lastUpdated === null ? Number.NaN : Date.parse(c.lastUpdated) / 1000;
  const ready = quiet === undefined ? 0 : Math.max(quiet, Number.isFinite(changed) ? changed : quiet) + c.stabilizationPeriod;
  const earliest =
    quiet === undefined
      ? ''
      : ` Nothing it would deny has been seen since ${timestamp(formatTime(quiet))}: ready after ${timestamp(formatTime(ready))} at the earliest.`;
  // The default deny has no rules of its own to learn: only what it would deny counts.
  const rules = c.unit?.kind !== 'enforce-default-deny';
  const when = `It becomes ready for review once ${rules ? 'its rules have not changed, and ' : ''}nothing it would deny has been seen, for ${period}.`;
  switch (c.status) {
    case 'Learning':
      return `**Status: Learning.** New traffic was seen recently.${since}${denied} ${when}`;
    case 'Stabilizing':
      return `**Status: Stabilizing.**${since}${denied} ${when}${earliest}`;
    case 'Stable':
      return `**Status: Ready for review.** ${rules ? 'Its rules have not changed, and nothing' : 'Nothing'} it would deny has been seen, for ${period}.${since}`;
  }
}

function statusLine(c: PullRequestContent): string {
  const unit = c.unit ?? { kind: 'namespace' };
  if (c.flavor === 'cilium') return ciliumStatusLine(c);
  if (unit.kind === 'enforce' || unit.kind === 'enforce-workloads' || unit.kind === 'enforce-default-deny')
    return '**Status: Ready for review.**';
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

function policiesOf(c: PullRequestContent): readonly PolicySection[] {
  return (
    c.policies ?? [
      { heading: null, subject: `namespace ${c.namespace}`, rules: c.rules, evidencePrefix: '', self: `namespace:${c.namespace}` },
    ]
  );
}

const MAX_GRAPH_EDGES = 500;
const MAX_GRAPH_TEXT = 50_000;

function sections(c: PullRequestContent, maxRows: number, graph: boolean): string[] {
  const out = [intro(c), statusLine(c)];
  const policies = policiesOf(c);
  for (const policy of policies) {
    const heading = policy.heading === null ? '### Rules' : `### ${text(policy.heading.label)} ${code(policy.heading.name)}`;
    out.push(`${heading}\n\n${rulesTable(policy, c.evidence, maxRows)}`);
    const graphEdges = graph && policy.rules.length > 0 ? edges(policy.rules, policy.self) : [];
    const traffic = policies.length > 1 ? '#### Traffic' : '### Traffic';
    // Mermaid draws at most `maxEdges` edges from at most `maxTextSize` characters of source (500 and
    // 50,000 by default: mermaid-js/mermaid packages/mermaid/src/schemas/config.schema.yaml); past
    // either, GitHub would show an error, not a graph.
    const drawn = graphEdges.length > 0 && graphEdges.length <= MAX_GRAPH_EDGES ? trafficGraph(policy.subject, graphEdges) : null;
    if (graphEdges.length > MAX_GRAPH_EDGES)
      out.push(
        `${traffic}\n\n${plural(graphEdges.length, 'edge')}: more than a graph GitHub can draw (Mermaid's limit is ${MAX_GRAPH_EDGES}).`,
      );
    else if (drawn !== null && drawn.length > MAX_GRAPH_TEXT)
      out.push(
        `${traffic}\n\nThe graph's source is ${drawn.length} characters: more than GitHub can draw (Mermaid's limit is ${MAX_GRAPH_TEXT}).`,
      );
    else if (drawn !== null) out.push(`${traffic}\n\n${drawn}`);
  }
  if (c.simulation)
    out.push(
      `### Simulated against the observed flows\n\n${simulation(c.simulation, c.unit?.kind === 'enforce-default-deny', c.flavor === 'cilium')}`,
    );
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

/**
 * GitHub's PR conversation column holds about 100 characters of table text in a row before it
 * scrolls: the rules table's columns are sized to fit (`RULES_TABLE_WIDTH`), and a peer or port
 * list too long for its cell is shortened there and given in full in a note under the table.
 */
export const RULES_TABLE_WIDTH = 100;
const RULE_CELL = 28;
const PEER_CELL = 40;
/** Flow counts from 10,000 up in three significant digits (`12.3K`): the column stays five characters wide. */
const FLOWS = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 3 });

function rulesTable(policy: PolicySection, evidence: Readonly<Record<string, RuleEvidence>>, maxRows: number): string {
  if (policy.rules.length === 0) return 'No rules.';
  // No room for a single row: a sentence, not a table of headers alone.
  if (maxRows === 0) return `${plural(policy.rules.length, 'rule')}, too many to list here: see the file.`;
  const notes = new Map<string, number>();
  const note = (full: string): string => {
    if (!notes.has(full)) notes.set(full, notes.size + 1);
    return `[${notes.get(full)}]`;
  };
  const rows = policy.rules.slice(0, maxRows === Infinity ? undefined : maxRows).map((rule, i) => {
    const e = evidence[policy.evidencePrefix + ruleId(rule)];
    return [
      String(i + 1),
      text(fitted(ruleText(rule), RULE_CELL, note, () => `${rule.action} ${rule.direction} ${protocolName(rule.protocol)} ports`)),
      text(fitted(rule.category === 'Custom' ? `custom rule: ${rule.remote}` : rule.remote, PEER_CELL, note, (full) => shortPeer(full))),
      e ? (e[0] < 10_000 ? String(e[0]) : FLOWS.format(e[0])) : '0',
      e ? formatTime(e[2]).slice(0, 10) : '-',
      rule.changed ? 'yes' : '',
    ];
  });
  const more = policy.rules.length > rows.length ? `\n\n${plural(policy.rules.length - rows.length, 'more rule')} in the file.` : '';
  const legend = notes.size === 0 ? '' : `\n\n${[...notes].map(([full, n]) => `- ${text(`[${n}]`)} ${text(full)}`).join('\n')}`;
  return table(['#', 'Rule', 'Peer', 'Flows', 'Last seen', 'New'], rows) + legend + more;
}

/** `Allow egress TCP 443, 8443`: action, direction, protocol and ports (a flavour's `TCP/443` shown as `443`). */
function ruleText(rule: RuleReport): string {
  const ports = rule.ports.map((p) => (p.startsWith(`${rule.protocol}/`) ? p.slice(rule.protocol.length + 1) : p));
  // A protocol without ports (GRE, ICMP) has no "any port" to say.
  const protocol = ruleProtocol(rule.protocol);
  const portText = ports.length > 0 ? ` ${ports.join(', ')}` : protocol !== null && !protocolHasPorts(protocol) ? '' : ' any port';
  return `${rule.action} ${rule.direction} ${protocolName(rule.protocol)}${portText}`;
}

/** The value if it fits the cell; otherwise its short form and a note that gives it in full. */
function fitted(full: string, width: number, note: (full: string) => string, short: (full: string) => string): string {
  if (full.length <= width) return full;
  const marker = note(full);
  const head = short(full);
  const room = width - marker.length - 1;
  return `${head.length <= room ? head : `${head.slice(0, room - 1).trimEnd()}…`} ${marker}`;
}

/** A peer's description up to where its details start: `any public IPv4 address (outside ...)` -> `any public IPv4 address`, `pods of namespace shop with ...` -> `pods of namespace shop`. */
function shortPeer(full: string): string {
  const cut = [' (', ', ', ': ', ' with '].map((d) => full.indexOf(d)).filter((i) => i > 0);
  return cut.length === 0 ? full : full.slice(0, Math.min(...cut));
}

/** The namespace's peers, one node per distinct remote side: what each rule allows, in words. */
function edges(rules: readonly RuleReport[], self: string | undefined): GraphEdge[] {
  const byPeer = new Map<string, { direction: 'ingress' | 'egress'; peer: string; self: boolean; traffic: Set<string> }>();
  for (const rule of rules) {
    const key = `${rule.direction} ${rule.remote}`;
    const own = self !== undefined && rule.category !== 'Custom' && rule.peers.length === 1 && rule.peers[0] === self;
    const entry = byPeer.get(key) ?? {
      direction: rule.direction,
      peer: rule.category === 'Custom' ? 'custom rule' : rule.remote,
      self: own,
      traffic: new Set<string>(),
    };
    entry.traffic.add(`${protocolName(rule.protocol)}${rule.ports.length > 0 ? ` ${rule.ports.join(',')}` : ''}`);
    byPeer.set(key, entry);
  }
  return [...byPeer.values()].map((e) => ({
    direction: e.direction,
    peer: e.peer,
    traffic: [...e.traffic].join('; '),
    ...(e.self ? { self: true } : {}),
  }));
}

/** Rows beyond this are counted, not listed. */
const MAX_SIMULATED_ROWS = 20;

function simulation(s: SimulationSummary, expectDenials: boolean, cilium: boolean): string {
  const checked = `${plural(s.flows, 'distinct flow')} observed (${plural(s.records, 'flow')} in the flow logs)`;
  const how = s.asked;
  const verdict =
    s.denied.length === 0 && s.indeterminate.length === 0
      ? `${checked}: all allowed. ${how}`
      : `Of the ${checked}, ${s.denied.length} would be **denied** and ${s.indeterminate.length} cannot be decided from the flow logs. ${how}`;
  const out = [verdict];
  if (s.denied.length > 0) {
    out.push(
      expectDenials
        ? 'It would deny:'
        : cilium
          ? 'Denied (merged then, Cilium would have dropped these; rules learned from them since are marked new above):'
          : 'Denied (review these: the policy was built to allow every one of them):',
      flowTable(s.denied),
    );
  }
  if (s.indeterminate.length > 0) out.push('Undecidable (the flow logs lack what a rule needs):', flowTable(s.indeterminate));
  return out.join('\n\n');
}

function flowTable(rows: readonly SimulatedFlowRow[]): string {
  const shown = rows
    .slice(0, MAX_SIMULATED_ROWS)
    .map((r) => [
      r.direction,
      code(r.endpoint),
      code(r.peer),
      code(r.protocol),
      r.port === null ? 'any' : code(r.port),
      String(r.flows),
      text(r.reason),
    ]);
  const more = rows.length > shown.length ? `\n\n${plural(rows.length - shown.length, 'more flow')} not listed.` : '';
  return table(['Direction', 'Endpoint', 'Peer', 'Protocol', 'Port', 'Flows', 'Why'], shown) + more;
}

function warnings(c: PullRequestContent): string {
  const lines = c.warnings.map((w) => `- ${text(w.message)}`);
  if (c.skippedLines > 0)
    lines.push(`- ${plural(c.skippedLines, 'flow log input')} could not be read and were skipped (see the dashboard).`);
  return lines.join('\n');
}
