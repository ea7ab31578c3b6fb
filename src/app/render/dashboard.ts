// The dashboard issue "Policy recommendations", one per repository, rendered from data: each
// cluster's namespaces with their state and pull request, the last run, configuration errors,
// and checkboxes (run now, propose a dismissed namespace again) whose hidden markers a later run
// or webhook reads back. Hidden state (where each cluster's flow reading stopped) survives restarts.

import { createHash } from 'node:crypto';
import { isDnsLabel, isDnsSubdomain, isLabelKey, isLabelValue, normaliseDomain } from '../../calico/names.ts';
import { isPortNumber } from '../../calico/ports.ts';
import { parseProtocol } from '../../calico/protocol.ts';
import type { ConfigIssue } from '../../config/config-error.ts';
import { CATEGORY_ORDER, type EndpointObservation, type EndpointRef, type ObservedAtom, WORKLOAD_KINDS } from '../../engine/model.ts';
import type { SkipSummary } from '../../flows/skip-report.ts';
import type { FlowSourceKind } from '../../flows/source.ts';
import type { AcceptanceRecord } from '../../plan/lifecycle/unit.ts';
import { parseBranch } from '../../plan/lifecycle/unit-key.ts';
import type { DashboardState } from '../state/dashboard-state.ts';
import { decodeMarker, encodeMarker } from '../state/marker.ts';
import { code, plural, table, text, timestamp } from './markdown.ts';

export const DASHBOARD_TITLE = 'Policy recommendations';
export const DASHBOARD_LABEL = 'policy-recommender';
export const DASHBOARD_MARKER = '<!-- policy-recommender:dashboard ';
const STATE_KIND = 'dashboard';
const RUN_BOX = '<!-- policy-recommender:run -->';
const RECREATE_BOX = /- \[[xX]\] <!-- policy-recommender:recreate ([a-z0-9-]+)\/([a-z0-9-]+) -->/g;
const ANY_RECREATE_BOX = /- \[([ xX])\] <!-- policy-recommender:recreate ([a-z0-9-]+)\/([a-z0-9-]+) -->/g;
const UNTICKED_RECREATE_BOX = /- \[ \] <!-- policy-recommender:recreate ([a-z0-9-]+)\/([a-z0-9-]+) -->/g;

export interface DashboardNamespace {
  /** '' for a cluster-wide unit (the global default deny). */
  readonly namespace: string;
  /** What the row is about, when not the namespace's isolation policy: `workloads`, `enforce isolation` ... */
  readonly unit?: string;
  readonly state: DashboardState;
  /** Its open PR, or the merged PR that accepted it (no URL: GitHub links `#number` in an issue). */
  readonly pr?: { number: number; url?: string };
  readonly lastUpdated: string | null;
  readonly note?: string;
}

export interface DashboardCluster {
  readonly name: string;
  readonly path: string;
  /** What kind of flow source was read; never where it is (that is in the App's log). */
  readonly source?: FlowSourceKind;
  readonly window?: { from: string; to: string };
  readonly inputsRead?: number;
  readonly recordsSeen?: number;
  readonly recordsLearned?: number;
  readonly skipped?: SkipSummary;
  /** Well-formed inputs that carry nothing to learn. */
  readonly unlearnable?: SkipSummary;
  readonly namespaces: readonly DashboardNamespace[];
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
}

/** Hidden state kept across runs (and restarts). */
export interface DashboardMemory {
  readonly v: 1;
  /** Per cluster, unix seconds up to which flows were read. */
  readonly flowsReadUntil: Readonly<Record<string, number>>;
  /**
   * Observations no pull request holds yet (held back by PR limits, a failed write, a PR a person
   * edited), per `cluster/namespace`: flows are read once, so what was learned is kept here.
   */
  readonly pending: Readonly<Record<string, readonly ObservedAtom[]>>;
  /** The same for microsegmentation observations, per `cluster/namespace`. */
  readonly pendingEndpoints: Readonly<Record<string, readonly EndpointObservation[]>>;
  /** Per cluster and namespace: what its accepted staged policy would have denied since it was merged. */
  readonly accepted: Readonly<Record<string, Readonly<Record<string, AcceptanceRecord>>>>;
  /** Units people dismissed (key ids, `prod/shop`, `prod/shop.enforce` ...), seen through by a run. */
  readonly dismissed: readonly string[];
  /**
   * Units no pull request holds yet (held back by PR limits, a failed write), by key id: the policy
   * files last proposed, relative to the cluster's path, as an open PR's state keeps them. They are
   * the engine's memory, so their rules keep the time they really changed, not the run's.
   */
  readonly held?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Dismissed units whose box was ticked, not proposed again yet (no traffic to propose them from). */
  readonly recreate?: readonly string[];
  /**
   * What the dashboard says, without the facts every run changes (its time, the flow window read,
   * the read points): a run that would change nothing else does not rewrite it (dashboardDigest).
   */
  readonly digest?: string;
}

