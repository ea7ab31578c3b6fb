// Calico label selectors (projectcalico.org/v3): a tokenizer, a recursive-descent parser, an
// evaluator and a canonical renderer. The accepted language follows libcalico-go's
// lib/selector/{tokenizer,parser} (identical in release-v3.30 .. v3.33 and main) so that anything
// we accept Calico accepts too, and vice versa (apart from our length and nesting limits);
// test/conformance/selector-upstream.test.ts holds upstream's own cases.

export type Labels = Readonly<Record<string, string>>;

export type SelectorNode =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; key: string }
  | { op: '=='; key: string; value: string }
  | { op: '!='; key: string; value: string }
  | { op: 'in'; key: string; values: readonly string[] }
  | { op: 'not in'; key: string; values: readonly string[] }
  | { op: 'contains' | 'starts with' | 'ends with'; key: string; value: string }
  | { op: 'not'; expr: SelectorNode }
  | { op: 'and'; exprs: readonly SelectorNode[] }
  | { op: 'or'; exprs: readonly SelectorNode[] };

/**
 * How `all()` and `global()` read. Calico only accepts `global()` in a rule's namespaceSelector
 * (validator.go, and the CRDs' CEL rules from 3.32), and libcalico-go's
 * syncersv1/updateprocessors/rules.go (3.30 .. HEAD) rewrites such a selector textually:
 * `all()` becomes `has(projectcalico.org/namespace)` and `global()` becomes
 * `!has(projectcalico.org/namespace)`. We evaluate in that meaning: without `global: true`,
 * `global()` is false and `all()` true (an entity in a namespace); with it, the reverse (an entity
 * outside any namespace: GlobalNetworkSet, HostEndpoint). Upstream's bare Evaluate() returns true
 * for `global()` everywhere, which no valid policy can observe.
 */
export interface SelectorContext {
  /** True when evaluating a namespaceSelector for an entity outside any namespace. */
  global?: boolean;
}

export interface Selector {
  /** The text as given. */
  readonly source: string;
  readonly ast: SelectorNode;
  matches(labels: Labels, context?: SelectorContext): boolean;
  /** Normalised text; see formatSelector. */
  canonical(): string;
}

/** Longer selectors are rejected outright: they only come from hostile or broken input. */
export const MAX_SELECTOR_LENGTH = 4096;
/** Parenthesis nesting limit, so hostile input cannot exhaust the stack. */
export const MAX_NESTING_DEPTH = 64;
/** Longest label name Calico's tokenizer accepts (tokenizer.go MaxLabelLength, 3.30 .. HEAD). */
export const MAX_LABEL_LENGTH = 512;

export class SelectorSyntaxError extends Error {
  /** 0-based character offset into the selector text. */
  readonly position: number;

