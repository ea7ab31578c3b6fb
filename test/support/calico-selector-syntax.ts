// Calico selector syntax, as libcalico-go's validator checks it (`validateSelector` calls
// `selector.Validate`): a port of `libcalico-go/lib/selector/tokenizer/tokenizer.go` and the
// validate-only path of `libcalico-go/lib/selector/parser/parser.go` (identical on release-v3.30 ...
// release-v3.33 and main). It only says whether a selector parses, and why not; matching is not
// modelled here.
//
// Independent of src/ on purpose: it is part of the test oracle (test/support/crd-validator.ts).

type Tok =
  | { kind: 'label'; value: string }
  | { kind: 'string'; value: string }
  | {
      kind:
        | 'lbrace'
        | 'rbrace'
        | 'comma'
        | 'eq'
        | 'ne'
        | 'in'
        | 'not'
        | 'notin'
        | 'contains'
        | 'startswith'
        | 'endswith'
        | 'all'
        | 'has'
        | 'lparen'
        | 'rparen'
        | 'and'
        | 'or'
        | 'global'
        | 'eof';
    };

/** tokenizer.MaxLabelLength */
const MAX_LABEL_LENGTH = 512;

const isIdentifierChar = (c: string | undefined): boolean => c !== undefined && /^[a-zA-Z0-9_./-]$/.test(c);

/** Only spaces and tabs are whitespace to the tokenizer (not newlines). */
function trimWhitespace(input: string): string {
  let i = 0;
  while (i < input.length && (input[i] === ' ' || input[i] === '\t')) i++;
  return input.slice(i);
}

function cutIdentifier(input: string): { ident: string; rest: string } {
  let i = 0;
  while (i < input.length && isIdentifierChar(input[i])) i++;
  const ident = input.slice(0, i);
  if (ident.length > MAX_LABEL_LENGTH) throw new Error(`label too long: ${ident}`);
  if (ident.length === 0) throw new Error('expected identifier');
  return { ident, rest: input.slice(i) };
}

const isWordBoundary = (rest: string): boolean => rest === '' || !isIdentifierChar(rest[0]);

function cutWords(input: string, words: readonly string[]): string | null {
  let rest = input;
  for (const word of words) {
    if (!rest.startsWith(word)) return null;
    rest = trimWhitespace(rest.slice(word.length));
  }
  return isWordBoundary(rest) ? rest : null;
}

function tokenize(selector: string): Tok[] {
  const tokens: Tok[] = [];
  let input = selector;
  for (;;) {
    input = trimWhitespace(input);
    if (input.length === 0) {
      tokens.push({ kind: 'eof' });
      return tokens;
    }
    const last = tokens.at(-1);
    const c = input[0];
    const simple: Record<string, Tok['kind']> = { '(': 'lparen', ')': 'rparen', '{': 'lbrace', '}': 'rbrace', ',': 'comma' };
    if (simple[c!] !== undefined) {
      tokens.push({ kind: simple[c!]! } as Tok);
      input = input.slice(1);
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, 1);
      if (end === -1) throw new Error('unterminated string');
      tokens.push({ kind: 'string', value: input.slice(1, end) });
      input = input.slice(end + 1);
    } else if (c === '=') {
      if (!input.startsWith('==')) throw new Error('expected ==');
      tokens.push({ kind: 'eq' });
      input = input.slice(2);
    } else if (c === '!') {
      if (input.startsWith('!=')) {
        tokens.push({ kind: 'ne' });
        input = input.slice(2);
      } else {
        tokens.push({ kind: 'not' });
        input = input.slice(1);
      }
    } else if (c === '&') {
      if (!input.startsWith('&&')) throw new Error('expected &&');
      tokens.push({ kind: 'and' });
      input = input.slice(2);
    } else if (c === '|') {
      if (!input.startsWith('||')) throw new Error('expected ||');
      tokens.push({ kind: 'or' });
      input = input.slice(2);
    } else if (last?.kind === 'label') {
      // After a label only an operator may follow.
      const operators: [readonly string[], Tok['kind']][] = [
        [['contains'], 'contains'],
        [['starts', 'with'], 'startswith'],
        [['ends', 'with'], 'endswith'],
        [['not', 'in'], 'notin'],
        [['in'], 'in'],
      ];
      const found = operators.map(([words, kind]) => ({ rest: cutWords(input, words), kind })).find((o) => o.rest !== null);
      if (found === undefined) throw new Error(`expected operator after label ${JSON.stringify(last.value)}`);
      tokens.push({ kind: found.kind } as Tok);
      input = found.rest!;
    } else if (input.startsWith('has(')) {
      const { rest } = cutIdentifier(trimWhitespace(input.slice(4)));
      const after = trimWhitespace(rest);
      if (!after.startsWith(')')) throw new Error("no closing ')' after has(");
      tokens.push({ kind: 'has' });
      input = after.slice(1);
    } else if (input.startsWith('all(') || input.startsWith('global(')) {
      const fn = input.startsWith('all(') ? 'all' : 'global';
      const after = trimWhitespace(input.slice(fn.length + 1));
      if (!after.startsWith(')')) throw new Error(`no closing ')' after ${fn}(`);
      tokens.push({ kind: fn });
      input = after.slice(1);
    } else {
      const { ident, rest } = cutIdentifier(input);
      tokens.push({ kind: 'label', value: ident });
      input = rest;
    }
  }
}