export interface DashboardContent {
  readonly lastRun: { at: string; durationMs: number; trigger: string } | null;
  readonly configErrors: readonly ConfigIssue[];
  readonly clusters: readonly DashboardCluster[];
  /**
   * With configuration errors: the cluster sections of the dashboard as it was (Markdown, from
   * keptClusterSections), so that people still see what each namespace's state was.
   */
  readonly keptClusters?: string | null;
  readonly state: DashboardMemory;
  /** Boxes people ticked that no run has served yet: they stay ticked (`recreate`: key ids). */
  readonly ticked?: { readonly run: boolean; readonly recreate: ReadonlySet<string> };
}

export function renderDashboard(c: DashboardContent): string {
  const out = [
    `This issue lists the network policies policy-recommender proposes for this repository: one pull request per namespace (and, where configured, per namespace's or workload's microsegmentation policies), one per enforcement, and one for the cluster-wide files. It is rewritten by the bot; tick a box to ask it for something.`,
    `- [${c.ticked?.run ? 'x' : ' '}] ${RUN_BOX} Run now`,
  ];
  if (c.lastRun)
    out.push(
      `Last run that changed this page: ${c.lastRun.at}, ${(c.lastRun.durationMs / 1000).toFixed(1)} s (${text(c.lastRun.trigger)}).`,
    );
  if (c.configErrors.length > 0) {
    out.push(
      [
        '## Configuration errors',
        '',
        `The configuration (${code('.github/policy-recommender.yml')}) is invalid, so nothing else happens until it is fixed:`,
        '',
        ...c.configErrors.map((i) => `- ${i.path ? `${code(i.path)}: ` : ''}${text(i.message)}`),
      ].join('\n'),
    );
  }
  if (c.keptClusters) out.push('The namespaces below are as the last run with a valid configuration left them.', c.keptClusters);
  for (const cluster of c.clusters) out.push(clusterSection(cluster, c.ticked?.recreate ?? new Set()));
  out.push(encodeMarker(STATE_KIND, c.state));
  return `${out.join('\n\n')}\n`;
}

/** How the dashboard names a kind of flow source (deployment-config.ts `flows.source`). */
export function sourceKindName(kind: FlowSourceKind): string {
  switch (kind) {
    case 'file':
      return 'flow log files';
    case 'goldmane':
      return 'Goldmane';
    case 'elasticsearch':
      return "Calico Enterprise's Elasticsearch flow logs";
    case 'hubble':
      return 'Hubble Relay (Cilium)';
  }
}

/**
 * A digest of what a dashboard says apart from the run-by-run facts (the last run, each cluster's
 * flow window and counts, the read points): equal digests, nothing worth a revision. Where flows
 * come from (a collector, or read directly) is not one of them: it changes only when that does.
 */
export function dashboardDigest(c: DashboardContent): string {
  const steady: DashboardContent = {
    lastRun: null,
    configErrors: c.configErrors,
    ...(c.keptClusters ? { keptClusters: c.keptClusters } : {}),
    clusters: c.clusters.map(({ window: _w, inputsRead: _i, recordsSeen: _r, recordsLearned: _l, ...rest }) => rest),
    state: { ...c.state, flowsReadUntil: {}, digest: '' },
  };
  return createHash('sha256').update(renderDashboard(steady)).digest('base64url').slice(0, 22);
}

