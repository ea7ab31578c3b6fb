// Merges observed atoms into one direction's existing rules, additively: rules only accumulate.
// Traffic some rule already decides (first match, ours or a person's) adds nothing; new traffic
// extends our rule with the same peer and protocol, or becomes a new rule at its sorted place.
// A person's rules are never rewritten, and nothing we add lands in front of a person's rule
// that denies or passes traffic (it would shadow it): Calico evaluates rules in order.

import { appendAll } from '../util/append.ts';
import type { PolicyFlavor, PolicyRule, RuleContext, RuleIdentity } from './flavors/flavor.ts';
import type { ObservedAtom } from './model.ts';

export interface DirectionMerge<R> {
  readonly rules: readonly PolicyRule<R>[];
  /** Atoms no existing rule decided: the reason the rules changed. */
  readonly added: readonly ObservedAtom[];
  /** Rules merged because the direction was over maxRules. */
  readonly contracted: number;
  /** Rules of ours the configuration changed (reconcile), e.g. Allow -> Pass within the namespace. */
  readonly reconciled: number;
}

/** `existing`: the direction's rules as the flavour parsed them (PolicyFlavor.parse). */
export function mergeDirection<R>(
  flavor: PolicyFlavor<R>,
  existing: readonly PolicyRule<R>[],
  observed: readonly ObservedAtom[],
  ctx: RuleContext,
  maxRules: number,
): DirectionMerge<R> {
  let rules = [...existing];
  const created = new Set<PolicyRule<R>>();
  // Rules are read again for every atom; a rule is never mutated (changes make new objects).
  const identities = new WeakMap<PolicyRule<R>, RuleIdentity | null>();
  const identify = (rule: PolicyRule<R>): RuleIdentity | null => {
    let id = identities.get(rule);
    if (id === undefined) identities.set(rule, (id = flavor.identify(rule, ctx)));
    return id;
  };
  const ours = (rule: PolicyRule<R>): RuleIdentity | null => {
    const id = identify(rule);
    return id !== null && (id.ours || created.has(rule)) ? id : null;
  };
  /** Our additions go after the last of a person's rules that could deny or pass traffic. */
  const firstFree = (): number => {
    for (let i = rules.length - 1; i >= 0; i--) if (ours(rules[i]!) === null && !flavor.allowsOnly(rules[i]!)) return i + 1;
    return 0;
  };

  const coveredBy = new Map<number, ObservedAtom[]>();
  const uncovered: ObservedAtom[] = [];
  for (const o of observed) {
    const i = rules.findIndex((r) => flavor.matches(r, o, ctx));
    if (i === -1) uncovered.push(o);
    else coveredBy.set(i, [...(coveredBy.get(i) ?? []), o]);
  }
  rules = rules.map((r, i) => (coveredBy.has(i) ? flavor.annotate(r, coveredBy.get(i)!, ctx) : r));

  const groups = new Map<string, ObservedAtom[]>();
  for (const o of uncovered) {
    // An extension made earlier in this loop may already allow it (e.g. a port-less rule).
    if (rules.some((r) => flavor.matches(r, o, ctx))) continue;
    const key = flavor.extendKey(o, ctx);
    const free = firstFree();
    const target = rules.findIndex((r, i) => i >= free && ours(r)?.extendKey === key && flavor.canExtend(r, o, ctx));
    if (target !== -1) rules[target] = flavor.extend(rules[target]!, o, ctx);
    else groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  // Groups with port-less atoms first: their rules are the broadest (in Kubernetes policy, all
  // traffic to a peer), and may cover the atoms of later groups.
  const ordered = [...groups.values()].sort((a, b) => Number(b.some(portless)) - Number(a.some(portless)));
  for (const group of ordered) {
    // A broader rule rendered for an earlier group may cover these.
    const atoms = group.filter((o) => !rules.some((r) => flavor.matches(r, o, ctx)));
    for (const rule of atoms.length > 0 ? flavor.render(atoms, ctx) : []) {
      created.add(rule);
      insertSorted(rules, rule, firstFree(), identify);
    }
  }

  let reconciled = 0;
  rules = rules.flatMap((r) => {
    if (ours(r) === null) return [r];
    const replaced = flavor.reconcile(r, ctx);
    if (replaced.length !== 1 || replaced[0] !== r) {
      // A rule rendered by this run already has the wanted action: only earlier rules count.
      if (!created.has(r)) reconciled++;
      for (const x of replaced) created.add(x);
    }
    return replaced;
  });
  let contracted = 0;
  if (rules.length > maxRules) {
    const before = rules.length;
    rules = contract(rules, firstFree(), (r) => ours(r)?.contractKey ?? null, flavor, ctx);
    contracted = before - rules.length;
  }
  return { rules, added: uncovered, contracted, reconciled };
}

function portless(o: ObservedAtom): boolean {
  return o.atom.port === null;
}

/** At or after `from`, before the first recognised rule that sorts after it. */
function insertSorted<R>(
  rules: PolicyRule<R>[],
  rule: PolicyRule<R>,
  from: number,
  identify: (rule: PolicyRule<R>) => RuleIdentity | null,
): void {
  const id = identify(rule)!;
  const at = rules.findIndex((r, i) => {
    if (i < from) return false;
    const other = identify(r);
    return other !== null && compareSortKeys(other, id) > 0;
  });
  if (at === -1) rules.push(rule);
  else rules.splice(at, 0, rule);
}

function compareSortKeys(a: RuleIdentity, b: RuleIdentity): number {
  for (let i = 0; i < Math.max(a.sortKey.length, b.sortKey.length); i++) {
    const x = a.sortKey[i];
    const y = b.sortKey[i];
    if (x === y) continue;
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/**
 * Merges our rules (from `from` on, so past every rule of a person's that could deny) that
 * differ only in their peers, same protocol and ports: lossless.
 */
function contract<R>(
  rules: readonly PolicyRule<R>[],
  from: number,
  contractKey: (rule: PolicyRule<R>) => string | null,
  flavor: PolicyFlavor<R>,
  ctx: RuleContext,
): PolicyRule<R>[] {
  const keys = rules.map((r, i) => (i < from ? null : contractKey(r)));
  const members = new Map<string, number[]>();
  keys.forEach((k, i) => k !== null && members.set(k, [...(members.get(k) ?? []), i]));
  const out: PolicyRule<R>[] = [];
  const done = new Set<string>();
  rules.forEach((rule, i) => {
    const key = keys[i]!;
    const group = key === null ? undefined : members.get(key);
    if (group === undefined || group.length < 2) out.push(rule);
    else if (!done.has(key!)) {
      done.add(key!);
      appendAll(
        out,
        flavor.contract(
          group.map((j) => rules[j]!),
          ctx,
        ),
      );
    }
  });
  return out;
}
