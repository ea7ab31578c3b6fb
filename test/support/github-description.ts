// GitHub's own descriptions of its APIs, as the contract the test fake of GitHub is held to:
//
// - REST: the official OpenAPI description, as published in `@octokit/openapi`
//   (generated/api.github.com.json, from github/rest-api-description). A request names an
//   operation (method + path template); its path and query parameters and its JSON body are
//   validated against the operation's schemas. The fake's JSON answers are shaped from the
//   response schema (required fields it does not model are added, saying nothing: null, "", 0,
//   false, []) and validated against it; its webhook payloads likewise against the description's
//   `x-webhooks` (schemas `webhook-<event>-<action>`).
// - GraphQL: the public schema, as published in `@octokit/graphql-schema` (schema.graphql);
//   a document must parse and validate, and its variables must match their declared types.
//
// Both are large (13 MB and 1.2 MB): they are loaded once per process and validators are compiled
// once per operation (and status), on first use. Jest gives each test file its own module
// registry and global object, but core modules are shared by the files a worker runs; the loaded
// descriptions are kept on one (see `processCache`), so a worker loads them once.

import { readFileSync } from 'node:fs';
import util from 'node:util';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import {
  buildSchema,
  type DocumentNode,
  type ExecutionResult,
  executeSync,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLOutputType,
  type GraphQLSchema,
  getVariableValues,
  isListType,
  isNonNullType,
  isScalarType,
  Kind,
  type OperationDefinitionNode,
  parse,
  type ValueNode,
  validate,
} from 'graphql';

/** The project's node_modules (this file is test/support/github-description.ts). */
const NODE_MODULES = new URL('../../node_modules/', import.meta.url);

// ==================================================================================== REST

type Json = Record<string, unknown>;

interface Parameter {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header' | 'cookie';
  readonly required: boolean;
  readonly schema: Json;
  /** JSON pointer (in the description) of the parameter's schema. */
  readonly pointer: string;
}

/** One REST operation of the description. */
export interface RestOperation {
  /** `GET /repos/{owner}/{repo}/pulls`: how GitHub's docs name it. */
  readonly route: string;
  /** The description's operationId (`pulls/list`). */
  readonly id: string;
  readonly method: string;
  readonly template: string;
  readonly parameters: readonly Parameter[];
  /** JSON pointer of the application/json request body schema, if the operation takes one. */
  readonly body: { readonly pointer: string; readonly required: boolean; readonly schema: Json } | null;
  /** Content types of the request body the operation takes (empty: none). */
  readonly bodyTypes: readonly string[];
  readonly responses: Readonly<Record<string, Json>>;
}

/** A request matched to its operation, with its path parameters (still percent-encoded). */
export interface MatchedRequest {
  readonly operation: RestOperation;
  readonly pathParams: Readonly<Record<string, string>>;
}

interface Segment {
  readonly literal: string | null;
  readonly param: string | null;
}

interface CompiledTemplate {
  readonly operation: RestOperation;
  readonly segments: readonly Segment[];
}

/** Path parameters GitHub takes with unencoded slashes when they are last (file paths, refs, branches). */
const SLASHED = new Set(['path', 'ref', 'branch']);

const escapePointer = (s: string) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'));

/**
 * OpenAPI 3.0's `nullable` is not JSON Schema: rewrite it (in place, once) as a type or an
 * alternative that admits null, so a standard validator reads the description as GitHub means it.
 */
