// Conformance of src/calico/selector.ts with Calico's own selector package: upstream's test cases,
// copied as facts. Source: projectcalico/calico, libcalico-go/lib/selector/. The tokenizer
// (tokenizer/tokenizer.go) and the parser (parser/parser.go) are byte-identical in release-v3.30,
// release-v3.31, release-v3.32, release-v3.33 and main (August 2026); parser/ast.go changed in
// 3.32 only in how LabelRestrictions are cached, not in what a selector means or how it prints.
// The test files' cases are the same in every one of those releases (3.32 only moved them to
// ginkgo v2), so each group below holds for all five.
//
// Where we differ on purpose, the group says so:
// - `global()`: upstream's bare Evaluate() is true for any labels; Calico only accepts global() in
//   a rule's namespaceSelector, where syncersv1/updateprocessors/rules.go rewrites it to
//   `!has(projectcalico.org/namespace)` (and all() to `has(projectcalico.org/namespace)`), and we
//   evaluate it in that meaning (SelectorContext).
// - The canonical text: upstream prints `"` quotes, `(a && b)` and `!a == "b"`; we print `'`,
//   parentheses only where needed and `!(a == 'b')`. Both read back to the same selector, which is
//   what these tests check (ours must parse under upstream's grammar: the same grammar as ours).

import { readFileSync } from 'node:fs';
import { describe, expect, test } from '@jest/globals';
import {
  formatSelector,
  type Labels,
  MAX_LABEL_LENGTH,
  matchesPartially,
  parseSelector,
  type SelectorNode,
  SelectorSyntaxError,
  type SelectorTokenKind,
  tokenizeSelector,
} from '../../src/calico/selector.ts';

type LabelSets = readonly Labels[];

/** The meaning of a selector, compared through our canonical text (sorted sets, flattened and/or). */
function meaning(text: string): string {
  return parseSelector(text).canonical();
}

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/parser_test.go (release-v3.30 .. v3.33, main): selectorTests.
// Each selector parses; it matches the first label sets and not the second, and so does the
// selector read back from its canonical text.

