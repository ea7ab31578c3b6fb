// The YAML of a configuration file (a repository's, the deployment's, the command line's), read
// with limits: a configuration is small and simple, so a large file or many aliases (an "alias
// bomb" that expands to gigabytes) is refused before it costs memory. A problem names its line
// and column, so that whoever reads it on the dashboard or in a log can go straight to it.

import { isAlias, LineCounter, type Node, parseDocument, visit } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.ts';

/** Larger than any configuration a person writes; far below what parsing could not handle. */
export const MAX_CONFIG_BYTES = 128 * 1024;
/** Aliases a configuration may use (each expands to a copy of its anchor's value). */
const MAX_CONFIG_ALIASES = 10;

export interface YamlProblem {
  readonly line?: number;
  readonly column?: number;
  /** What is wrong, without the file's text. */
  readonly reason: string;
}

export type ConfigYaml = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problem: YamlProblem };

/**
 * One YAML document (YAML 1.2, as Probot's loader read it), converted to plain data: own keys
 * only, `__proto__` included as an ordinary key (the yaml package defines it as a property).
 */
export function readConfigYaml(text: string): ConfigYaml {
  const size = Buffer.byteLength(text, 'utf8');
  if (size > MAX_CONFIG_BYTES) return { ok: false, problem: tooLarge(size) };
  const lines = new LineCounter();
  try {
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true });
    const error = doc.errors[0];
    if (error) {
      const at = error.linePos?.[0];
      // The message ends with " at line L, column C:" and a copy of the text: keep the reason only.
      const reason = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return { ok: false, problem: { ...(at ? { line: at.line, column: at.col } : {}), reason } };
    }
    try {
      return { ok: true, value: doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES }) };
    } catch (e) {
      // Aliases are only resolved here: name the first one.
      let first: Node | undefined;
      visit(doc, {
        Alias(_, node) {
          first = node;
          return visit.BREAK;
        },
      });
      const at = first?.range ? lines.linePos(first.range[0]) : undefined;
      const reason = /Excessive alias count/.test((e as Error).message)
        ? `more than ${MAX_CONFIG_ALIASES} aliases once expanded: write the values out`
        : /Unresolved alias/.test((e as Error).message)
          ? 'an alias (*name) whose anchor (&name) is not defined before it'
          : 'the YAML cannot be converted to data';
      return { ok: false, problem: { ...(at && isAlias(first) ? { line: at.line, column: at.col } : {}), reason } };
    }
  } catch (e) {
    // The parser itself gave up (e.g. nesting deeper than the stack).
    if (e instanceof RangeError) return { ok: false, problem: { reason: 'the YAML is nested too deeply' } };
    throw e;
  }
}

/** A file larger than a configuration may be. */
export function tooLarge(size: number): YamlProblem {
  return { reason: `the file has ${size} bytes, more than the ${MAX_CONFIG_BYTES} a configuration may have` };
}

/** A YAML problem as a configuration issue: "not valid YAML at line 2, column 1: Tabs are not allowed as indentation". */
export function yamlIssue(problem: YamlProblem): ConfigIssue {
  const where =
    problem.line === undefined ? '' : ` at line ${problem.line}${problem.column === undefined ? '' : `, column ${problem.column}`}`;
  return { path: '', message: `not valid YAML${where}: ${problem.reason}` };
}

/** The file's value, or a ConfigError naming where its YAML is wrong. */
export function parseConfigYaml(text: string, source: string): unknown {
  const read = readConfigYaml(text);
  if (!read.ok) throw new ConfigError(source, [yamlIssue(read.problem)]);
  return read.value;
}