function clusterSection(cluster: DashboardCluster, ticked: ReadonlySet<string>): string {
  const lines = [`## Cluster ${code(cluster.name)}${cluster.path ? ` (${code(cluster.path)})` : ''}`];
  if (cluster.source) {
    const window = cluster.window ? ` between ${cluster.window.from} and ${cluster.window.to}` : '';
    const counts =
      cluster.recordsSeen !== undefined
        ? `: ${plural(cluster.recordsSeen, 'record')} read, ${cluster.recordsLearned ?? 0} learned from`
        : '';
    lines.push(`Flows from ${sourceKindName(cluster.source)}${window}${counts}.`);
  }
  if (cluster.skipped && cluster.skipped.total > 0) {
    const reasons = Object.entries(cluster.skipped.byReason)
      .map(([reason, n]) => `${n} ${text(reason)}`)
      .join(', ');
    // Where they are (file paths, hosts) is the deployment's business: the App's log lists the first ones.
    lines.push(`Skipped ${plural(cluster.skipped.total, 'malformed input')}: ${reasons} (the App's log says where the first ones are).`);
  }
  if (cluster.unlearnable && cluster.unlearnable.total > 0) {
    const reasons = Object.entries(cluster.unlearnable.byReason)
      .map(([reason, n]) => `${n} ${text(reason)}`)
      .join(', ');
    lines.push(`Nothing to learn from ${plural(cluster.unlearnable.total, 'well-formed input')}: ${reasons}.`);
  }
  for (const error of cluster.errors) lines.push(`**Error:** ${text(error)}`);
  for (const warning of cluster.warnings) lines.push(`**Warning:** ${text(warning)}`);
  const rows = cluster.namespaces.map((n) => [
    n.namespace === ''
      ? text(n.unit ?? '')
      : n.unit === undefined || n.unit === 'isolation'
        ? code(n.namespace)
        : `${code(n.namespace)} ${text(n.unit)}`,
    n.state,
    n.pr ? `#${n.pr.number}` : '',
    n.lastUpdated === null ? '' : timestamp(n.lastUpdated),
    n.note ? text(n.note) : '',
  ]);
  lines.push(
    rows.length > 0
      ? table(['Namespace', 'State', 'Pull request', 'Rules last changed', 'Note'], rows)
      : 'No namespace has traffic to learn from yet.',
  );
  // Names go into a hidden marker here: only DNS labels (all a namespace can be) get a box.
  const dismissed = cluster.namespaces.filter(
    (n) =>
      n.state === 'Dismissed' && (n.unit === undefined || n.unit === 'isolation') && isDnsLabel(n.namespace) && isDnsLabel(cluster.name),
  );
  if (dismissed.length > 0) {
    lines.push(
      [
        'Dismissed (tick to have it proposed again):',
        ...dismissed.map(
          (n) =>
            `- [${ticked.has(`${cluster.name}/${n.namespace}`) ? 'x' : ' '}] <!-- policy-recommender:recreate ${cluster.name}/${n.namespace} --> ${code(n.namespace)}`,
        ),
      ].join('\n'),
    );
  }
  return lines.join('\n\n');
}

/** The cluster sections of a dashboard body (from its first cluster heading to its hidden state), or null. */
export function keptClusterSections(body: string | null): string | null {
  if (!body) return null;
  const start = body.search(/^## Cluster /m);
  const end = body.lastIndexOf(DASHBOARD_MARKER);
  return start === -1 || end < start ? null : body.slice(start, end).trim() || null;
}

export function decodeDashboardState(body: string | null): DashboardMemory {
  const value = decodeMarker(body, STATE_KIND) as Partial<DashboardMemory> | null;
  const until = value?.flowsReadUntil;
  const pending = value?.pending;
  const endpoints = value?.pendingEndpoints;
  const accepted = value?.accepted;
  return {
    v: 1,
    flowsReadUntil: typeof until === 'object' && until !== null ? validReadPoints(until as Record<string, unknown>) : {},
    pending: typeof pending === 'object' && pending !== null ? validPending(pending as Record<string, unknown>) : {},
    pendingEndpoints:
      typeof endpoints === 'object' && endpoints !== null ? validPendingEndpoints(endpoints as Record<string, unknown>) : {},
    accepted: typeof accepted === 'object' && accepted !== null ? validAccepted(accepted as Record<string, unknown>) : {},
    dismissed: Array.isArray(value?.dismissed)
      ? value.dismissed.filter((k): k is string => typeof k === 'string' && parseBranch(`policy-recommender/${k}`) !== null)
      : [],
    ...validHeld(value?.held),
    ...(Array.isArray(value?.recreate)
      ? { recreate: value.recreate.filter((k): k is string => typeof k === 'string' && parseBranch(`policy-recommender/${k}`) !== null) }
      : {}),
    ...(typeof value?.digest === 'string' ? { digest: value.digest } : {}),
  };
}

/** Held units' policy files: keys of namespace or workloads units, relative YAML paths, text. */
function validHeld(value: unknown): { held?: Record<string, Record<string, string>> } {
  if (typeof value !== 'object' || value === null) return {};
  const held: Record<string, Record<string, string>> = {};
  for (const [id, files] of Object.entries(value)) {
    const key = parseBranch(`policy-recommender/${id}`);
    if ((key?.kind !== 'namespace' && key?.kind !== 'workloads') || typeof files !== 'object' || files === null) continue;
    // Built with fromEntries: a path such as `__proto__` stays a key, never a prototype.
    const kept = Object.fromEntries(
      Object.entries(files).filter(
        (e): e is [string, string] =>
          typeof e[1] === 'string' && /^[a-z0-9][a-z0-9._/-]*\.ya?ml$/i.test(e[0]) && !e[0].split('/').includes('..'),
      ),
    );
    if (Object.keys(kept).length > 0) held[id] = kept;
  }
  return Object.keys(held).length > 0 ? { held } : {};
}

const NAMESPACE_KEY = /^[a-z0-9-]+\/[a-z0-9-]+$/;

/** Per cluster (a DNS label, `constructor` included), unix seconds; anything else a person wrote is dropped. */
function validReadPoints(value: Record<string, unknown>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(value).filter((e): e is [string, number] => isDnsLabel(e[0]) && Number.isSafeInteger(e[1]) && (e[1] as number) >= 0),
  );
}

