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
  const firstDeciding = firstMatch(flavor, rules, ctx);
  for (const o of observed) {
    const i = firstDeciding(o);
    if (i === -1) uncovered.push(o);
    else pushTo(coveredBy, i, o);
  }
  rules = rules.map((r, i) => (coveredBy.has(i) ? flavor.annotate(r, coveredBy.get(i)!, ctx) : r));

  // Whether any rule decides an atom asks only the rules that can (PolicyFlavor.matchKeys): a
  // namespace with thousands of peers has a rule for each.
  const lookup = new RuleLookup(flavor, ctx, rules);
  const groups = new Map<string, ObservedAtom[]>();
  for (const o of uncovered) {
    // An extension made earlier in this loop may already allow it (e.g. a port-less rule).
    if (lookup.decides(o)) continue;
    const key = flavor.extendKey(o, ctx);
    const free = firstFree();
    const target = rules.findIndex((r, i) => i >= free && ours(r)?.extendKey === key && flavor.canExtend(r, o, ctx));
    if (target !== -1) {
      lookup.delete(rules[target]!);
      rules[target] = flavor.extend(rules[target]!, o, ctx);
      lookup.add(rules[target]!);
    } else pushTo(groups, key, o);
  }
  // Groups with port-less atoms first: their rules are the broadest (in Kubernetes policy, all
  // traffic to a peer), and may cover the atoms of later groups.
  const ordered = [...groups.values()].sort((a, b) => Number(b.some(portless)) - Number(a.some(portless)));
  const rendered: PolicyRule<R>[] = [];
  for (const group of ordered) {
    // A broader rule rendered for an earlier group may cover these.
    const atoms = group.filter((o) => !lookup.decides(o));
    for (const rule of atoms.length > 0 ? flavor.render(atoms, ctx) : []) {
      created.add(rule);
      lookup.add(rule);
      rendered.push(rule);
    }
  }
  // Where they go changes nothing above (whether a rule decides an atom is asked of the set of
  // rules), nor the first free place (they are ours, placed after it): all are placed at once.
  if (rendered.length > 0) rules = insertSorted(rules, rendered, firstFree(), identify);

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

/**
 * `rules` with `added` (recognised rules, in the order rendered) each placed at or after `from`,
 * before the first recognised rule that sorts after it, as if inserted one after the other.
 * Linear but for sorting: an added rule lands before the first rule at or after `from` that sorts
 * after it (found by bisecting the running maximum of their keys), after the rules added before it
 * with no greater key (none of which can sort after a rule that sorts before that one).
 */
export function insertSorted<R>(
  rules: readonly PolicyRule<R>[],
  added: readonly PolicyRule<R>[],
  from: number,
  identify: (rule: PolicyRule<R>) => RuleIdentity | null,
): PolicyRule<R>[] {
  const tail = rules.slice(from);
  // highest[j]: the greatest key of the recognised rules in tail[0..j] (null before the first).
  const highest: (RuleIdentity | null)[] = [];
  let max: RuleIdentity | null = null;
  for (const r of tail) {
    const id = identify(r);
    if (id !== null && (max === null || compareSortKeys(id, max) > 0)) max = id;
    highest.push(max);
  }
  const before = new Map<number, { id: RuleIdentity; rule: PolicyRule<R> }[]>();
  for (const rule of added) {
    const id = identify(rule)!;
    let lo = 0;
    let hi = tail.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const h = highest[mid]!;
      if (h !== null && compareSortKeys(h, id) > 0) hi = mid;
      else lo = mid + 1;
    }
    pushTo(before, lo, { id, rule });
  }
  const out = rules.slice(0, from);
  const place = (at: number): void => {
    const here = before.get(at);
    // Array.prototype.sort is stable: equal keys keep the order they were added in.
    if (here !== undefined) for (const { rule } of here.sort((a, b) => compareSortKeys(a.id, b.id))) out.push(rule);
  };
  tail.forEach((r, j) => {
    place(j);
    out.push(r);
  });
  place(tail.length);
  return out;
}