function nullableToJsonSchema(node: unknown): void {
  if (Array.isArray(node)) {
    for (const item of node) nullableToJsonSchema(item);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const o = node as Json;
  for (const [key, value] of Object.entries(o)) {
    if (key === 'example' || key === 'examples' || key === 'description') continue;
    nullableToJsonSchema(value);
  }
  if (o['nullable'] !== true) return;
  delete o['nullable'];
  if (typeof o['type'] === 'string') {
    o['type'] = [o['type'], 'null'];
    if (Array.isArray(o['enum']) && !o['enum'].includes(null)) o['enum'] = [...o['enum'], null];
  } else {
    const copy = { ...o };
    for (const k of Object.keys(o)) if (k !== 'description') delete o[k];
    o['anyOf'] = [copy, { type: 'null' }];
  }
}

function formatErrors(errors: readonly ErrorObject[] | null | undefined, root: string): string[] {
  const out: string[] = [];
  for (const e of errors ?? []) {
    const where = `${root}${e.instancePath.replace(/\//g, '.').replace(/^\./, root === '' ? '' : '.')}` || 'the value';
    const detail =
      e.keyword === 'enum'
        ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')})`
        : e.keyword === 'additionalProperties'
          ? ` ('${(e.params as { additionalProperty: string }).additionalProperty}')`
          : '';
    const line = `${where} ${e.message ?? e.keyword}${detail}`;
    if (!out.includes(line)) out.push(line);
  }
  return out;
}

/** A URI as RFC 3986 has it: a scheme, then no whitespace (what `new URL` parses is checked too). */
const isUri = (s: string): boolean => /^[a-z][a-z0-9+.-]*:[^\s]*$/i.test(s) && URL.canParse(s);
/** RFC 3339 date-time (`2026-11-22T12:00:00Z`, `2026-11-22T13:00:00.5+01:00`). */
const isDateTime = (s: string): boolean =>
  /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(s) && !Number.isNaN(Date.parse(s));
/** RFC 3339 full-date. */
const isDate = (s: string): boolean => /^\d{4}-\d\d-\d\d$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

/**
 * The formats the description states that a client relies on, checked as GitHub produces them
 * (JSON Schema's meaning: RFC 3339 date-time and full-date, RFC 3986 URI, RFC 6570 template);
 * `true`: a format the description uses that is not checked beyond its type.
 */
const FORMATS: Record<string, true | ((s: string) => boolean)> = {
  'date-time': isDateTime,
  date: isDate,
  uri: isUri,
  // A template's expressions ({/other_user}, {?since,all}) are well formed; expanded empty, a URI remains.
  'uri-template': (s) =>
    /^([^{}]|\{[+#./;?&=,!@|]?[A-Za-z0-9_.%]+(\*|:\d+)?(,[A-Za-z0-9_.%]+(\*|:\d+)?)*\})*$/.test(s) && isUri(s.replace(/\{[^}]*\}/g, '')),
  // GitHub's own no-reply addresses have a bot's brackets (`41898282+github-actions[bot]@users.noreply.github.com`).
  email: (s) => /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/.test(s),
  int64: true,
  int32: true,
  double: true,
  'repo.nwo': true,
  binary: true,
  timestamp: true,
};

/**
 * What a string the fake does not model says in a field of a checked format: nothing, in a
 * value of the format (a reserved `.invalid` host, the Unix epoch), so a reader sees it is not GitHub's.
 */
const UNMODELLED: Readonly<Record<string, string>> = {
  'date-time': '1970-01-01T00:00:00Z',
  date: '1970-01-01',
  uri: 'https://fake-github.invalid/not-modelled',
  'uri-template': 'https://fake-github.invalid/not-modelled',
  email: 'not-modelled@fake-github.invalid',
};

/** An object or array schema with its `allOf` parts merged. */
interface Merged {
  readonly properties: Json | undefined;
  readonly required: readonly string[];
  readonly type: unknown;
  readonly format: string | undefined;
  readonly items: Json | undefined;
}

/** GitHub's REST description: operations by method and path, and their validators. */
export class RestDescription {
  readonly #ajv: Ajv;
  /** Templates by `METHOD` and by `METHOD segments`. */
  readonly #byMethod = new Map<string, CompiledTemplate[]>();
  readonly #merges = new WeakMap<Json, Merged>();
  readonly #defaults = new WeakMap<Json, unknown>();
  readonly #memo = new WeakMap<Json, Map<string, unknown>>();
  readonly #validators = new Map<string, ValidateFunction>();
  readonly #components: Json;
  /** Operations the description has (for a test to check it is the full one). */
  readonly operationCount: number;

  constructor(doc: Json) {
    const components = doc['components'] as Json;
    const paths = doc['paths'] as Record<string, Record<string, Json>>;
    for (const key of ['schemas', 'parameters', 'responses', 'requestBodies']) nullableToJsonSchema(components[key]);
    nullableToJsonSchema(paths);
    this.#components = components;
    // Types, enums, required fields, shapes and the formats of FORMATS are checked (the
    // description's other formats, int64 or its own `repo.nwo`, say nothing a type does not).
    // Shared schemas (`pull-request`, `repository`...) compile once, as functions every operation
    // calls (`inlineRefs: false`), and validation stops at the first problem: compiling dominates.
    this.#ajv = new Ajv({
      strict: false,
      validateSchema: false,
      allErrors: false,
      inlineRefs: false,
      validateFormats: true,
      formats: FORMATS,
      discriminator: false,
    });
    this.#ajv.addSchema({ $id: 'github', components, paths }, 'github');
    let count = 0;
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete', 'head'].includes(method)) continue;
        count++;
        const base = `#/paths/${escapePointer(template)}/${method}`;
        const parameters = ((op['parameters'] ?? []) as Json[]).map((p, i): Parameter => {
          const ref = p['$ref'] as string | undefined;
          const param = ref ? this.#resolve(ref) : p;
          const pointer = ref ? `${ref}/schema` : `${base}/parameters/${i}/schema`;
          return {
            name: String(param['name']),
            in: param['in'] as Parameter['in'],
            required: param['required'] === true,
            schema: (param['schema'] ?? {}) as Json,
            pointer,
          };
        });
        const requestBody = op['requestBody'] as Json | undefined;
        const content = (requestBody?.['content'] ?? {}) as Record<string, Json>;
        const json = content['application/json'];
        const operation: RestOperation = {
          route: `${method.toUpperCase()} ${template}`,
          id: String(op['operationId']),
          method: method.toUpperCase(),
          template,
          parameters,
          body: json
            ? {
                pointer: `${base}/requestBody/content/application~1json/schema`,
                required: requestBody!['required'] === true,
                schema: json['schema'] as Json,
              }
            : null,
          bodyTypes: Object.keys(content),
          responses: (op['responses'] ?? {}) as Record<string, Json>,
        };
        const segments = template
          .split('/')
          .slice(1)
          .map((s): Segment => {
            const m = /^\{([^}]+)\}$/.exec(s);
            return m ? { literal: null, param: m[1]! } : { literal: s, param: null };
          });
        for (const key of [`${operation.method} ${segments.length}`, operation.method]) {
          const list = this.#byMethod.get(key) ?? [];
          list.push({ operation, segments });
          this.#byMethod.set(key, list);
        }
      }
    }
    this.operationCount = count;
  }

  #resolve(ref: string): Json {
    const parts = ref.replace(/^#\/components\//, '').split('/');
    let node: unknown = this.#components;
    for (const p of parts) node = (node as Json)[p.replace(/~1/g, '/').replace(/~0/g, '~')];
    return node as Json;
  }

  #validator(pointer: string): ValidateFunction {
    let v = this.#validators.get(pointer);
    if (v === undefined) {
      v = this.#ajv.compile({ $ref: `github${pointer}` });
      this.#validators.set(pointer, v);
    }
    return v;
  }

  /**
   * The operation a request names. `rawPath` is the path as sent (percent-encoded): a path
   * parameter is one segment, as GitHub routes it (`heads%2Fa%2Fb`); only where no template
   * matches does a last file path, ref or branch take the remaining segments (`contents/a/b.yaml`,
   * `git/refs/heads/a/b`), as GitHub's docs show them unencoded.
   * Literal segments win over parameters (`/pulls/comments` is not `/pulls/{pull_number}`).
   */
  match(method: string, rawPath: string): MatchedRequest | null {
    const segments = rawPath.replace(/\/+$/, '').split('/').slice(1);
    let best: { t: CompiledTemplate; score: string; params: Record<string, string> } | null = null;
    for (const greedyLast of [false, true]) {
      // Templates by method and number of segments (by method only for a greedy last parameter).
      const candidates = this.#byMethod.get(greedyLast ? method.toUpperCase() : `${method.toUpperCase()} ${segments.length}`) ?? [];
      for (const t of candidates) {
        if (
          greedyLast
            ? t.segments.length > segments.length || !SLASHED.has(t.segments.at(-1)!.param ?? '')
            : t.segments.length !== segments.length
        )
          continue;
        const params: Record<string, string> = {};
        let score = '';
        let ok = true;
        for (let i = 0; i < t.segments.length && ok; i++) {
          const s = t.segments[i]!;
          const value = greedyLast && i === t.segments.length - 1 ? segments.slice(i).join('/') : segments[i]!;
          if (s.literal !== null) {
            ok = s.literal === value;
            score += 'b';
          } else {
            ok = value !== '';
            params[s.param!] = value;
            score += 'a';
          }
        }
        if (ok && (best === null || score > best.score)) best = { t, score, params };
      }
      if (best !== null) return { operation: best.t.operation, pathParams: best.params };
    }
    return null;
  }

  /**
   * What is wrong with a request for its operation, as GitHub's description states it:
   * `refused` are the problems GitHub answers with an error (a parameter or body that does not
   * validate, a required one missing); `ignored` are what GitHub accepts and silently drops (a
   * query parameter or a body field the operation does not have), which is a bug all the same.
   */
  checkRequest(
    matched: MatchedRequest,
    query: URLSearchParams,
    body: unknown,
    contentType: string | null,
  ): { refused: string[]; ignored: string[] } {
    const { operation } = matched;
    const refused: string[] = [];
    const ignored: string[] = [];
    for (const p of operation.parameters) {
      if (p.in === 'path') {
        const raw = matched.pathParams[p.name];
        if (raw === undefined) continue;
        let value: string;
        try {
          value = decodeURIComponent(raw);
        } catch {
          refused.push(`path parameter ${p.name} is not valid percent-encoding (${raw})`);
          continue;
        }
        refused.push(...this.#checkParameter(p, [value]));
      } else if (p.in === 'query') {
        const values = query.getAll(p.name);
        if (values.length === 0) {
          if (p.required) refused.push(`query parameter ${p.name} is required`);
          continue;
        }
        refused.push(...this.#checkParameter(p, values));
      }
    }
    const known = new Set(operation.parameters.filter((p) => p.in === 'query').map((p) => p.name));
    for (const name of new Set(query.keys()))
      if (!known.has(name)) ignored.push(`query parameter ${name} is not a parameter of this operation`);

    if (body === undefined) {
      if (operation.body?.required) refused.push('the request body is required');
    } else if (operation.body === null) {
      if (operation.bodyTypes.length === 0 && !(typeof body === 'object' && body !== null && Object.keys(body).length === 0))
        ignored.push('the operation takes no request body');
    } else if (
      contentType !== null &&
      !/json/i.test(contentType) &&
      operation.bodyTypes.length > 0 &&
      !operation.bodyTypes.some((t) => contentType.startsWith(t))
    ) {
      refused.push(`content type ${contentType} is not one of ${operation.bodyTypes.join(', ')}`);
    } else {
      const v = this.#validator(operation.body.pointer);
      if (!v(body)) refused.push(...formatErrors(v.errors, 'body'));
      else ignored.push(...this.#unknownFields(operation.body.schema, body));
    }
    return { refused, ignored };
  }

  /**
   * Body fields, at any depth, that the body's schema does not have where it leaves an object
   * open (no `additionalProperties`): GitHub ignores them. (Where an object is closed,
   * `additionalProperties: false`, the validator has refused them.) `body` has validated.
   */
  #unknownFields(schemaIn: Json, value: unknown, where = 'body', depth = 0): string[] {
    if (value === null || typeof value !== 'object' || depth > 24) return [];
    const schema = this.#deref(schemaIn);
    const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Json[] | undefined;
    if (alternatives !== undefined) {
      // The alternative the value is (of those of its kind): the one that knows the most of it.
      const kind = (b: Json) =>
        Array.isArray(value) ? this.#merged(this.#deref(b)).items !== undefined : this.#merged(this.#deref(b)).properties !== undefined;
      const results = alternatives.filter(kind).map((b) => this.#unknownFields(b, value, where, depth + 1));
      return results.length === 0 ? [] : results.reduce((a, b) => (b.length < a.length ? b : a));
    }
    const { properties, items } = this.#merged(schema);
    if (Array.isArray(value))
      return items === undefined ? [] : value.flatMap((v, i) => this.#unknownFields(items, v, `${where}[${i}]`, depth + 1));
    if (properties === undefined) return [];
    const open = schema['additionalProperties'] === undefined;
    return Object.entries(value).flatMap(([k, v]) =>
      properties[k] === undefined
        ? open
          ? [`${where}.${k} is not a field of this operation's body`]
          : []
        : this.#unknownFields(properties[k] as Json, v, `${where}.${k}`, depth + 1),
    );
  }

  /** A path or query parameter's values (strings on the wire) against its schema. */
  #checkParameter(p: Parameter, values: readonly string[]): string[] {
    const schema = p.schema;
    const coerce = (type: unknown, raw: string): { ok: true; value: unknown } | { ok: false } => {
      switch (type) {
        case 'integer':
          return /^-?\d+$/.test(raw) ? { ok: true, value: Number(raw) } : { ok: false };
        case 'number':
          return raw.trim() !== '' && Number.isFinite(Number(raw)) ? { ok: true, value: Number(raw) } : { ok: false };
        case 'boolean':
          return raw === 'true' || raw === 'false' ? { ok: true, value: raw === 'true' } : { ok: false };
        default:
          return { ok: true, value: raw };
      }
    };
    const type = Array.isArray(schema['type']) ? (schema['type'] as unknown[]).find((t) => t !== 'null') : schema['type'];
    let value: unknown;
    if (type === 'array') {
      const itemType = (schema['items'] as Json | undefined)?.['type'];
      const items = values.flatMap((v) => v.split(','));
      const coerced = items.map((v) => coerce(itemType, v));
      if (coerced.some((c) => !c.ok)) return [`${p.in} parameter ${p.name} must be a list of ${String(itemType)} (${values.join(',')})`];
      value = coerced.map((c) => (c as { value: unknown }).value);
    } else {
      if (values.length > 1) return [`${p.in} parameter ${p.name} is given ${values.length} times`];
      const c = coerce(type, values[0]!);
      if (!c.ok) return [`${p.in} parameter ${p.name} must be ${String(type)} (${values[0]})`];
      value = c.value;
    }
    const v = this.#validator(p.pointer);
    return v(value) ? [] : formatErrors(v.errors, `${p.in} parameter ${p.name}`);
  }

  /** The application/json schema of an operation's response with `status`, if described. */
  #responseSchema(operation: RestOperation, status: number): Json | null {
    const response = operation.responses[String(status)];
    if (response === undefined) return null;
    const resolved = typeof response['$ref'] === 'string' ? this.#resolve(response['$ref']) : response;
    const content = (resolved['content'] ?? {}) as Record<string, Json>;
    return (content['application/json']?.['schema'] as Json | undefined) ?? null;
  }

  /**
   * A response of the fake shaped from the description: the fields its schema requires that the
   * fake does not model are added with a value that says nothing (null where the schema admits
   * it, else the first enum value, "", 0, false, [] or an object shaped the same way); what the
   * fake gives is kept as it is, for `checkResponse` to hold to the schema.
   */
  shapeResponse(operation: RestOperation, status: number, body: unknown): unknown {
    const schema = this.#responseSchema(operation, status);
    return schema === null ? body : this.#shape(schema, body, 0);
  }

  /**
   * A webhook payload shaped as GitHub's description of the event (its `x-webhooks`, schema
   * `webhook-<event>-<action>`), and what is wrong with it: a payload the fake would deliver
   * that GitHub never sends.
   */
  webhook(name: string, payload: Record<string, unknown>): { payload: unknown; problems: string[] } {
    const action = typeof payload['action'] === 'string' ? `-${payload['action'].replace(/_/g, '-')}` : '';
    const component = `webhook-${name.replace(/_/g, '-')}${action}`;
    if ((this.#components['schemas'] as Json)[component] === undefined)
      return { payload, problems: [`GitHub describes no webhook ${component}`] };
    const pointer = `#/components/schemas/${component}`;
    // A copy, as GitHub's JSON would be: shaped parts are shared between payloads.
    const shaped = JSON.parse(JSON.stringify(this.#shape({ $ref: pointer }, payload, 0))) as unknown;
    const v = this.#validator(pointer);
    return { payload: shaped, problems: v(shaped) ? [] : formatErrors(v.errors, `${name} payload`) };
  }

  #deref(schema: Json): Json {
    let s = schema;
    while (typeof s['$ref'] === 'string') s = this.#resolve(s['$ref']);
    return s;
  }

  /**
   * Shaping is memoised (the same users, repositories and labels recur in every answer and
   * payload): a schema's value for "not given", and its shaping of a nested object by the
   * object's JSON. Results are shared, so callers serialise them (REST answers are sent as JSON,
   * webhook payloads are copied: see `webhook`).
   */
  #shape(schemaIn: Json, value: unknown, depth: number): unknown {
    // A value given that is not an object or array is the fake's, as it is.
    if (value === null || (value !== undefined && typeof value !== 'object')) return value;
    const schema = this.#deref(schemaIn);
    if (value === undefined) {
      if (!this.#defaults.has(schema)) this.#defaults.set(schema, this.#shapeOnce(schema, undefined, depth));
      return this.#defaults.get(schema);
    }
    if (depth === 0 || Array.isArray(value)) return this.#shapeOnce(schema, value, depth);
    let memo = this.#memo.get(schema);
    if (memo === undefined) this.#memo.set(schema, (memo = new Map()));
    const key = JSON.stringify(value);
    let shaped = memo.get(key);
    if (shaped === undefined) {
      if (memo.size >= 500) memo.clear();
      shaped = this.#shapeOnce(schema, value, depth);
      memo.set(key, shaped);
    }
    return shaped;
  }

  #shapeOnce(schema: Json, value: unknown, depth: number): unknown {
    const alternatives = (schema['anyOf'] ?? schema['oneOf']) as Json[] | undefined;
    if (alternatives !== undefined) {
      if (value === null) return null;
      const branches = alternatives.map((a) => this.#deref(a)).filter((b) => b['type'] !== 'null');
      if (value === undefined) return branches.length < alternatives.length ? null : this.#shape(branches[0] ?? {}, undefined, depth + 1);
      if (typeof value !== 'object') return value;
      if (Array.isArray(value)) {
        const list = branches.find((b) => this.#merged(b).type === 'array');
        return list === undefined ? value : this.#shape(list, value, depth + 1);
      }
      // The branch that knows the most of the fields given.
      const given = Object.keys(value);
      const known = (b: Json) => given.filter((k) => k in ((this.#merged(b).properties as Json | undefined) ?? {})).length;
      const best = branches.reduce((a, b) => (known(b) > known(a) ? b : a), branches[0] ?? {});
      return this.#shape(best, value, depth + 1);
    }
    const { properties, required, type, format, items } = this.#merged(schema);
    const types = Array.isArray(type) ? type : type === undefined ? [] : [type];
    if (value === undefined) {
      if (types.includes('null')) return null;
      if (Array.isArray(schema['enum'])) return schema['enum'][0];
      switch (types[0]) {
        case 'string':
          return UNMODELLED[format ?? ''] ?? '';
        case 'integer':
        case 'number':
          return 0;
        case 'boolean':
          return false;
        case 'array':
          return [];
        default:
          if (properties === undefined || depth > 12) return types[0] === 'object' ? {} : null;
          value = {};
      }
    }
    if (Array.isArray(value)) {
      return items === undefined ? value : value.map((v) => this.#shape(items, v, depth + 1));
    }
    if (value === null || typeof value !== 'object' || properties === undefined) return value;
    const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const [k, v] of Object.entries(out)) if (properties[k] !== undefined) out[k] = this.#shape(properties[k] as Json, v, depth + 1);
    for (const k of required)
      if (!(k in out) && properties[k] !== undefined) out[k] = this.#shape(properties[k] as Json, undefined, depth + 1);
    return out;
  }

  /** An object schema with its `allOf` parts merged (properties and required fields). */
  #merged(schema: Json): Merged {
    const known = this.#merges.get(schema);
    if (known !== undefined) return known;
    const merged = this.#merge(schema);
    this.#merges.set(schema, merged);
    return merged;
  }

  #merge(schema: Json): Merged {
    let properties: Json | undefined;
    const required = [...((schema['required'] ?? []) as string[])];
    let type: unknown = schema['type'];
    let format = schema['format'] as string | undefined;
    let items = schema['items'] as Json | undefined;
    // A field two parts describe must satisfy both.
    const add = (more: Json) => {
      properties ??= {};
      for (const [k, v] of Object.entries(more)) properties[k] = properties[k] === undefined ? v : { allOf: [properties[k], v] };
    };
    if (schema['properties'] !== undefined) add(schema['properties'] as Json);
    for (const part of (schema['allOf'] ?? []) as Json[]) {
      const m = this.#merged(this.#deref(part));
      if (m.properties !== undefined) add(m.properties);
      required.push(...m.required);
      type ??= m.type;
      format ??= m.format;
      if (m.items !== undefined) items = items === undefined ? m.items : { allOf: [items, m.items] };
    }
    return { properties, required: [...new Set(required)], type, format, items };
  }

  /**
   * What is wrong with a JSON response for its operation: the body against the schema of the
   * status (a status the description does not list for the operation is not checked: GitHub
   * answers 401, 403, 500... from anywhere).
   */
  checkResponse(operation: RestOperation, status: number, body: unknown): string[] {
    const response = operation.responses[String(status)];
    if (response === undefined || this.#responseSchema(operation, status) === null) return [];
    const pointer =
      typeof response['$ref'] === 'string'
        ? `${response['$ref']}/content/application~1json/schema`
        : `#/paths/${escapePointer(operation.template)}/${operation.method.toLowerCase()}/responses/${status}/content/application~1json/schema`;
    const v = this.#validator(pointer);
    return v(body) ? [] : formatErrors(v.errors, 'response');
  }
}

// ==================================================================================== GraphQL

/** Whether a string is what a custom scalar of GitHub's schema states it is (its description in schema.graphql). */
const SCALARS: Readonly<Record<string, (s: string) => boolean>> = {
  // "An ISO-8601 encoded UTC date string."
  DateTime: (s) => isDateTime(s) && /Z$/i.test(s),
  // "... with millisecond precision."
  PreciseDateTime: (s) => isDateTime(s) && /\.\d{3}Z$/i.test(s),
  // "An ISO-8601 encoded date string. Unlike the DateTime type, GitTimestamp is not converted in UTC."
  GitTimestamp: isDateTime,
  // "An ISO-8601 encoded date string."
  Date: isDate,
  // "An RFC 3986, RFC 3987, and RFC 6570 (level 4) compliant URI string."
  URI: isUri,
  // "A Git object ID." (SHA-1 hex, as GitHub gives them)
  GitObjectID: (s) => /^[0-9a-f]{40}$/.test(s),
  // "A fully qualified reference name (e.g. `refs/heads/master`)."
  GitRefname: (s) => /^refs\/[^/]+\/./.test(s),
  // "Represents non-fractional signed whole numeric values. [...] encoded as a string."
  BigInt: (s) => /^-?\d+$/.test(s),
  // "A (potentially binary) string encoded using base64."
  Base64String: (s) => /^[A-Za-z0-9+/]*={0,2}$/.test(s.replace(/\s/g, '')),
  HTML: () => true,
  GitSSHRemote: () => true,
  X509Certificate: () => true,
};

/**
 * GraphQL's built-in scalars as GitHub answers them. graphql-js would coerce a value of another
 * kind (`"1"` to 1, `true` to `"true"`): a fake answering such a value has drifted all the same.
 */
const BUILT_IN_KINDS: Readonly<Record<string, (v: unknown) => boolean>> = {
  String: (v) => typeof v === 'string',
  ID: (v) => typeof v === 'string',
  Int: (v) => Number.isInteger(v) && Math.abs(v as number) <= 2 ** 31 - 1,
  Float: (v) => typeof v === 'number' && Number.isFinite(v),
  Boolean: (v) => typeof v === 'boolean',
};

/** What is wrong with the kind of a resolved value for a field's type (null, lists, built-in scalars). */
function kindProblem(type: GraphQLOutputType, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (isNonNullType(type)) return kindProblem(type.ofType, value);
  if (isListType(type))
    return Array.isArray(value) ? (value.map((v) => kindProblem(type.ofType, v)).find((p) => p !== null) ?? null) : null;
  const ok = isScalarType(type) ? BUILT_IN_KINDS[type.name] : undefined;
  return ok === undefined || ok(value) ? null : `${type.name} cannot represent ${JSON.stringify(value)} (a ${typeof value})`;
}

/** The fake's own failure while resolving a field (carried through graphql-js, which may live in another realm: see `processCache`). */
export interface ResolverFailure {
  readonly thrown: unknown;
}

/** GitHub's public GraphQL schema and the checks a document and its variables pass there. */
export class GraphqlDescription {
  readonly schema: GraphQLSchema;
  readonly #documents = new Map<
    string,
    { document: DocumentNode | null; operation: OperationDefinitionNode | null; problems: readonly string[] }
  >();

  constructor(sdl: string) {
    this.schema = buildSchema(sdl, { assumeValidSDL: true });
    // buildSchema leaves custom scalars as any value: GitHub's are strings of a stated form, in
    // variables and literals a client sends (GitHub refuses others) and in what it answers.
    for (const [name, ok] of Object.entries(SCALARS)) {
      const type = this.schema.getType(name);
      if (!isScalarType(type)) continue;
      const check = (value: unknown, what: string): string => {
        if (typeof value !== 'string' || !ok(value)) throw new GraphQLError(`${name} cannot represent ${what} ${JSON.stringify(value)}`);
        return value;
      };
      type.serialize = (value) => check(value, 'the value');
      type.parseValue = (value) => check(value, 'the value');
      type.parseLiteral = (node: ValueNode) => check(node.kind === Kind.STRING ? node.value : `(a ${node.kind} literal)`, 'the literal');
    }
  }

  /**
   * Executes a checked operation with graphql-js, which shapes the answer as the schema states:
   * aliases, fragments, `__typename`, abstract types (by the `__typename` of what `resolve`
   * returns), non-null fields, lists, enum values and scalars (custom ones as `SCALARS` states).
   * `resolve(typeName, source, fieldName, args, given)` answers one field (`given`: the argument
   * names the document gives). What it throws comes back in `errors` as `originalError.thrown`
   * (a `ResolverFailure`); any other error is graphql-js's: an answer the schema does not allow.
   */
  execute(
    document: DocumentNode,
    operationName: string | undefined,
    variables: Readonly<Record<string, unknown>>,
    resolve: (type: string, source: unknown, field: string, args: Record<string, unknown>, given: ReadonlySet<string>) => unknown,
  ): ExecutionResult {
    const fieldResolver: GraphQLFieldResolver<unknown, unknown> = (source, args, _context, info) => {
      const given = new Set(info.fieldNodes.flatMap((n) => (n.arguments ?? []).map((a) => a.name.value)));
      let value: unknown;
      try {
        value = resolve(info.parentType.name, source, info.fieldName, args, given);
      } catch (thrown) {
        // An Error of this module's realm, so that graphql-js keeps it as the originalError.
        const message = typeof thrown === 'object' && thrown !== null && 'message' in thrown ? String(thrown.message) : String(thrown);
        throw Object.assign(new Error(message), { thrown } satisfies ResolverFailure);
      }
      const problem = kindProblem(info.returnType, value);
      if (problem !== null) throw new GraphQLError(problem);
      return value;
    };
    return executeSync({ schema: this.schema, document, operationName, variableValues: variables, fieldResolver });
  }

  /**
   * The parsed document and its operation, or what GitHub would answer instead: a syntax error,
   * a validation error (unknown field or argument, wrong argument type, missing selection...), or
   * variables that do not match their declared types.
   */
  check(
    query: string,
    variables: Readonly<Record<string, unknown>> | undefined,
    operationName?: string,
  ): { document: DocumentNode | null; operation: OperationDefinitionNode | null; problems: string[] } {
    // A client sends the same few documents with different variables: each is validated once.
    const key = `${operationName ?? ''}\n${query}`;
    let checked = this.#documents.get(key);
    if (checked === undefined) {
      checked = this.#checkDocument(query, operationName);
      this.#documents.set(key, checked);
    }
    const { document, operation } = checked;
    const problems = [...checked.problems];
    if (problems.length === 0 && operation !== null) {
      const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], (variables ?? {}) as Record<string, unknown>);
      if (coerced.errors) problems.push(...coerced.errors.map((e) => e.message));
    }
    return { document, operation, problems };
  }

  #checkDocument(
    query: string,
    operationName: string | undefined,
  ): { document: DocumentNode | null; operation: OperationDefinitionNode | null; problems: readonly string[] } {
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (e) {
      return { document: null, operation: null, problems: [String((e as Error).message)] };
    }
    const problems = validate(this.schema, document).map((e) => e.message);
    const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const operation = operationName
      ? operations.find((o) => o.name?.value === operationName)
      : operations.length === 1
        ? operations[0]
        : undefined;
    if (operation === undefined) {
      problems.push(
        operationName
          ? `Unknown operation named "${operationName}".`
          : 'Must provide operation name if query contains multiple operations.',
      );
      return { document, operation: null, problems };
    }
    return { document, operation, problems };
  }
}

// ==================================================================================== loading

interface Descriptions {
  rest?: RestDescription;
  graphql?: GraphqlDescription;
}

/**
 * Kept on a core module's object: shared by the test files a Jest worker runs (each has its
 * own module registry and globals), so the descriptions are parsed and validators compiled once
 * per process. The validators are plain functions over plain data: sharing them is safe.
 */
function processCache(): Descriptions {
  const key = Symbol.for('policy-recommender.test.github-description');
  const holder = util as unknown as Record<symbol, Descriptions | undefined>;
  let cache = holder[key];
  if (cache === undefined) {
    cache = {};
    Object.defineProperty(holder, key, { value: cache, enumerable: false });
  }
  return cache;
}

/** GitHub's REST description (`@octokit/openapi`, generated/api.github.com.json). */
export function restDescription(): RestDescription {
  const cache = processCache();
  cache.rest ??= new RestDescription(
    JSON.parse(readFileSync(new URL('@octokit/openapi/generated/api.github.com.json', NODE_MODULES), 'utf8')) as Json,
  );
  return cache.rest;
}

/** GitHub's public GraphQL schema (`@octokit/graphql-schema`, schema.graphql). */
export function graphqlDescription(): GraphqlDescription {
  const cache = processCache();
  cache.graphql ??= new GraphqlDescription(readFileSync(new URL('@octokit/graphql-schema/schema.graphql', NODE_MODULES), 'utf8'));
  return cache.graphql;
}
