// Markdown for PR bodies, comments and the dashboard. Every value from flow logs, repositories or
// people goes through `text()`/`code()`: a namespace, domain or label can never inject a link,
// a mention, an issue reference, HTML, a table break, a line break or a hidden marker.

const SPECIAL = /[\\`*_{}[\]()#+\-.!|<>~@&"':=/]/g;
/** Line breaks, other control characters and bidirectional overrides (which disguise text). */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+/g;
/** A zero-width space: GitHub finds mentions and references in the rendered text, where backslash escapes are gone. */
const BREAK = '&#8203;';

/** Escaped inline text (backslash escapes for Markdown, entities for HTML, no mention or #reference). */
export function text(value: string | number): string {
  return String(value)
    .replace(INVISIBLE, ' ')
    .replace(SPECIAL, (c) => {
      switch (c) {
        case '<':
          return '&lt;';
        case '>':
          return '&gt;';
        case '&':
          return '&amp;';
        case '"':
          return '&quot;';
        case '@':
          return `@${BREAK}`;
        case '#':
          return `\\#${BREAK}`;
        default:
          return `\\${c}`;
      }
    });
}

/**
 * Inline code: content shown literally; backticks and line breaks cannot break out of it. A value
 * holding an HTML comment delimiter is shown as escaped text instead: inside a code span it would
 * display literally but stay in the raw body, where the bot's own hidden markers are read.
 */
export function code(value: string | number): string {
  const s = String(value).replace(INVISIBLE, ' ').replace(/`/g, "'");
  // Two backticks are no empty code span: they would pair with the next ones and unwrap a value.
  if (s === '' || /<!--|-->/.test(s)) return text(s);
  // Pipes would still split a table cell inside code spans.
  return `\`${s.replace(/\|/g, '\\|')}\``;
}

/** A time as the engine writes it (RFC 3339, UTC) as is; anything else (an annotation a person edited) as text. */
export function timestamp(value: string): string {
  return /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) ? value : text(value);
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