export function compareSortKeys(a: RuleIdentity, b: RuleIdentity): number {
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
  keys.forEach((k, i) => k !== null && pushTo(members, k, i));
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

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * The index of the first rule of `rules` that decides an atom, or -1 (what
 * `rules.findIndex((r) => flavor.matches(r, atom, ctx))` says), asking only the rules its match
 * keys allow (PolicyFlavor.matchKeys), in order.
 */
export function firstMatch<R>(flavor: PolicyFlavor<R>, rules: readonly PolicyRule<R>[], ctx: RuleContext): (atom: ObservedAtom) => number {
  const everyRule = (atom: ObservedAtom): number => rules.findIndex((r) => flavor.matches(r, atom, ctx));
  const keys = flavor.matchKeys;
  if (keys === undefined) return everyRule;
  // Made when first asked (no atom, no rule compiled).
  let index: { anyAtom: number[]; byKey: Map<string, number[]> } | null = null;
  return (atom) => {
    const of = keys.atom(atom, ctx);
    if (of === null) return everyRule(atom);
    if (index === null) {
      index = { anyAtom: [], byKey: new Map() };
      for (const [i, r] of rules.entries()) {
        const ruleKeys = keys.rule(r, ctx);
        if (ruleKeys === null) index.anyAtom.push(i);
        else for (const k of ruleKeys) pushTo(index.byKey, k, i);
      }
    }
    const { anyAtom, byKey } = index;
    const candidates = [...anyAtom];
    for (const k of of) appendAll(candidates, byKey.get(k) ?? []);
    candidates.sort((a, b) => a - b);
    for (const i of candidates) if (flavor.matches(rules[i]!, atom, ctx)) return i;
    return -1;
  };
}

/** A changing set of rules, asked whether any decides an atom, by match keys (PolicyFlavor.matchKeys). */
class RuleLookup<R> {
  /** Each rule held, how many times, and its keys. */
  private readonly held = new Map<PolicyRule<R>, { count: number; keys: readonly string[] | null }>();
  private readonly anyAtom = new Set<PolicyRule<R>>();
  private readonly byKey = new Map<string, Set<PolicyRule<R>>>();

  private readonly flavor: PolicyFlavor<R>;
  private readonly ctx: RuleContext;
  /** The first rules, indexed when first needed (no atom to ask about, no rule compiled). */
  private initial: readonly PolicyRule<R>[] | null;

  constructor(flavor: PolicyFlavor<R>, ctx: RuleContext, rules: readonly PolicyRule<R>[]) {
    this.flavor = flavor;
    this.ctx = ctx;
    this.initial = [...rules];
  }

  private indexed(): this {
    const initial = this.initial;
    if (initial !== null) {
      this.initial = null;
      for (const r of initial) this.add(r);
    }
    return this;
  }

  add(rule: PolicyRule<R>): void {
    this.indexed();
    const known = this.held.get(rule);
    if (known !== undefined) {
      known.count++;
      return;
    }
    const keys = this.flavor.matchKeys?.rule(rule, this.ctx) ?? null;
    this.held.set(rule, { count: 1, keys });
    if (keys === null) this.anyAtom.add(rule);
    else
      for (const k of keys) {
        const set = this.byKey.get(k);
        if (set === undefined) this.byKey.set(k, new Set([rule]));
        else set.add(rule);
      }
  }

  delete(rule: PolicyRule<R>): void {
    const known = this.indexed().held.get(rule)!;
    if (--known.count > 0) return;
    this.held.delete(rule);
    if (known.keys === null) this.anyAtom.delete(rule);
    else for (const k of known.keys) this.byKey.get(k)!.delete(rule);
  }

  /** Does any rule held decide `atom`? */
  decides(atom: ObservedAtom): boolean {
    this.indexed();
    const keys = this.flavor.matchKeys?.atom(atom, this.ctx) ?? null;
    const some = (rules: Iterable<PolicyRule<R>>): boolean => {
      for (const r of rules) if (this.flavor.matches(r, atom, this.ctx)) return true;
      return false;
    };
    if (keys === null) return some(this.held.keys());
    return some(this.anyAtom) || keys.some((k) => some(this.byKey.get(k) ?? []));
  }
}