const selectorTests: readonly (readonly [string, LabelSets, LabelSets])[] = [
  [`a == "b"`, [{ a: 'b' }, { a: 'b', c: 'd' }], [{}, { a: 'c' }, { c: 'd' }]],
  [`a == "b" && c == "d"`, [{ a: 'b', c: 'd' }], [{}, { a: 'b', c: 'e' }, { a: 'c', c: 'd' }, { c: 'd' }, { a: 'b' }]],
  [`a == "b" || c == "d"`, [{ a: 'b', c: 'd' }, { a: 'b' }, { c: 'd' }], [{}, { a: 'e', c: 'e' }, { c: 'e' }, { a: 'e' }]],
  [`a in {"'", '"', "c"}`, [{ a: 'c' }, { a: '"' }, { a: "'" }], [{}, { a: 'e' }]],
  [`a not in {"'", '"', "c"}`, [{}, { a: 'e' }], [{ a: 'c' }, { a: '"' }, { a: "'" }]],

  [`a == 'a'`, [{ a: 'a' }], []],
  [`a == "a"`, [{ a: 'a' }], []],
  [`a != "b"`, [{ a: 'a' }], []],
  [`a != "a"`, [{}], []],
  [`a contains "a"`, [{ a: 'a' }, { a: 'bab' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { b: 'aaa' }]],
  [`a starts with "a"`, [{ a: 'a' }, { a: 'abb' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'baa' }, { b: 'aaa' }]],
  [`a ends with "a"`, [{ a: 'a' }, { a: 'bba' }, { a: 'aaa', b: 'c' }], [{}, { a: 'b' }, { a: 'aab' }, { b: 'aaa' }]],
  [`a in {"a"}`, [{ a: 'a' }], []],
  [`!a in {"a"}`, [{ a: 'b' }], []],
  [`a in {"a", "b"}`, [{ a: 'a' }], []],
  [`a in {"a", "b"}`, [{ a: 'b' }], []],
  [`a not in {"d", "e"}`, [{ a: 'a' }], []],
  [`has(a)`, [{ a: 'b' }], []],
  [`!has(a)`, [{ b: 'b' }], []],
  [``, [{}], []],
  [` `, [{}], []],
  [``, [{ a: 'b' }], []],
  [`all()`, [{}], []],
  [` all()`, [{}], []],
  [` all()`, [{ a: 'b' }], []],

  [`a == 'a'`, [], [{ a: 'b' }]],
  [`a == 'a'`, [], [{}]],
  [`a != "a"`, [], [{ a: 'a' }]],
  [`a != 'a'`, [], [{ a: 'a' }]],
  [`a in {"a"}`, [], [{ a: 'b' }]],
  [`a not in {"a"}`, [], [{ a: 'a' }]],
  [`a in {"a", "b"}`, [], [{ a: 'c' }]],
  [`has(b)`, [], [{ a: 'b' }]],
  [`!!has(b)`, [], [{ a: 'b' }]],
  [`! has(a)`, [], [{ a: 'b' }]],
  [`!has(a)`, [], [{ a: 'b' }]],
  [`!!! has(a)`, [], [{ a: 'b' }]],
  [`!!!has(a)`, [], [{ a: 'b' }]],
  [`!! ! has(a)`, [], [{ a: 'b' }]],
  [`! !!has(a)`, [], [{ a: 'b' }]],

  // Boolean expressions...
  [`a == 'a1' && b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`a != 'a1' && !b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`!a == 'a1' && b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`has(a) && !has(b)`, [{ a: 'a' }], []],
  [`!has(b) && has(a)`, [{ a: 'a' }], []],
  [`!(!has(a) || has(b))`, [{ a: 'a' }], []],
  [`!(has(b) || !has(a))`, [{ a: 'a' }], []],

  [`a == 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a == 'a1' || b != 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b == 'b1'`, [{ a: 'a1', b: 'b1' }], []],
  [`a != 'a1' || b != 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
  [`! a == 'a1' || ! b == 'b1'`, [], [{ a: 'a1', b: 'b1' }]],
];

describe('parser_test.go selectorTests (release-v3.30 .. v3.33, main)', () => {
  test.each(selectorTests)('%j matches %j, not %j', (text, yes, no) => {
    const sel = parseSelector(text);
    const again = parseSelector(sel.canonical());
    for (const labels of yes) {
      expect(sel.matches(labels)).toBe(true);
      expect(again.matches(labels)).toBe(true);
      // The three-valued matcher agrees when every label is known.
      expect(matchesPartially(sel.ast, { labels, known: () => true })).toBe(true);
    }
    for (const labels of no) {
      expect(sel.matches(labels)).toBe(false);
      expect(again.matches(labels)).toBe(false);
      expect(matchesPartially(sel.ast, { labels, known: () => true })).toBe(false);
    }
  });

  // Upstream: `global()`, ` global()` match {} and {"a": "b"} (bare Evaluate). In the only place
  // Calico accepts global(), a namespaceSelector, it means "an entity outside any namespace"
  // (syncersv1/updateprocessors/rules.go, 3.30 .. main): that is how we evaluate it.
  test.each([`global()`, ` global()`])(
    '%j parses; in a namespaceSelector it matches exactly the entities outside any namespace',
    (text) => {
      const sel = parseSelector(text);
      expect(sel.ast).toEqual({ op: 'global' });
      for (const labels of [{}, { a: 'b' }] as Labels[]) {
        expect(sel.matches(labels, { global: true })).toBe(true);
        expect(sel.matches(labels, { global: false })).toBe(false);
      }
      // rules.go's rewrite of all() to has(projectcalico.org/namespace): the reverse.
      expect(parseSelector('all()').matches({}, { global: true })).toBe(false);
      expect(parseSelector('!all()').matches({}, { global: true })).toBe(true);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/parser_test.go (release-v3.30 .. v3.33, main): badSelectors.

const badSelectors: readonly string[] = [
  'b == b', // label == label
  'b contains b', // label contains label
  'b starts with b', // label starts with label
  'b ends with b', // label starts with label
  "'b1' == b", // literal on lhs
  'b', // bare label
  'a b', // Garbage
  '!', // Garbage
  `foo == "bar" &`, // Garbage
  `foo == "bar" |`, // Garbage
  `foo != ||`, // Garbage
  `foo in {"", ||`, // Garbage
  `foo in ""`, // Expect set literal
  `"FOO`, // Unterminated string
  `"FOO'`, // Unterminated string
  `'FOO`, // Unterminated string
  `(`, // Unterminated paren
  `(a == "foo"`, // Unterminated paren
  `)`, // Unterminated paren
  `()`, // Unterminated paren
  `%`, // Unexpected char
  `a == "b" && %`, // Unexpected char
  `a == "b" || %`, // Unexpected char
  `a `, // should be followed by operator
  `has(foo) &&`, // should be followed by operator
];

describe('parser_test.go badSelectors (release-v3.30 .. v3.33, main)', () => {
  test.each(badSelectors)('%j is rejected', (text) => {
    expect(() => parseSelector(text)).toThrow(SelectorSyntaxError);
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/parser_test.go (release-v3.30 .. v3.33, main):
// canonicalisationTests. Upstream's canonical text (its String()) must read back, in our parser, as
// the same selector as the input, and our own canonical text must be a fixed point. (The UIDs
// upstream also checks are hashes of its own text; we have no use for them.)

const canonicalisationTests: readonly (readonly [string, string])[] = [
  ['', 'all()'],
  [' all() ', 'all()'],
  [' (all() )', 'all()'],
  ['! (has( b)||! has(a ))', '!(has(b) || !has(a))'],
  ['! (a == "b"&&! c != "d")', '!(a == "b" && !c != "d")'],
  [`a == "'"`, `a == "'"`],
  [`a == '"'`, `a == '"'`],
  [`a contains '"'`, `a contains '"'`],
  [`a contains "'"`, `a contains "'"`],
  [`a startswith '"'`, `a starts with '"'`],
  [`a endswith "'"`, `a ends with "'"`],
  [`a!='"'`, `a != '"'`],
  // Set items get sorted/de-duped.
  ['a in {"d"}', 'a in {"d"}'],
  ['a in {"a", "b"}', 'a in {"a", "b"}'],
  ['a in {"d", "a", "b"}', 'a in {"a", "b", "d"}'],
  ['a in {"z", "x", "y", "a"}', 'a in {"a", "x", "y", "z"}'],
  ['a in {"z", "z", "x", "y", "x", "a"}', 'a in {"a", "x", "y", "z"}'],
];

describe('parser_test.go canonicalisationTests (release-v3.30 .. v3.33, main)', () => {
  test.each(canonicalisationTests)('%j canonicalises to (the meaning of) %j', (input, upstream) => {
    expect(meaning(input)).toBe(meaning(upstream));
    expect(meaning(meaning(input))).toBe(meaning(input));
  });

  test('set items get sorted and de-duplicated in our text too', () => {
    expect(meaning('a in {"z", "z", "x", "y", "x", "a"}')).toBe(`a in {'a', 'x', 'y', 'z'}`);
  });

  // Upstream picks the quote so that the value survives: `"` unless the value holds one. Ours
  // prefers `'`; the value survives either way.
  test.each([`'`, `"`, `it's`, `say "hi"`, ''])('the value %j survives our quoting', (value) => {
    const text = formatSelector({ op: '==', key: 'a', value });
    expect(parseSelector(text).ast).toEqual({ op: '==', key: 'a', value });
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/parser_test.go (release-v3.30 .. v3.33, main): the Visitor
// table. Its outputs are upstream's String() of a selector whose label names the PrefixVisitor
// prefixed with "visited/" (how rules.go prefixes namespace selectors with pcns.). They are texts
// Calico itself writes, so we must read them as the prefixed input.

function prefixed(node: SelectorNode, prefix: string): SelectorNode {
  switch (node.op) {
    case 'all':
    case 'global':
      return node;
    case 'not':
      return { op: 'not', expr: prefixed(node.expr, prefix) };
    case 'and':
    case 'or':
      return { op: node.op, exprs: node.exprs.map((e) => prefixed(e, prefix)) };
    default:
      return { ...node, key: prefix + node.key };
  }
}

const visitorTests: readonly (readonly [string, string])[] = [
  [`k == 'v'`, `visited/k == "v"`],
  [`k != 'v'`, `visited/k != "v"`],
  [`k contains 'v'`, `visited/k contains "v"`],
  [`k starts with 'v'`, `visited/k starts with "v"`],
  [`k ends with 'v'`, `visited/k ends with "v"`],
  [`k == 'v' && x == 'y'`, `(visited/k == "v" && visited/x == "y")`],
  [`k == 'v' || has(x)`, `(visited/k == "v" || has(visited/x))`],
  [`!(k == 'v')`, `!visited/k == "v"`],
  [`k in {'v'}`, `visited/k in {"v"}`],
  [`k not in {'v'}`, `visited/k not in {"v"}`],
  [
    `!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))`,
    `!(!((visited/k == "v" && has(visited/t)) || all()) && visited/a in {"b", "c"})`,
  ],
];

describe('parser_test.go Visitor table (release-v3.30 .. v3.33, main)', () => {
  test.each(visitorTests)('%j prefixed reads as upstream prints it: %j', (input, upstream) => {
    expect(formatSelector(prefixed(parseSelector(input).ast, 'visited/'))).toBe(meaning(upstream));
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/tokenizer/tokenizer_test.go (release-v3.30 .. v3.33, main): tokenTests,
// in upstream's token names. null: the tokenizer fails.

const KIND: Readonly<Record<string, SelectorTokenKind>> = {
  TokLabel: 'label',
  TokStringLiteral: 'string',
  TokLBrace: '{',
  TokRBrace: '}',
  TokComma: ',',
  TokEq: '==',
  TokNe: '!=',
  TokIn: 'in',
  TokNot: '!',
  TokNotIn: 'not in',
  TokContains: 'contains',
  TokStartsWith: 'starts with',
  TokEndsWith: 'ends with',
  TokAll: 'all',
  TokHas: 'has',
  TokLParen: '(',
  TokRParen: ')',
  TokAnd: '&&',
  TokOr: '||',
  TokGlobal: 'global',
  TokEOF: 'eof',
};

type Tok = readonly [string, string?];
const a512 = 'a'.repeat(512);

const tokenTests: readonly (readonly [string, readonly Tok[] | null])[] = [
  [`a=="b"`, [['TokLabel', 'a'], ['TokEq'], ['TokStringLiteral', 'b'], ['TokEOF']]],
  [`a!="b"`, [['TokLabel', 'a'], ['TokNe'], ['TokStringLiteral', 'b'], ['TokEOF']]],
  [`a != "b"`, [['TokLabel', 'a'], ['TokNe'], ['TokStringLiteral', 'b'], ['TokEOF']]],
  [`(a=="b")`, [['TokLParen'], ['TokLabel', 'a'], ['TokEq'], ['TokStringLiteral', 'b'], ['TokRParen'], ['TokEOF']]],
  [`label == "value"`, [['TokLabel', 'label'], ['TokEq'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label contains "value"`, [['TokLabel', 'label'], ['TokContains'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`contains contains "contains"`, [['TokLabel', 'contains'], ['TokContains'], ['TokStringLiteral', 'contains'], ['TokEOF']]],
  [`contains contains 'contains'`, [['TokLabel', 'contains'], ['TokContains'], ['TokStringLiteral', 'contains'], ['TokEOF']]],
  [`label contains"value"`, [['TokLabel', 'label'], ['TokContains'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label startswith "value"`, [['TokLabel', 'label'], ['TokStartsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label endswith "value"`, [['TokLabel', 'label'], ['TokEndsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label starts with "value"`, [['TokLabel', 'label'], ['TokStartsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`startswith starts with "value"`, [['TokLabel', 'startswith'], ['TokStartsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label ends with "value"`, [['TokLabel', 'label'], ['TokEndsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`endswith ends with "value"`, [['TokLabel', 'endswith'], ['TokEndsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label starts  with "value"`, [['TokLabel', 'label'], ['TokStartsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`label ends  with "value"`, [['TokLabel', 'label'], ['TokEndsWith'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`${a512} == "value"`, [['TokLabel', a512], ['TokEq'], ['TokStringLiteral', 'value'], ['TokEOF']]],
  [`${'a'.repeat(513)} == "value"`, null],
  [`label == "value`, null],
  [`label == 'value`, null],
  [`label = "value"`, null],
  [`all(`, null],
  [`global(`, null],
  [`has()`, null],
  [`has(foo`, null],
  [`has( foo `, null],
  [`a == "b" & has(foo)`, null],
  [`a == "b" | has(foo)`, null],
  [`label starts foo "value"`, null],
  [`label inf "value"`, null],
  [`label ends foo "value"`, null],
  [`label ends withs "value"`, null],
  [`label squiggles "value"`, null],
  [
    `a not in "bar" && !has(foo) || b in c`,
    [
      ['TokLabel', 'a'],
      ['TokNotIn'],
      ['TokStringLiteral', 'bar'],
      ['TokAnd'],
      ['TokNot'],
      ['TokHas', 'foo'],
      ['TokOr'],
      ['TokLabel', 'b'],
      ['TokIn'],
      ['TokLabel', 'c'],
      ['TokEOF'],
    ],
  ],
  [`has(calico/k8s_ns)`, [['TokHas', 'calico/k8s_ns'], ['TokEOF']]],
  [`has(calico/k8s_ns/role)`, [['TokHas', 'calico/k8s_ns/role'], ['TokEOF']]],
  [`has(calico/k8s_NS-.1/role)`, [['TokHas', 'calico/k8s_NS-.1/role'], ['TokEOF']]],
  [
    `calico/k8s_ns == "kube-system" && k8s-app == "kube-dns"`,
    [
      ['TokLabel', 'calico/k8s_ns'],
      ['TokEq'],
      ['TokStringLiteral', 'kube-system'],
      ['TokAnd'],
      ['TokLabel', 'k8s-app'],
      ['TokEq'],
      ['TokStringLiteral', 'kube-dns'],
      ['TokEOF'],
    ],
  ],
  [
    `a  not  in  "bar"  &&  ! has( foo )  ||  b  in  c `,
    [
      ['TokLabel', 'a'],
      ['TokNotIn'],
      ['TokStringLiteral', 'bar'],
      ['TokAnd'],
      ['TokNot'],
      ['TokHas', 'foo'],
      ['TokOr'],
      ['TokLabel', 'b'],
      ['TokIn'],
      ['TokLabel', 'c'],
      ['TokEOF'],
    ],
  ],
  [
    `a notin"bar"&&!has(foo)||b in"c"`,
    [
      ['TokLabel', 'a'],
      ['TokNotIn'],
      ['TokStringLiteral', 'bar'],
      ['TokAnd'],
      ['TokNot'],
      ['TokHas', 'foo'],
      ['TokOr'],
      ['TokLabel', 'b'],
      ['TokIn'],
      ['TokStringLiteral', 'c'],
      ['TokEOF'],
    ],
  ],
  [`a not in {}`, [['TokLabel', 'a'], ['TokNotIn'], ['TokLBrace'], ['TokRBrace'], ['TokEOF']]],
  [`a not in {"a"}`, [['TokLabel', 'a'], ['TokNotIn'], ['TokLBrace'], ['TokStringLiteral', 'a'], ['TokRBrace'], ['TokEOF']]],
  [
    `a not in {"a","B"}`,
    [
      ['TokLabel', 'a'],
      ['TokNotIn'],
      ['TokLBrace'],
      ['TokStringLiteral', 'a'],
      ['TokComma'],
      ['TokStringLiteral', 'B'],
      ['TokRBrace'],
      ['TokEOF'],
    ],
  ],
  [`global()`, [['TokGlobal'], ['TokEOF']]],
  [`global( )`, [['TokGlobal'], ['TokEOF']]],
  [`all()`, [['TokAll'], ['TokEOF']]],
  [`all( )`, [['TokAll'], ['TokEOF']]],
];

describe('tokenizer_test.go tokenTests (release-v3.30 .. v3.33, main)', () => {
  test.each(tokenTests)('%j', (input, expected) => {
    if (expected === null) {
      expect(() => tokenizeSelector(input)).toThrow(SelectorSyntaxError);
      // What the tokenizer refuses, the parser refuses too.
      expect(() => parseSelector(input)).toThrow(SelectorSyntaxError);
      return;
    }
    const tokens = tokenizeSelector(input).map((t) =>
      t.kind === 'label' || t.kind === 'string' || t.kind === 'has' ? [t.kind, t.value] : [t.kind],
    );
    expect(tokens).toEqual(expected.map(([kind, value]) => (value === undefined ? [KIND[kind]] : [KIND[kind], value])));
  });

  test('label names: tokenizer.go identifierChar [a-zA-Z0-9_./-], at most MaxLabelLength (512) bytes, in has() too', () => {
    expect(MAX_LABEL_LENGTH).toBe(512);
    expect(parseSelector(`has(${a512})`).ast).toEqual({ op: 'has', key: a512 });
    expect(() => parseSelector(`has(${'a'.repeat(513)})`)).toThrow(SelectorSyntaxError);
    expect(() => formatSelector({ op: 'has', key: 'a'.repeat(513) })).toThrow(RangeError);
    expect(parseSelector(`-a.b/C_9 == 'x'`).ast).toEqual({ op: '==', key: '-a.b/C_9', value: 'x' });
    for (const bad of ['a:b', 'a@b', 'é', 'a\\b', 'a+b']) expect(() => parseSelector(`${bad} == 'x'`)).toThrow(SelectorSyntaxError);
  });

  test('whitespace: trimWhitespace skips only spaces and tabs', () => {
    expect(meaning("\ta\t==\t'b'\t")).toBe(`a == 'b'`);
    for (const ws of ['\n', '\r', '\v', '\f', '\u00a0']) expect(() => parseSelector(`a == 'b'${ws}`)).toThrow(SelectorSyntaxError);
  });

  test('string literals have no escapes: a value cannot hold its own quote', () => {
    expect(parseSelector(`a == "\\"`).ast).toEqual({ op: '==', key: 'a', value: '\\' });
    expect(() => parseSelector(`a == 'it\\'s'`)).toThrow(SelectorSyntaxError);
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/stringset_test.go (release-v3.30 .. v3.33, main): a set literal
// contains every input value and no other, de-duplicated and sorted.

describe('stringset_test.go (release-v3.30 .. v3.33, main)', () => {
  const sets: readonly (readonly string[])[] = [
    [],
    ['a'],
    ['a', 'b'],
    ['a', 'b', 'c'],
    ['a', 'b', 'c', 'd'],
    ['foo', 'bar', 'baz', 'baz'],
    ['foo', 'foo', 'baz', 'baz'],
  ];
  test.each(sets)('k in {%j}', (...values) => {
    const sel = parseSelector(`k in {${values.map((v) => `"${v}"`).join(', ')}}`);
    for (const v of values) {
      expect(sel.matches({ k: v })).toBe(true);
      expect(sel.matches({ k: `${v}bogus` })).toBe(false);
    }
    const ast = sel.ast as Extract<SelectorNode, { op: 'in' }>;
    expect(parseSelector(sel.canonical()).ast).toEqual({ ...ast, values: [...new Set(values)].sort() });
  });

  test.each([
    [[], []],
    [
      ['a', 'b'],
      ['a', 'b'],
    ],
    [
      ['b', 'a', 'b', 'a'],
      ['a', 'b'],
    ],
  ])('dedupe %j -> %j', (input, expected) => {
    expect(meaning(`k in {${input.map((v) => `'${v}'`).join(',')}}`)).toBe(`k in {${expected.map((v) => `'${v}'`).join(', ')}}`);
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/parser/label_restriction_test.go (release-v3.30 .. v3.33, main):
// LabelRestrictions are lower bounds on the labels a selector can match. We have no such API, but
// the bounds are facts about matching: a label set that breaks one is never matched. Checked over
// every label set on keys a, b, c with values from those the cases use.

interface Restriction {
  readonly present?: true;
  readonly absent?: true;
  readonly oneOf?: readonly string[];
}

const restrictionTests: readonly (readonly [string, Readonly<Record<string, Restriction>> | null])[] = [
  ['', null],
  ['all()', null],
  ['global()', null],
  ["a == 'value'", { a: { present: true, oneOf: ['value'] } }],
  ['has(a)', { a: { present: true } }],
  ["a in {'v1','v2'}", { a: { present: true, oneOf: ['v1', 'v2'] } }],
  ["a not in {'v1','v2'}", null],
  ["a contains 'foo'", { a: { present: true } }],
  ["a ends with 'foo'", { a: { present: true } }],
  ["a starts with 'foo'", { a: { present: true } }],
  ["a != 'value'", null],
  // AND
  ["a == 'v1' && a == 'v1'", { a: { present: true, oneOf: ['v1'] } }],
  ["a == 'v1' && a == 'v2'", { a: { present: true, oneOf: [] } }],
  ["a == 'v1' && has(a)", { a: { present: true, oneOf: ['v1'] } }],
  ["a in {'v1','v2'} && a in {'v2','v3'} ", { a: { present: true, oneOf: ['v2'] } }],
  ["a in {'v1','v2', 'v3'} && a in {'v2','v3'} ", { a: { present: true, oneOf: ['v2', 'v3'] } }],
  ["has(a) && a == 'v1'", { a: { present: true, oneOf: ['v1'] } }],
  ['has(a) && !has(a)', { a: { present: true, absent: true } }],
  ["a == 'v1' && b == 'v2'", { a: { present: true, oneOf: ['v1'] }, b: { present: true, oneOf: ['v2'] } }],
  ["a == 'v1' && all()", { a: { present: true, oneOf: ['v1'] } }],
  ["all() && a == 'v1'", { a: { present: true, oneOf: ['v1'] } }],
  // OR
  ["a == 'v1' || a == 'v2'", { a: { present: true, oneOf: ['v1', 'v2'] } }],
  ["has(a) || a == 'v2'", { a: { present: true } }],
  ["a=='v2' || has(a)", { a: { present: true } }],
  ["a=='v2' || has(b)", null],
  ["a=='v2' || (has(b) && has(a))", { a: { present: true } }],
  ["a == 'v1' || b == 'v2'", null],
  ["a == 'v1' || all()", null],
  ["all() || b == 'v2'", null],
  // NOT
  ["!(a == 'value')", null],
  ['!has(a)', { a: { absent: true } }],
  ['!!has(a)', { a: { present: true } }],
];

function allLabelSets(): Labels[] {
  const values = [undefined, 'value', 'v1', 'v2', 'v3', 'foo', 'xfoox', 'other'];
  const out: Labels[] = [];
  for (const a of values)
    for (const b of values)
      for (const c of values) {
        const labels: Record<string, string> = {};
        if (a !== undefined) labels['a'] = a;
        if (b !== undefined) labels['b'] = b;
        if (c !== undefined) labels['c'] = c;
        out.push(labels);
      }
  return out;
}

function breaks(labels: Labels, restrictions: Readonly<Record<string, Restriction>>): boolean {
  return Object.entries(restrictions).some(([key, r]) => {
    const value = Object.hasOwn(labels, key) ? labels[key] : undefined;
    if (r.present && value === undefined) return true;
    if (r.absent && value !== undefined) return true;
    return r.oneOf !== undefined && value !== undefined && !r.oneOf.includes(value);
  });
}

describe('label_restriction_test.go (release-v3.30 .. v3.33, main): no label set that breaks a restriction matches', () => {
  const labelSets = allLabelSets();
  test.each(restrictionTests)('%j: %j', (text, restrictions) => {
    const sel = parseSelector(text);
    let broken = 0;
    for (const labels of labelSets) {
      if (restrictions !== null && breaks(labels, restrictions)) {
        broken++;
        expect(sel.matches(labels)).toBe(false);
      }
    }
    if (restrictions !== null) expect(broken).toBeGreaterThan(0);
    // Every selector here but the contradictions matches some label set (global() where it can
    // match at all: in a namespaceSelector, for an entity outside any namespace).
    const contradiction =
      restrictions !== null && Object.values(restrictions).some((r) => (r.present && r.absent) || r.oneOf?.length === 0);
    const context = sel.ast.op === 'global' ? { global: true } : undefined;
    expect(labelSets.some((labels) => sel.matches(labels, context))).toBe(!contradiction);
  });
});

// ---------------------------------------------------------------------------------------------
// libcalico-go/lib/selector/selector.go (release-v3.30 .. v3.33, main): Normalise turns "" into
// "all()"; NoMatch is "!all()", All is "all()".

describe('selector.go (release-v3.30 .. v3.33, main)', () => {
  test('"" and blanks normalise to all(); !all() matches nothing, all() everything', () => {
    expect(meaning('')).toBe('all()');
    expect(meaning('  ')).toBe('all()');
    for (const labels of allLabelSets().slice(0, 40)) {
      expect(parseSelector('!all()').matches(labels)).toBe(false);
      expect(parseSelector('all()').matches(labels)).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Upstream's parser itself as the oracle: fixtures/selector-upstream-verdicts.json records, for
// near-miss selector texts (fragment soup and random compositions, plus the 512/513-character
// label bounds), whether libcalico-go's parser.Parse accepts them and what Evaluate says on ten
// label sets. Its `source` field says which upstream files were compiled (tokenizer.go and
// parser.go are identical in release-v3.30 .. v3.33 and main). global() is left out of the
// matching: see the first group.

interface Verdict {
  readonly selector: string;
  readonly ok: boolean;
  readonly matches?: readonly boolean[];
}

const oracle = JSON.parse(readFileSync(new URL('./fixtures/selector-upstream-verdicts.json', import.meta.url), 'utf8')) as {
  readonly labelSets: readonly Labels[];
  readonly cases: readonly Verdict[];
};

describe("upstream's compiled parser as oracle (release-v3.30 .. v3.33, main)", () => {
  test('the fixture holds both accepted and rejected texts', () => {
    expect(oracle.cases.filter((c) => c.ok).length).toBeGreaterThan(300);
    expect(oracle.cases.filter((c) => !c.ok).length).toBeGreaterThan(250);
  });

  test.each(oracle.cases.map((c) => [c.selector, c] as const))('%j', (_text, verdict) => {
    if (!verdict.ok) {
      expect(() => parseSelector(verdict.selector)).toThrow(SelectorSyntaxError);
      return;
    }
    const sel = parseSelector(verdict.selector);
    const again = parseSelector(sel.canonical());
    if (verdict.selector.includes('global(')) return;
    expect(oracle.labelSets.map((labels) => sel.matches(labels))).toEqual(verdict.matches);
    expect(oracle.labelSets.map((labels) => again.matches(labels))).toEqual(verdict.matches);
  });
});