  constructor(problem: string, position: number) {
    super(`${problem} at position ${position}`);
    this.name = 'SelectorSyntaxError';
    this.position = position;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokenizer

/** Token kinds, as libcalico-go's tokenizer.Kind (TokLabel = 'label', TokStringLiteral = 'string', ...). */
export type SelectorTokenKind =
  | '('
  | ')'
  | '{'
  | '}'
  | ','
  | '!'
  | '=='
  | '!='
  | '&&'
  | '||'
  | 'in'
  | 'not in'
  | 'contains'
  | 'starts with'
  | 'ends with'
  | 'has'
  | 'all'
  | 'global'
  | 'label'
  | 'string'
  | 'eof';

export interface SelectorToken {
  readonly kind: SelectorTokenKind;
  /** Label name for `label` and `has`, literal contents for `string`. */
  readonly value: string;
  readonly pos: number;
}

// Calico's label charset is looser than Kubernetes' (no structure check), and we accept what it does.
const LABEL_KEY = /^[A-Za-z0-9_./-]+$/;
const LABEL_AT = /[A-Za-z0-9_./-]+/y;
// Word operators are only recognised straight after a label, as in Calico; that is what lets
// `in`, `contains`, `has`, ... also be used as label names. Calico allows no space at all
// between the two words (`startswith`, `notin`); the lookahead rejects `a inx` here rather than
// later with a vaguer message.
const WORD_OPERATOR_AT = /(contains|starts[ \t]*with|ends[ \t]*with|not[ \t]*in|in)(?![A-Za-z0-9_./-])/y;
// `has(`, `all(` and `global(` must be written without a space before the parenthesis, otherwise
// Calico reads the word as a label.
const FUNCTION_AT = /(has|all|global)\(/y;
const PUNCTUATION = new Set(['(', ')', '{', '}', ',']);
const TWO_CHAR_OPERATORS = new Set(['==', '!=', '&&', '||']);

function matchAt(re: RegExp, text: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(text);
}

function checkLabelLength(label: string, pos: number): void {
  if (label.length > MAX_LABEL_LENGTH) throw new SelectorSyntaxError(`label longer than ${MAX_LABEL_LENGTH} characters`, pos);
}

function tokenize(text: string): SelectorToken[] {
  const tokens: SelectorToken[] = [];
  let i = 0;
  // Calico only skips spaces and tabs; a newline inside a selector is an error there too.
  const skipBlanks = (): void => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const push = (kind: SelectorTokenKind, pos: number, value = ''): void => {
    tokens.push({ kind, value, pos });
  };

  for (;;) {
    skipBlanks();
    const start = i;
    if (i >= text.length) {
      push('eof', i);
      return tokens;
    }
    const c = text.charAt(i);
    const two = text.slice(i, i + 2);
    const previous = tokens.at(-1);

    if (PUNCTUATION.has(c)) {
      push(c as SelectorTokenKind, start);
      i++;
    } else if (TWO_CHAR_OPERATORS.has(two)) {
      push(two as SelectorTokenKind, start);
      i += 2;
    } else if (c === '!') {
      push('!', start);
      i++;
    } else if (c === "'" || c === '"') {
      // No escapes: a literal simply cannot contain its own quote character.
      const end = text.indexOf(c, i + 1);
      if (end === -1) throw new SelectorSyntaxError(`unterminated string literal (no closing ${c})`, start);
      push('string', start, text.slice(i + 1, end));
      i = end + 1;
    } else if (c === '=' || c === '&' || c === '|') {
      throw new SelectorSyntaxError(`expected '${c}${c}'`, start);
    } else if (previous?.kind === 'label') {
      const m = matchAt(WORD_OPERATOR_AT, text, i);
      if (m === null) throw new SelectorSyntaxError(`expected an operator after label '${previous.value}'`, start);
      const word = m[1] ?? '';
      const kind: SelectorTokenKind = word.startsWith('starts')
        ? 'starts with'
        : word.startsWith('ends')
          ? 'ends with'
          : word.startsWith('not')
            ? 'not in'
            : word === 'in'
              ? 'in'
              : 'contains';
      push(kind, start);
      i += m[0].length;
    } else if (matchAt(FUNCTION_AT, text, i) !== null) {
      const name = text.startsWith('has', i) ? 'has' : text.startsWith('all', i) ? 'all' : 'global';
      i += name.length + 1;
      skipBlanks();
      let key = '';
      if (name === 'has') {
        key = matchAt(LABEL_AT, text, i)?.[0] ?? '';
        if (key === '') throw new SelectorSyntaxError('expected a label name inside has()', i);
        checkLabelLength(key, i);
        i += key.length;
        skipBlanks();
      }
      if (text[i] !== ')') throw new SelectorSyntaxError(`expected ')' to close ${name}(`, i);
      i++;
      push(name, start, key);
    } else {
      const label = matchAt(LABEL_AT, text, i)?.[0];
      if (label === undefined) throw new SelectorSyntaxError(`unexpected character ${JSON.stringify(c)}`, start);
      checkLabelLength(label, start);
      push('label', start, label);
      i += label.length;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Parser
//
//   selector   := <nothing> | or
//   or         := and ('||' and)*
//   and        := unary ('&&' unary)*
//   unary      := '!'* primary
//   primary    := 'has(' label ')' | 'all()' | 'global()' | '(' or ')' | label operator
//   operator   := ('==' | '!=' | 'contains' | 'starts with' | 'ends with') string
//               | ('in' | 'not in') '{' (string (',' string)* ','?)? '}'

function describe(token: SelectorToken): string {
  switch (token.kind) {
    case 'eof':
      return 'end of selector';
    case 'label':
      return `label '${token.value}'`;
    case 'string':
      return 'string literal';
    case 'has':
      return `has(${token.value})`;
    case 'all':
    case 'global':
      return `${token.kind}()`;
    default:
      return `'${token.kind}'`;
  }
}

function parseTokens(tokens: readonly SelectorToken[]): SelectorNode {
  let index = 0;
  let depth = 0;
  // The token list always ends with 'eof', and we never move past it.
  const eof = tokens[tokens.length - 1] as SelectorToken;
  const peek = (): SelectorToken => tokens[index] ?? eof;
  const next = (): SelectorToken => {
    const token = peek();
    if (token.kind !== 'eof') index++;
    return token;
  };
  const expect = (kind: SelectorTokenKind, what: string): SelectorToken => {
    const token = next();
    if (token.kind !== kind) throw new SelectorSyntaxError(`expected ${what} but found ${describe(token)}`, token.pos);
    return token;
  };

  function parseOr(): SelectorNode {
    const exprs = [parseAnd()];
    while (peek().kind === '||') {
      index++;
      exprs.push(parseAnd());
    }
    return exprs.length === 1 ? (exprs[0] as SelectorNode) : { op: 'or', exprs };
  }

  function parseAnd(): SelectorNode {
    const exprs = [parseUnary()];
    while (peek().kind === '&&') {
      index++;
      exprs.push(parseUnary());
    }
    return exprs.length === 1 ? (exprs[0] as SelectorNode) : { op: 'and', exprs };
  }

  function parseUnary(): SelectorNode {
    // Like Calico, a run of '!' collapses to its parity; this also keeps `!!!!…` from building a
    // deep tree.
    let negated = false;
    while (peek().kind === '!') {
      index++;
      negated = !negated;
    }
    const expr = parsePrimary();
    return negated ? { op: 'not', expr } : expr;
  }

  function parsePrimary(): SelectorNode {
    const token = next();
    switch (token.kind) {
      case 'all':
        return { op: 'all' };
      case 'global':
        return { op: 'global' };
      case 'has':
        return { op: 'has', key: token.value };
      case 'label':
        return parseComparison(token);
      case '(': {
        if (++depth > MAX_NESTING_DEPTH) {
          throw new SelectorSyntaxError(`parentheses nested deeper than ${MAX_NESTING_DEPTH}`, token.pos);
        }
        const expr = parseOr();
        expect(')', `')' to close the '(' at position ${token.pos}`);
        depth--;
        return expr;
      }
      default:
        throw new SelectorSyntaxError(`expected a label, has(), all(), global(), '!' or '(' but found ${describe(token)}`, token.pos);
    }
  }

  function parseComparison(label: SelectorToken): SelectorNode {
    const key = label.value;
    const operator = next();
    switch (operator.kind) {
      case '==':
      case '!=':
      case 'contains':
      case 'starts with':
      case 'ends with': {
        const value = expect('string', `a string literal after '${operator.kind}'`).value;
        return { op: operator.kind, key, value };
      }
      case 'in':
      case 'not in':
        return { op: operator.kind, key, values: parseSet(operator.kind) };
      default:
        throw new SelectorSyntaxError(`expected an operator after label '${key}' but found ${describe(operator)}`, operator.pos);
    }
  }

  // Calico accepts an empty set and a trailing comma: `k in {}`, `k in {'a',}`.
  function parseSet(operator: string): string[] {
    expect('{', `'{' after '${operator}'`);
    const values: string[] = [];
    while (peek().kind === 'string') {
      values.push(next().value);
      if (peek().kind !== ',') break;
      index++;
    }
    expect('}', `a string literal or '}' in the set`);
    return values;
  }

  if (peek().kind === 'eof') return { op: 'all' };
  const root = parseOr();
  const rest = peek();
  if (rest.kind !== 'eof') {
    throw new SelectorSyntaxError(`unexpected ${describe(rest)} after a complete expression`, rest.pos);
  }
  return root;
}

// ---------------------------------------------------------------------------------------------
// Evaluator

function labelValue(labels: Labels, key: string): string | undefined {
  // Own properties only: `has(constructor)` must not match every label map.
  return Object.hasOwn(labels, key) ? labels[key] : undefined;
}

function evaluate(node: SelectorNode, labels: Labels, isGlobal: boolean): boolean {
  switch (node.op) {
    case 'all':
      return !isGlobal;
    case 'global':
      return isGlobal;
    case 'has':
      return Object.hasOwn(labels, node.key);
    case 'not':
      return !evaluate(node.expr, labels, isGlobal);
    case 'and':
      return node.exprs.every((expr) => evaluate(expr, labels, isGlobal));
    case 'or':
      return node.exprs.some((expr) => evaluate(expr, labels, isGlobal));
    default:
      return compare(node, labelValue(labels, node.key));
  }
}

type Comparison = Extract<SelectorNode, { key: string }>;

/** Long `in` / `not in` lists (a merged rule's peers: thousands of namespaces) as sets, made once per node. */
const valueSets = new WeakMap<readonly string[], ReadonlySet<string>>();
const LIST_SCAN_LIMIT = 16;

function listHas(values: readonly string[], value: string): boolean {
  if (values.length <= LIST_SCAN_LIMIT) return values.includes(value);
  let set = valueSets.get(values);
  if (set === undefined) valueSets.set(values, (set = new Set(values)));
  return set.has(value);
}

/** One comparison against a label's value (undefined: the label is absent). */
function compare(node: Comparison, value: string | undefined): boolean {
  switch (node.op) {
    case 'has':
      return value !== undefined;
    // The negative operators match when the label is absent; the others need it present.
    case '!=':
      return value !== node.value;
    case 'not in':
      return value === undefined || !listHas(node.values, value);
  }
  if (value === undefined) return false;
  switch (node.op) {
    case '==':
      return value === node.value;
    case 'in':
      return listHas(node.values, value);
    case 'contains':
      return value.includes(node.value);
    case 'starts with':
      return value.startsWith(node.value);
    case 'ends with':
      return value.endsWith(node.value);
  }
}

/** Kleene's three-valued logic: `'unknown'` where the labels at hand cannot decide. */
export type Truth = boolean | 'unknown';

/**
 * Labels that may be incomplete, as flow logs report them (only the labels every aggregated pod
 * shares). `known(key)` says whether the absence of `key` from `labels` is certain.
 */
export interface PartialLabels {
  readonly labels: Labels;
  readonly known: (key: string) => boolean;
}

/**
 * Evaluates a selector over labels that may be incomplete: a comparison on an absent label whose
 * absence is not certain is `'unknown'`, and `!`, `&&`, `||` combine as in Kleene's logic (false
 * wins an `&&`, true wins an `||`).
 */
export function matchesPartially(node: SelectorNode, partial: PartialLabels, context?: SelectorContext): Truth {
  return evaluatePartially(node, partial, context?.global === true);
}

function evaluatePartially(node: SelectorNode, partial: PartialLabels, isGlobal: boolean): Truth {
  switch (node.op) {
    case 'all':
      return !isGlobal;
    case 'global':
      return isGlobal;
    case 'not': {
      const truth = evaluatePartially(node.expr, partial, isGlobal);
      return truth === 'unknown' ? truth : !truth;
    }
    case 'and':
    case 'or': {
      const decisive = node.op === 'or';
      let result: Truth = !decisive;
      for (const expr of node.exprs) {
        const truth = evaluatePartially(expr, partial, isGlobal);
        if (truth === decisive) return decisive;
        if (truth === 'unknown') result = 'unknown';
      }
      return result;
    }
    default: {
      const value = labelValue(partial.labels, node.key);
      if (value === undefined && !partial.known(node.key)) return 'unknown';
      return compare(node, value);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical form

function sortedUnique(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}

/**
 * Structural normalisation, so that equal selectors render equally and the rendering parses back
 * to the same shape: sorted/de-duplicated sets, flattened and/or, no single-operand and/or, no
 * double negation. Empty and/or (only possible in hand-built trees) become `all()` / `!all()`.
 */
function normalise(node: SelectorNode): SelectorNode {
  switch (node.op) {
    case 'in':
    case 'not in':
      return { op: node.op, key: node.key, values: sortedUnique(node.values) };
    case 'not': {
      const expr = normalise(node.expr);
      return expr.op === 'not' ? expr.expr : { op: 'not', expr };
    }
    case 'and':
    case 'or': {
      const exprs: SelectorNode[] = [];
      for (const child of node.exprs) {
        const expr = normalise(child);
        if ((expr.op === 'and' || expr.op === 'or') && expr.op === node.op) exprs.push(...expr.exprs);
        else exprs.push(expr);
      }
      if (exprs.length === 1) return exprs[0] as SelectorNode;
      if (exprs.length === 0) return node.op === 'and' ? { op: 'all' } : { op: 'not', expr: { op: 'all' } };
      return { op: node.op, exprs };
    }
    default:
      return node;
  }
}

function checkKey(key: string): string {
  if (!LABEL_KEY.test(key) || key.length > MAX_LABEL_LENGTH)
    throw new RangeError(`invalid label key for a selector: ${JSON.stringify(key)}`);
  return key;
}

/** Render a string literal for a selector; throws if the value contains both quote characters. */
export function quoteSelectorValue(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new RangeError(`a selector string cannot contain both ' and ": ${JSON.stringify(value)}`);
}

// Expects a normalised tree: 'and' never directly holds 'and', 'or' never holds 'or'.
function render(node: SelectorNode): string {
  switch (node.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${checkKey(node.key)})`;
    case 'in':
    case 'not in':
      return `${checkKey(node.key)} ${node.op} {${node.values.map(quoteSelectorValue).join(', ')}}`;
    case 'not': {
      const expr = node.expr;
      // Calico's own String() writes `!k == 'v'`, which parses the same but reads like
      // `(!k) == 'v'`; we parenthesise everything except the function forms.
      const bare = expr.op === 'has' || expr.op === 'all' || expr.op === 'global';
      return bare ? `!${render(expr)}` : `!(${render(expr)})`;
    }
    case 'and':
      return node.exprs.map((expr) => (expr.op === 'or' ? `(${render(expr)})` : render(expr))).join(' && ');
    case 'or':
      return node.exprs.map(render).join(' || ');
    default:
      return `${checkKey(node.key)} ${node.op} ${quoteSelectorValue(node.value)}`;
  }
}

/**
 * Canonical text for a selector tree: single quotes (double only when the value contains '),
 * single spaces around operators, sorted and de-duplicated sets, flattened and/or, parentheses
 * only where precedence needs them (and around the operand of `!`, for readability).
 * Throws RangeError for trees no selector text can express (bad key, value with both quotes).
 */
export function formatSelector(node: SelectorNode): string {
  return render(normalise(node));
}

// ---------------------------------------------------------------------------------------------
// Entry points

/**
 * The tokens of a selector, as libcalico-go's tokenizer.Tokenize splits it, ending with `eof`.
 * Throws SelectorSyntaxError where that tokenizer fails.
 */
export function tokenizeSelector(text: string): readonly SelectorToken[] {
  return tokenize(text);
}

/** Parse a Calico selector. An empty or blank selector means `all()`. Throws SelectorSyntaxError. */
export function parseSelector(text: string): Selector {
  if (typeof text !== 'string') throw new TypeError('selector must be a string');
  if (text.length > MAX_SELECTOR_LENGTH) {
    throw new SelectorSyntaxError(`selector is longer than ${MAX_SELECTOR_LENGTH} characters`, MAX_SELECTOR_LENGTH);
  }
  const ast = parseTokens(tokenize(text));
  let canonicalText: string | undefined;
  return Object.freeze({
    source: text,
    ast,
    matches: (labels: Labels, context?: SelectorContext): boolean => evaluate(ast, labels, context?.global === true),
    canonical: (): string => (canonicalText ??= formatSelector(ast)),
  });
}

/** `key == 'value'` */
export function selectorEquals(key: string, value: string): string {
  return formatSelector({ op: '==', key, value });
}

/**
 * One value: `key == 'v'`; more: `key in {'a', 'b'}` (sorted, de-duplicated).
 * No values: `key in {}`, which matches nothing.
 */
export function selectorIn(key: string, values: readonly string[]): string {
  const unique = sortedUnique(values);
  const only = unique.length === 1 ? unique[0] : undefined;
  return only === undefined ? formatSelector({ op: 'in', key, values: unique }) : selectorEquals(key, only);
}

/**
 * `a && b`, with `||` parts parenthesised. Each part is parsed (SelectorSyntaxError if invalid)
 * and the result is canonical; empty and `all()` parts are dropped, and no parts give `all()`.
 */
export function selectorAnd(...parts: string[]): string {
  const exprs = parts.map((part) => parseSelector(part).ast).filter((ast) => ast.op !== 'all');
  return exprs.length === 0 ? 'all()' : formatSelector({ op: 'and', exprs });
}

// ---------------------------------------------------------------------------------------------
// Analysis helpers (used to recognise rules and to evaluate selectors conservatively)

/** Every label key a selector refers to. */
export function selectorKeys(node: SelectorNode, into: Set<string> = new Set()): Set<string> {
  switch (node.op) {
    case 'all':
    case 'global':
      return into;
    case 'not':
      return selectorKeys(node.expr, into);
    case 'and':
    case 'or':
      for (const expr of node.exprs) selectorKeys(expr, into);
      return into;
    default:
      into.add(node.key);
      return into;
  }
}

/** The values of `key == 'v'` or `key in {...}`; null for any other form. */
export function equalityValues(node: SelectorNode, key: string): readonly string[] | null {
  if (node.op === '==' && node.key === key) return [node.value];
  if (node.op === 'in' && node.key === key) return node.values;
  return null;
}

/**
 * The selector of pods that carry every one of `labels`: `a == 'x' && b == 'y'` (keys sorted).
 * Several label sets: any of them, `(a == 'x' && b == 'y') || c == 'z'` in the given order.
 */
export function selectorOfLabels(...sets: readonly Labels[]): string {
  return selectorOfLabelSets(sets);
}

/** selectorOfLabels of a list of label sets, however long (no spread into a call). */
export function selectorOfLabelSets(sets: readonly Labels[]): string {
  const conjunction = (labels: Labels): SelectorNode => ({
    op: 'and',
    exprs: Object.keys(labels)
      .sort()
      .map((key) => ({ op: '==', key, value: labels[key]! })),
  });
  return formatSelector(sets.length === 1 ? conjunction(sets[0]!) : { op: 'or', exprs: sets.map(conjunction) });
}

/** The labels of `a == 'x' && b == 'y'` (distinct keys, equality only), or null for any other form. */
export function labelsOfSelector(node: SelectorNode): Record<string, string> | null {
  const terms = node.op === 'and' ? node.exprs : [node];
  const labels: Record<string, string> = {};
  for (const term of terms) {
    if (term.op !== '==' || Object.hasOwn(labels, term.key)) return null;
    labels[term.key] = term.value;
  }
  return labels;
}