/** parseOrExpression / parseAndExpression / parseOperation, validate-only. Returns the index after the expression. */
function parseOr(tokens: readonly Tok[], at: number): number {
  let i = parseAnd(tokens, at);
  while (tokens[i]!.kind === 'or') i = parseAnd(tokens, i + 1);
  return i;
}

function parseAnd(tokens: readonly Tok[], at: number): number {
  let i = parseOperation(tokens, at);
  while (tokens[i]!.kind === 'and') i = parseOperation(tokens, i + 1);
  return i;
}

function parseOperation(tokens: readonly Tok[], at: number): number {
  let i = at;
  while (tokens[i]!.kind === 'not') i++;
  const tok = tokens[i]!;
  switch (tok.kind) {
    case 'has':
    case 'all':
    case 'global':
      return i + 1;
    case 'label': {
      if (tokens.length - i < 3) throw new Error('unexpected end of string looking for op');
      const op = tokens[i + 1]!.kind;
      const operand = tokens[i + 2]!;
      if (op === 'eq' || op === 'ne' || op === 'contains' || op === 'startswith' || op === 'endswith') {
        if (operand.kind !== 'string') throw new Error('expected string');
        return i + 3;
      }
      if (op === 'in' || op === 'notin') {
        if (operand.kind !== 'lbrace') throw new Error('expected set literal');
        let j = i + 3;
        while (tokens[j]!.kind === 'string') {
          j++;
          if (tokens[j]!.kind !== 'comma') break;
          j++;
        }
        if (tokens[j]!.kind !== 'rbrace') throw new Error('expected }');
        return j + 1;
      }
      throw new Error(`expected == or != not: ${op}`);
    }
    case 'lparen': {
      const j = parseOr(tokens, i + 1);
      if (tokens[j]?.kind !== 'rparen') throw new Error('expected )');
      return j + 1;
    }
    default:
      throw new Error(`unexpected token: ${tok.kind}`);
  }
}

/** Why `selector.Validate` rejects the selector, or null when it parses. The empty selector is valid. */
export function selectorSyntaxError(selector: string): string | null {
  try {
    const tokens = tokenize(selector);
    if (tokens[0]!.kind === 'eof') return null;
    const end = parseOr(tokens, 0);
    if (end !== tokens.length - 1) return 'unexpected content at end of selector';
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * An EntityRule `namespaceSelector` that contains `global(` must be `global()` alone
 * (`validateEntityRule` in libcalico-go/lib/validator/v3/validator.go, every release): tokenized,
 * at most two tokens and the first is `global()`.
 */
export function globalNamespaceSelectorError(selector: string): string | null {
  if (!selector.includes('global(') || selector === 'global()') return null;
  let tokens: Tok[];
  try {
    tokens = tokenize(selector);
  } catch {
    return 'global() cannot be combined with other selectors';
  }
  return tokens.length > 2 || tokens[0]!.kind !== 'global' ? 'global() cannot be combined with other selectors' : null;
}