function validPendingEndpoints(value: Record<string, unknown>): Record<string, EndpointObservation[]> {
  const out: Record<string, EndpointObservation[]> = {};
  for (const [key, list] of Object.entries(value)) {
    if (!NAMESPACE_KEY.test(key) || !Array.isArray(list)) continue;
    const valid = list.filter(
      (o): o is EndpointObservation =>
        isObservedAtom(o) &&
        isEndpointRef((o as EndpointObservation).local) &&
        ((o as EndpointObservation).remote === null || isEndpointRef((o as EndpointObservation).remote)),
    );
    if (valid.length > 0) out[key] = valid;
  }
  return out;
}

function isEndpointRef(v: unknown): v is EndpointRef {
  const e = v as EndpointRef | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.namespace === 'string' &&
    isDnsLabel(e.namespace) &&
    typeof e.name === 'string' &&
    e.name.length <= 253 &&
    /^[a-z0-9*.-]+$/.test(e.name) &&
    Array.isArray(e.labels) &&
    e.labels.length <= 256 &&
    e.labels.every((l) => typeof l === 'string' && l.length <= 400 && l.includes('=')) &&
    (e.workload === undefined ||
      (typeof e.workload === 'object' &&
        e.workload !== null &&
        WORKLOAD_KINDS.includes(e.workload.kind) &&
        typeof e.workload.name === 'string' &&
        isDnsSubdomain(e.workload.name)))
  );
}

function validAccepted(value: Record<string, unknown>): Record<string, Record<string, AcceptanceRecord>> {
  const out: Record<string, Record<string, AcceptanceRecord>> = {};
  const time = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
  for (const [cluster, records] of Object.entries(value)) {
    if (!isDnsLabel(cluster) || typeof records !== 'object' || records === null) continue;
    const kept: Record<string, AcceptanceRecord> = {};
    for (const [namespace, r] of Object.entries(records as Record<string, unknown>)) {
      const record = r as Partial<AcceptanceRecord> | null;
      // By namespace (its isolation policy) or `<namespace>.appsec[.<workload>]` (its workloads' policies).
      const unit = parseBranch(`policy-recommender/${cluster}/${namespace}`);
      if ((unit?.kind !== 'namespace' && unit?.kind !== 'workloads') || typeof record !== 'object' || record === null) continue;
      if (
        typeof record.hash !== 'string' ||
        !time(record.since) ||
        !time(record.denied) ||
        (record.lastDenied !== undefined && !time(record.lastDenied))
      )
        continue;
      const pr = Number.isSafeInteger(record.pr) && record.pr! > 0 ? { pr: record.pr! } : {};
      kept[namespace] = {
        hash: record.hash,
        since: record.since!,
        denied: record.denied!,
        ...(record.lastDenied !== undefined ? { lastDenied: record.lastDenied } : {}),
        ...pr,
      };
    }
    out[cluster] = kept;
  }
  return out;
}

