// Markdown for PR bodies, comments and the dashboard. Every value from flow logs, repositories or
// people goes through `text()`/`code()`: a namespace, domain or label can never inject a link,
// a mention, HTML, a table break or a hidden marker.

const SPECIAL = /[\\`*_{}[\]()#+\-.!|<>~@&"':=/]/g;

/** Escaped inline text (backslash escapes for Markdown, entities for HTML). */
export function text(value: string | number): string {
  return String(value)
    .replace(/[\r\n\t]+/g, ' ')
    .replace(SPECIAL, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === '"' ? '&quot;' : `\\${c}`));
}

/** Inline code: content shown literally; backticks and line breaks cannot break out of it. */
export function code(value: string | number): string {
  const s = String(value).replace(/[\r\n\t]+/g, ' ').replace(/`/g, "'");
  // Pipes would still split a table cell inside code spans.
  return `\`${s.replace(/\|/g, '\\|')}\``;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
