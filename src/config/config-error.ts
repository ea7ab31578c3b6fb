// Configuration errors name the key path of every problem, for people and for the dashboard, in
// our own words (never the validator's "Invalid input: expected number, received string"), and
// suggest the key that was meant when an unknown key is a misspelling of a known one.

import type { z } from 'zod';
import { closest } from '../util/edit-distance.ts';

export interface ConfigIssue {
  /** Dotted key path, e.g. `namespaceSpec.tierName`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly source: string;
  readonly issues: readonly ConfigIssue[];
  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(`invalid configuration in ${source}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.source = source;
    this.issues = issues;
  }

  /** "invalid configuration in scope.yml (2 problems):", to head a list of the issues, one a line. */
  get headline(): string {
    const n = this.issues.length;
    return `invalid configuration in ${this.source} (${n} ${n === 1 ? 'problem' : 'problems'}):`;
  }
}

/** What a value of each type zod names is, in words. */
const NOUNS: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping of keys',
  record: 'a mapping of keys',
  null: 'null',
};

function noun(expected: string): string {
  return NOUNS[expected] ?? expected;
}

/** What a YAML value is, by its type only (a value is never quoted: it may come from another repository's file). */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'text';
    case 'number':
      return Number.isInteger(value) ? 'a whole number' : 'a number';
    case 'boolean':
      return 'true or false';
    case 'object':
      return 'a mapping of keys';
    default:
      return typeof value;
  }
}

/**
 * Our words for zod's issues, passed to every safeParse of a configuration (`{ error: inOurWords }`).
 * Messages a schema sets itself (refine, `{ error }`) take precedence over it (zod 4's order:
 * schema-level, then per-parse, then global).
 */
export const inOurWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `required: ${noun(issue.expected)}`
        : `must be ${noun(issue.expected)}, not ${kindOf(issue.input)}`;
    case 'invalid_value': {
      const values = issue.values.map(String);
      const meant = typeof issue.input === 'string' ? closest(issue.input, values) : null;
      return `must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}${meant === null ? '' : ` (did you mean ${meant}?)`}`;
    }
    case 'too_small':
      return bound('at least', 'more than', issue.origin, Number(issue.minimum), issue.inclusive !== false);
    case 'too_big':
      return bound('at most', 'less than', issue.origin, Number(issue.maximum), issue.inclusive !== false);
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_format':
      return 'is not in the expected form';
    case 'invalid_union': {
      const expected = issue.errors.flat().flatMap((e) => (e.code === 'invalid_type' ? [noun(e.expected)] : []));
      return expected.length > 0 && expected.length === issue.errors.length ? `must be ${expected.join(' or ')}` : 'is not a valid value';
    }
    case 'unrecognized_keys':
      return 'unknown key';
    case 'invalid_key':
      return 'is not a valid key';
    case 'invalid_element':
      return 'has an invalid entry';
    default:
      return 'is not a valid value';
  }
};

function bound(inclusive: string, exclusive: string, origin: string, n: number, isInclusive: boolean): string {
  const than = isInclusive ? inclusive : exclusive;
  if (origin === 'array' || origin === 'set')
    return n === 1 && than === 'at least' ? 'must not be empty' : `must have ${than} ${n} ${n === 1 ? 'entry' : 'entries'}`;
  if (origin === 'string') return n === 1 && than === 'at least' ? 'must not be empty' : `must be ${than} ${n} characters long`;
  return `must be ${than} ${n}`;
}

/**
 * zod's issues as ConfigIssues; an unknown key is reported at its own path, with the known key
 * it is closest to (`schema` tells which keys are known there; `alsoKnown`, keys of the
 * document's root another schema validates).
 */
export function configIssues(error: z.ZodError, schema?: z.ZodType, alsoKnown: readonly string[] = []): ConfigIssue[] {
  return error.issues.flatMap((issue): ConfigIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      const known = [...(schema === undefined ? [] : keysAt(schema, issue.path)), ...(issue.path.length === 0 ? alsoKnown : [])];
      return issue.keys.map((key) => {
        const meant = closest(key, known);
        return { path: path ? `${path}.${key}` : key, message: meant === null ? 'unknown key' : `unknown key (did you mean ${meant}?)` };
      });
    }
    // A record's key that fails its own check: say why, not just "invalid key".
    if (issue.code === 'invalid_key') return [{ path, message: issue.issues[0]?.message ?? issue.message }];
    return [{ path, message: issue.message }];
  });
}

interface SchemaView {
  readonly _zod: { readonly def: { readonly type: string } & Readonly<Record<string, unknown>> };
}

/** The keys an object schema at `path` (inside `schema`) knows; none where there is no object. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: SchemaView[] = [schema as unknown as SchemaView];
  for (const segment of [...path, null]) {
    // Unwrap defaults, optionals, pipes (transforms) and unions down to objects, arrays and records.
    const open: SchemaView[] = [];
    const seen = new Set<SchemaView>();
    while (current.length > 0) {
      const s = current.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      const def = s._zod.def;
      if (['default', 'prefault', 'optional', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type))
        current.push(def['innerType'] as SchemaView);
      else if (def.type === 'pipe') current.push(def['in'] as SchemaView);
      else if (def.type === 'union') current.push(...(def['options'] as SchemaView[]));
      else if (def.type === 'lazy') current.push((def['getter'] as () => SchemaView)());
      else open.push(s);
    }
    if (segment === null)
      return [...new Set(open.flatMap((s) => (s._zod.def.type === 'object' ? Object.keys(s._zod.def['shape'] as object) : [])))];
    current = open.flatMap((s): SchemaView[] => {
      const def = s._zod.def;
      if (def.type === 'object') {
        const shape = def['shape'] as Record<string, SchemaView>;
        return typeof segment === 'string' && Object.hasOwn(shape, segment) ? [shape[segment]!] : [];
      }
      if (def.type === 'array') return [def['element'] as SchemaView];
      if (def.type === 'record') return [def['valueType'] as SchemaView];
      return [];
    });
  }
  return [];
}