/** Only well-formed atoms come back from a body anyone can edit. */
function validPending(value: Record<string, unknown>): Record<string, ObservedAtom[]> {
  const out: Record<string, ObservedAtom[]> = {};
  for (const [key, list] of Object.entries(value)) {
    if (!NAMESPACE_KEY.test(key) || !Array.isArray(list)) continue;
    const atoms = list.filter(isObservedAtom);
    if (atoms.length > 0) out[key] = atoms;
  }
  return out;
}

function isObservedAtom(v: unknown): v is ObservedAtom {
  const o = v as ObservedAtom | null;
  const peer = o?.atom?.peer as unknown as Record<string, unknown> | undefined;
  const names = peer ? Object.entries(peer).filter(([k]) => k !== 'category' && k !== 'ipv6' && k !== 'labels') : [];
  const labels = peer?.['labels'];
  return (
    typeof o === 'object' &&
    o !== null &&
    (labels === undefined || isLabelMap(labels)) &&
    (o.atom.direction === 'ingress' || o.atom.direction === 'egress') &&
    typeof peer?.['category'] === 'string' &&
    (CATEGORY_ORDER as readonly string[]).includes(peer['category']) &&
    names.every(([, n]) => n === null || (typeof n === 'string' && (isDnsSubdomain(n) || normaliseDomain(n) === n))) &&
    parseProtocol(o.atom.protocol) === o.atom.protocol &&
    (o.atom.port === null || isPortNumber(o.atom.port)) &&
    ['flows', 'firstSeen', 'lastSeen', 'remoteIps'].every((k) =>
      Number.isSafeInteger((o.evidence as unknown as Record<string, unknown>)?.[k]),
    )
  );
}

function isLabelMap(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.entries(v).length <= 256 &&
    Object.entries(v).every(([k, x]) => isLabelKey(k) && typeof x === 'string' && isLabelValue(x))
  );
}

/** What people asked for by ticking boxes. */
export function dashboardRequests(body: string | null): { run: boolean; recreate: ReadonlySet<string> } {
  if (!body) return { run: false, recreate: new Set() };
  const run = new RegExp(`- \\[[xX]\\] ${RUN_BOX}`).test(body);
  const recreate = new Set([...body.matchAll(RECREATE_BOX)].map((m) => `${m[1]}/${m[2]}`));
  return { run, recreate };
}

/** The box of "Run now" among dashboardBoxes' keys (the others are recreate boxes' key ids). */
export const RUN_NOW = 'run';

/** Every box a dashboard shows, ticked or not: `RUN_NOW`, and each dismissed unit's key id. */
export function dashboardBoxes(body: string | null): ReadonlyMap<string, boolean> {
  const boxes = new Map<string, boolean>();
  if (!body) return boxes;
  const run = new RegExp(`- \\[([ xX])\\] ${RUN_BOX}`).exec(body);
  if (run) boxes.set(RUN_NOW, run[1] !== ' ');
  for (const m of body.matchAll(ANY_RECREATE_BOX)) boxes.set(`${m[2]}/${m[3]}`, m[1] !== ' ');
  return boxes;
}

/** `body` with those of its boxes ticked (true) or unticked (false); boxes it does not show stay absent. */
export function withDashboardBoxes(body: string, boxes: ReadonlyMap<string, boolean>): string {
  const mark = (ticked: boolean) => (ticked ? 'x' : ' ');
  const run = boxes.get(RUN_NOW);
  let out = run === undefined ? body : body.replace(new RegExp(`- \\[[ xX]\\] ${RUN_BOX}`), `- [${mark(run)}] ${RUN_BOX}`);
  out = out.replace(ANY_RECREATE_BOX, (whole, _state: string, cluster: string, namespace: string) => {
    const ticked = boxes.get(`${cluster}/${namespace}`);
    return ticked === undefined ? whole : `- [${mark(ticked)}] <!-- policy-recommender:recreate ${cluster}/${namespace} -->`;
  });
  return out;
}

/** The dismissed units whose box is shown unticked (a person may have unticked it: no longer asked for). */
export function untickedRecreateBoxes(body: string | null): ReadonlySet<string> {
  return new Set(body ? [...body.matchAll(UNTICKED_RECREATE_BOX)].map((m) => `${m[1]}/${m[2]}`) : []);
}
