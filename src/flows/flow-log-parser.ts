// The file source's fast path: parseCalicoFlowLog's results, without JSON.parse of every line.
//
// Much of a flow-log line is the same for every record of one flow (endpoints, labels, service,
// policy trace); only times, counters, IPs, ports, process ids and the host vary. A line is cut
// into constant segments and "slots" (the values of the keys in SLOT_KEYS: JSON scalars, or flat
// arrays of them), and the segments are looked up in a trie built from earlier lines. When every
// segment matches a known path, the line is that path's first line with other values in its
// slots: the same JSON structure, so parseCalicoFlowLog's verdict on it follows from the verdict
// on the path's line and the slot values, which are checked here exactly as the reference does.
//
// Why this is exact:
// - A path is cached only after it is proved: its segments filled with two different sets of
//   sentinel scalars both JSON.parse to objects whose slot keys hold exactly those sentinels, so
//   each slot is the (last, hence effective) value of its top-level key and everything else is
//   the segments' own text. Any other value in the slots parses to the same object but for them.
// - The verdict cached is parseCalicoFlowLog's on the line filled with good sentinels. A line
//   whose read slots (times, IPs, num_flows) all pass the reference's own checks gets that
//   verdict with its own slot values; any slot value the fast path does not accept as good, and
//   any line that does not match a cached path, is handed to parseCalicoFlowLog itself.
// - Unread slots (counters, ports, host ...) are never looked at by the reference, but a slot
//   must still hold one whole JSON value, so the line stays valid JSON exactly when the path's was.
// - Long stretches of one path are matched by one sticky regular expression ("runs", shared by
//   the paths that end alike), each slot by the same grammar valueEnd reads.
//
// Memory: the trie is bounded by a byte budget (estimated: the segments' text, the nodes, each
// path's record parts and the compiled expressions); once it is spent, the cache is dropped and
// every further line is read by the reference, which changes how fast, never what. IP strings are interned in a bounded
// cache too (dropped when full).

import { isIP } from 'node:net';
import { NOT_AN_OBJECT, NOT_JSON, type ParseResult, parseCalicoFlowLog, TEXT_FORMAT } from './calico-flow-log.ts';
import type { FlowEndpoint, FlowRecord } from './record.ts';
import type { NotRead } from './validation.ts';

/** What a slot's value means to the reference (`unread`: ignored whatever it holds). */
type SlotRole = 'start' | 'end' | 'sourceIp' | 'destIp' | 'numFlows' | 'unread';

/**
 * The keys whose scalar values vary between records of one flow. Only the first five are read
 * by parseCalicoFlowLog; the others are fields it ignores (Felix's counters, process and TCP
 * statistics, the reporting host, the unaggregated pod names), listed so that their changing
 * values do not make every line a new path. A key that is not here stays in the segments.
 */
const SLOT_KEYS: ReadonlyMap<string, SlotRole> = new Map<string, SlotRole>([
  ['start_time', 'start'],
  ['end_time', 'end'],
  ['source_ip', 'sourceIp'],
  ['dest_ip', 'destIp'],
  ['num_flows', 'numFlows'],
  ...[
    'source_port',
    'source_name',
    'dest_name',
    'bytes_in',
    'bytes_out',
    'packets_in',
    'packets_out',
    'num_flows_started',
    'num_flows_completed',
    'http_requests_allowed_in',
    'http_requests_denied_in',
    'num_process_names',
    'process_id',
    'num_process_ids',
    'num_process_args',
    'num_original_source_ips',
    'tcp_mean_smooth_rtt',
    'tcp_max_smooth_rtt',
    'tcp_min_smooth_rtt',
    'tcp_mean_mss',
    'tcp_max_mss',
    'tcp_min_mss',
    'tcp_mean_min_rtt',
    'tcp_max_min_rtt',
    'tcp_total_retransmissions',
    'tcp_lost_packets',
    'tcp_unrecovered_to',
    'tcp_mean_send_congestion_window',
    'tcp_min_send_congestion_window',
    'host',
    '@timestamp',
    'nat_outgoing_ports',
    'original_source_ips',
  ].map((key): [string, SlotRole] => [key, 'unread']),
]);

/** One whole JSON string without escapes or control characters (anything else goes to the reference). */
const PLAIN_STRING = /"[^"\\\u0000-\u001f]*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Default byte budget of the path trie: room for about a thousand distinct flows of full-shape records. */
const DEFAULT_CACHE_BYTES = 16 * 1024 * 1024;
/** Default byte budget of the interned IP strings. */
const DEFAULT_IP_CACHE_BYTES = 1024 * 1024;
/** Estimated bytes of a trie node or a path's verdict besides its text. */
const NODE_OVERHEAD = 128;
const SHAPE_OVERHEAD = 512;

/**
 * The end of the one slot value at `at`, or -1: a JSON scalar, or a flat array of scalars without
 * spaces (`nat_outgoing_ports`, `original_source_ips`). Any other value goes to the reference.
 */
function valueEnd(line: string, at: number): number {
  if (line.charCodeAt(at) !== 91) return scalarEnd(line, at);
  if (line.charCodeAt(at + 1) === 93) return at + 2;
  for (let i = at + 1; ; ) {
    i = scalarEnd(line, i);
    if (i < 0) return -1;
    const c = line.charCodeAt(i);
    if (c === 93) return i + 1;
    if (c !== 44) return -1;
    i++;
  }
}

/** The end of the one JSON scalar at `at`, or -1. */
function scalarEnd(line: string, at: number): number {
  const c = line.charCodeAt(at);
  if (c === 34) {
    PLAIN_STRING.lastIndex = at;
    return PLAIN_STRING.test(line) ? PLAIN_STRING.lastIndex : -1;
  }
  if ((c >= 48 && c <= 57) || c === 45) {
    let i = c === 45 ? at + 1 : at;
    // The common case, a short run of digits; fractions, exponents and the rest by the grammar.
    const first = line.charCodeAt(i);
    if (first === 48) i++;
    else if (first >= 49 && first <= 57) {
      i++;
      for (let d = line.charCodeAt(i); d >= 48 && d <= 57; d = line.charCodeAt(++i));
    } else return -1;
    const next = line.charCodeAt(i);
    if (next !== 46 && next !== 101 && next !== 69) return i;
    NUMBER.lastIndex = at;
    return NUMBER.test(line) ? NUMBER.lastIndex : -1;
  }
  if (c === 110) return line.slice(at, at + 4) === 'null' ? at + 4 : -1;
  if (c === 116) return line.slice(at, at + 4) === 'true' ? at + 4 : -1;
  if (c === 102) return line.slice(at, at + 5) === 'false' ? at + 5 : -1;
  return -1;
}

/**
 * The value of an unsigned integer of at most `digits` digits in [from, to), or -1 when the text
 * is anything else (the reference then decides).
 */
function smallInteger(line: string, from: number, to: number, digits: number): number {
  if (to <= from || to - from > digits) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = line.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** A copy that shares no memory with `text` (a slice would keep its whole read chunk alive). */
function detached(text: string): string {
  return ` ${text}`.slice(1);
}

/** What a cached path yields for a line with good slot values. */
interface Shape {
  /** The reference's verdict when it is a skip (the same for every good filling). */
  readonly skip: NotRead | null;
  /** The record of the path's good filling; slot-derived fields are replaced per line. */
  readonly record: FlowRecord | null;
  /** Endpoints with a null IP, shared by every record of the path whose IP slot is null. */
  readonly sourceNoIp: FlowEndpoint | null;
  readonly destNoIp: FlowEndpoint | null;
  /** Slot index of each read key, -1 when the key is not a slot (its value is then in the segments). */
  readonly start: number;
  readonly end: number;
  readonly sourceIp: number;
  readonly destIp: number;
  readonly numFlows: number;
}

interface PathNode {
  /** Text from the previous slot's end up to and including the next slot's `"key":` (or to the end of the line). */
  readonly seg: string;
  /** True when `seg` runs to the end of the line (then `shape` is set). */
  readonly final: boolean;
  /** The role of the slot after `seg` (none for a final node). */
  readonly role: SlotRole | null;
  /**
   * The one path below this node down to the next node that branches (or to the end of the line)
   * as one sticky regular expression: one call instead of a step per slot. Undefined until first
   * needed, null when there is none; reset when a line adds to the path.
   */
  run: Run | null | undefined;
  shape: Shape | null;
  /** The segments that follow this node's slot (those running to the end of the line included). */
  children: Children | null;
}

interface Run {
  readonly re: RegExp;
  /** The slot index of each capture group (read slots only). */
  readonly slots: readonly number[];
  /** Slots matched. */
  readonly count: number;
  /** The node the run ends at: a final one (its shape is the line's), or one that branches. */
  readonly to: PathNode;
}

const newNode = (seg: string, final: boolean, role: SlotRole | null): PathNode => ({
  seg,
  final,
  role,
  run: undefined,
  shape: null,
  children: null,
});

/** The longest prefix of a segment that keys a node's children. */
const KEY_CHARS = 96;

/**
 * A node's children (and final segments), by their first characters (KEY_CHARS, or the whole
 * segment when shorter): enough to tell most apart, and no search for where the segment ends, nor
 * a hash of all of it (hundreds of characters for a flow's endpoint and policy trace). The few
 * that share a key are compared whole. Keys have few lengths (KEY_CHARS and the short segments'),
 * each tried once.
 */
class Children {
  /** The only child, until there are two (most nodes below a flow's own segments have one). */
  #single: PathNode | null = null;
  #byKey: Map<string, PathNode[]> | null = null;
  /** The key lengths in use, longest first. */
  #keyLengths: number[] = [];
  size = 0;
  /** Some child (the only one when size is 1). */
  any: PathNode | null = null;

  /** The child whose segment `line` continues with at `pos` (to its end, for a final segment), or null. */
  find(line: string, pos: number): PathNode | null {
    if (this.#single !== null) return continuesWith(line, pos, this.#single) ? this.#single : null;
    const byKey = this.#byKey!;
    for (const length of this.#keyLengths) {
      const list = byKey.get(line.slice(pos, pos + length));
      if (list !== undefined) for (const child of list) if (continuesWith(line, pos, child)) return child;
    }
    return null;
  }

  /** The child whose segment is `seg` (final or not), or null. */
  get(seg: string, final: boolean): PathNode | null {
    const candidates = this.#single !== null ? [this.#single] : (this.#byKey?.get(seg.slice(0, Math.min(KEY_CHARS, seg.length))) ?? []);
    for (const child of candidates) if (child.seg === seg && child.final === final) return child;
    return null;
  }

  add(child: PathNode): void {
    this.size++;
    this.any = child;
    if (this.size === 1) {
      this.#single = child;
      return;
    }
    if (this.#byKey === null) {
      this.#byKey = new Map();
      this.#index(this.#single!);
      this.#single = null;
    }
    this.#index(child);
  }

  #index(child: PathNode): void {
    const length = Math.min(KEY_CHARS, child.seg.length);
    if (!this.#keyLengths.includes(length)) {
      this.#keyLengths.push(length);
      this.#keyLengths.sort((a, b) => b - a);
    }
    const key = child.seg.slice(0, length);
    const list = this.#byKey!.get(key);
    if (list === undefined) this.#byKey!.set(key, [child]);
    else list.push(child);
  }
}

/** One JSON scalar, as scalarEnd reads it. */
const SCALAR = String.raw`"[^"\\\u0000-\u001f]*"|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|null|true|false`;
/** One slot value, as valueEnd reads it. */
const VALUE = `${SCALAR}|\\[(?:(?:${SCALAR})(?:,(?:${SCALAR}))*)?\\]`;
const escapeRegExp = (text: string): string => text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
/** Estimated bytes of a compiled run expression: its source, and code generated from it. */
const runBytes = (source: string): number => 64 * source.length + 4096;
/**
 * Segments longer than this end a run: a run is then the keys of counters and times between a
 * flow's own segments (`,"tcp_mean_send_congestion_window":`, 35 characters, is the longest), the
 * same for every flow, so its expression is compiled once for all. With the flows' own short
 * segments in them (a process name, a host), runs were one per flow or workload: 10 MB of compiled
 * expressions per reader thread on the present bench profile's 378 flows.
 */
const RUN_SEGMENT_CHARS = 48;
/** Segments up to this long are kept once for all paths that have them. */
const SHARED_SEGMENT_CHARS = 256;

/** A line cut into segments and the slots between them (each slot's role and key). */
interface Cut {
  readonly segments: string[];
  readonly roles: SlotRole[];
  readonly keys: string[];
}

export interface FlowLogParserOptions {
  /** Byte budget of the path trie (default DEFAULT_CACHE_BYTES). */
  readonly cacheBytes?: number;
  /** Byte budget of the interned IP strings (default DEFAULT_IP_CACHE_BYTES). */
  readonly ipCacheBytes?: number;
}

/** Counters for tests and benches: how lines were parsed, and what the caches hold. */
export interface FlowLogParserStats {
  readonly fast: number;
  readonly reference: number;
  readonly cacheBytes: number;
  /** Lines read by the reference because the cache was full. */
  readonly uncached: number;
  readonly ipCacheBytes: number;
}

/**
 * parseCalicoFlowLog with a per-flow cache; one per read (the cache lives as long as the parser).
 * `parse(line)` deep-equals `parseCalicoFlowLog(line)` for every string.
 */
export class FlowLogParser {
  readonly #cacheCap: number;
  readonly #ipCap: number;
  #root = newNode('', false, null);
  /** Run expressions by source: paths of different flows often end alike (the counters after the trace). */
  #runs = new Map<string, RegExp>();
  /** Short segments by text, shared by the paths that have them. */
  #short = new Map<string, string>();
  #bytes = 0;
  #uncached = 0;
  /** The budget is spent: no more flows are cached. */
  #full = false;
  #fast = 0;
  #reference = 0;
  readonly #ips = new Map<string, string | null>();
  #ipBytes = 0;
  // The current line's slots: each read from texts[i] (the line, or a captured group) at [starts[i], ends[i]).
  // Reused: no allocation per line.
  // A proved path has each slot key once, so no more slots than keys.
  #texts: string[] = new Array<string>(SLOT_KEYS.size).fill('');
  #starts: number[] = new Array<number>(SLOT_KEYS.size).fill(0);
  #ends: number[] = new Array<number>(SLOT_KEYS.size).fill(0);

  constructor(options: FlowLogParserOptions = {}) {
    this.#cacheCap = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.#ipCap = options.ipCacheBytes ?? DEFAULT_IP_CACHE_BYTES;
  }

  get stats(): FlowLogParserStats {
    return {
      fast: this.#fast,
      reference: this.#reference,
      cacheBytes: this.#bytes,
      uncached: this.#uncached,
      ipCacheBytes: this.#ipBytes,
    };
  }

  parse(line: string): ParseResult {
    // A full cache means more distinct flows than it holds: matching each line against it would
    // cost more than it saves (the realistic bench profile), so the reference reads the rest.
    if (this.#full) {
      this.#uncached++;
      this.#reference++;
      return parseCalicoFlowLog(line);
    }
    const shape = this.#find(line);
    if (shape !== null) {
      const result = this.#fill(shape);
      if (result !== null) {
        this.#fast++;
        return result;
      }
    }
    this.#reference++;
    const result = parseCalicoFlowLog(line);
    if (shape === null && isObjectVerdict(result)) this.#learn(line);
    return result;
  }

  /** The cached path `line` follows, with its slots in #texts / #starts / #ends; null when there is none. */
  #find(line: string): Shape | null {
    const texts = this.#texts;
    const starts = this.#starts;
    const ends = this.#ends;
    let node = this.#root;
    let pos = 0;
    let n = 0;
    for (;;) {
      let run = node.run;
      if (run === undefined) run = node.run = this.#compileRun(node, n);
      if (run !== null) {
        run.re.lastIndex = pos;
        const m = run.re.exec(line);
        if (m === null) return null;
        for (let g = 0; g < run.slots.length; g++) {
          const text = m[g + 1]!;
          const slot = run.slots[g]!;
          texts[slot] = text;
          starts[slot] = 0;
          ends[slot] = text.length;
        }
        if (run.to.final) return run.to.shape;
        node = run.to;
        pos = run.re.lastIndex;
        n += run.count;
      }
      const next = node.children?.find(line, pos) ?? null;
      if (next === null) return null;
      pos += next.seg.length;
      if (next.final) return next.shape;
      const end = valueEnd(line, pos);
      if (end < 0) return null;
      texts[n] = line;
      starts[n] = pos;
      ends[n] = end;
      n++;
      pos = end;
      node = next;
    }
  }

  /**
   * The run of `node` (whose next slot is slot `n`): the one path below it down to the next node
   * that branches (or the end), as one expression; null when the node branches itself, or when
   * the path is one step (as cheap walked).
   */
  #compileRun(node: PathNode, n: number): Run | null {
    let source = '';
    const slots: number[] = [];
    let count = 0;
    let x = node;
    for (;;) {
      if (x.children?.size !== 1) break;
      const child = x.children.any!;
      // A long segment is a flow's own (its endpoints, its trace): compared on its own, so that
      // expressions are few and shared (the counters after the trace, the times before the names).
      if (child.seg.length > RUN_SEGMENT_CHARS) break;
      x = child;
      if (x.final) {
        source += `${escapeRegExp(x.seg)}$`;
        break;
      }
      const read = x.role !== 'unread';
      source += `${escapeRegExp(x.seg)}${read ? '(' : '(?:'}${VALUE})`;
      if (read) slots.push(n + count);
      count++;
    }
    if (count < 2) return null;
    let re = this.#runs.get(source);
    if (re === undefined) {
      const bytes = runBytes(source);
      if (this.#bytes + bytes > this.#cacheCap) return null;
      this.#bytes += bytes;
      re = new RegExp(source, 'y');
      this.#runs.set(source, re);
    }
    return { re, slots, count, to: x };
  }

  /** The verdict for `line` on `shape`, or null when a slot value is not one the fast path vouches for. */
  #fill(shape: Shape): ParseResult | null {
    const texts = this.#texts;
    const starts = this.#starts;
    const ends = this.#ends;
    let startTime = 0;
    let endTime = 0;
    if (shape.start >= 0) {
      startTime = smallInteger(texts[shape.start]!, starts[shape.start]!, ends[shape.start]!, 11);
      if (startTime < 0) return null;
    }
    if (shape.end >= 0) {
      endTime = smallInteger(texts[shape.end]!, starts[shape.end]!, ends[shape.end]!, 11);
      if (endTime < 0) return null;
    }
    let numFlows = 1;
    if (shape.numFlows >= 0) {
      const text = texts[shape.numFlows]!;
      const from = starts[shape.numFlows]!;
      const to = ends[shape.numFlows]!;
      if (!(to - from === 4 && text.charCodeAt(from) === 110)) {
        numFlows = smallInteger(text, from, to, 15);
        if (numFlows < 0) return null;
      }
    }
    const sourceIp = shape.sourceIp >= 0 ? this.#ip(texts[shape.sourceIp]!, starts[shape.sourceIp]!, ends[shape.sourceIp]!) : null;
    if (sourceIp === undefined) return null;
    const destIp = shape.destIp >= 0 ? this.#ip(texts[shape.destIp]!, starts[shape.destIp]!, ends[shape.destIp]!) : null;
    if (destIp === undefined) return null;
    // The reference checks end >= start only once both are read as valid times (11 digits are below its 1e11 bound).
    if (shape.start >= 0 && shape.end >= 0 && endTime < startTime) return null;
    if (shape.skip !== null) return shape.skip;
    const r = shape.record!;
    const source = shape.sourceIp < 0 ? r.source : sourceIp === null ? shape.sourceNoIp! : { ...shape.sourceNoIp!, ip: sourceIp };
    const dest = shape.destIp < 0 ? r.dest : destIp === null ? shape.destNoIp! : { ...shape.destNoIp!, ip: destIp };
    return {
      ok: true,
      record: {
        startTime: shape.start >= 0 ? startTime : r.startTime,
        endTime: shape.end >= 0 ? endTime : r.endTime,
        source,
        dest,
        destPort: r.destPort,
        destService: r.destService,
        destDomains: r.destDomains,
        protocol: r.protocol,
        action: r.action,
        reporter: r.reporter,
        policies: r.policies,
        numFlows: shape.numFlows >= 0 ? numFlows : r.numFlows,
      },
    };
  }

  /** A valid IP's interned text, null for JSON null, undefined when the reference must decide. */
  #ip(line: string, from: number, to: number): string | null | undefined {
    if (line.charCodeAt(from) !== 34) return to - from === 4 && line.charCodeAt(from) === 110 ? null : undefined;
    const text = line.slice(from + 1, to - 1);
    // Valid IPs map to themselves (a detached copy), invalid ones to null (the reference says why).
    let known = this.#ips.get(text);
    if (known === undefined) {
      const bytes = 2 * text.length + 64;
      if (this.#ipBytes + bytes > this.#ipCap) {
        this.#ips.clear();
        this.#ipBytes = 0;
      }
      const copy = detached(text);
      known = isIP(copy) !== 0 ? copy : null;
      this.#ips.set(copy, known);
      this.#ipBytes += bytes;
    }
    return known ?? undefined;
  }

  /** A detached copy of `seg`; short ones (a counter's key, a process name) once for all paths. */
  #shared(seg: string): string {
    if (seg.length > SHARED_SEGMENT_CHARS) return detached(seg);
    let copy = this.#short.get(seg);
    if (copy === undefined) this.#short.set((copy = detached(seg)), copy);
    return copy;
  }

  /** Proves and caches the path of `line`, a JSON object line that matched none. */
  #learn(line: string): void {
    const cut = cutLine(line);
    if (cut === null) return;
    const shape = proveShape(cut);
    if (shape === null) return;
    // What the path costs if none of it is cached yet.
    let bytes = SHAPE_OVERHEAD + line.length;
    for (const seg of cut.segments) bytes += NODE_OVERHEAD + 2 * seg.length;
    // Full: every further line goes to the reference (parse), so what is cached is dropped: it
    // would only cost memory, and the collector's time (the realistic bench profile fills it).
    if (this.#bytes + bytes > this.#cacheCap) {
      this.#uncached++;
      this.#full = true;
      this.#root = newNode('', false, null);
      this.#runs.clear();
      this.#short.clear();
      this.#ips.clear();
      this.#bytes = 0;
      this.#ipBytes = 0;
      return;
    }
    let node = this.#root;
    /** The nodes whose run may pass where this path adds a branch: those below the last that branched already. */
    const above: PathNode[] = [];
    const last = cut.segments.length - 1;
    for (let i = 0; i <= last; i++) {
      if ((node.children?.size ?? 0) > 1) above.length = 0;
      above.push(node);
      const seg = cut.segments[i]!;
      const final = i === last;
      const children = (node.children ??= new Children());
      let child = children.get(seg, final);
      if (child === null) {
        child = newNode(this.#shared(seg), final, final ? null : cut.roles[i]!);
        children.add(child);
        this.#bytes += NODE_OVERHEAD + 2 * seg.length;
      }
      if (final) {
        if (child.shape === null) this.#bytes += SHAPE_OVERHEAD + line.length;
        child.shape = shape;
      }
      node = child;
    }
    // The nodes above may have matched their one path in one expression: no longer (or not that shape).
    for (const x of above) x.run = undefined;
  }
}

/**
 * Does `line` continue at `pos` with `node`'s segment (and end there, for a final one)? A slice
 * compared with `===` is compared natively; `startsWith` at an offset goes character by character.
 */
function continuesWith(line: string, pos: number, node: PathNode): boolean {
  const end = pos + node.seg.length;
  return (node.final ? end === line.length : end < line.length) && line.slice(pos, end) === node.seg;
}

/** Did the reference read `line` as a JSON object? (Only such lines can start a path.) */
function isObjectVerdict(result: ParseResult): boolean {
  return result.ok || !(result.reason === NOT_JSON || result.reason === NOT_AN_OBJECT || result.reason === TEXT_FORMAT);
}

/**
 * Cuts `line` at the earliest slot key after each slot (keys inside strings or nested objects
 * included: proveShape rejects a cut whose slots are not top-level values). Null when a slot key
 * is followed by anything but one slot value (valueEnd).
 */
function cutLine(line: string): Cut | null {
  const cut: Cut = { segments: [], roles: [], keys: [] };
  let pos = 0;
  // Every `"key":` ends in `":`, and its key has no quote: one pass over the `":` finds them all.
  for (let colon = line.indexOf('":'); colon >= 0; colon = line.indexOf('":', colon + 1)) {
    const at = line.lastIndexOf('"', colon - 1);
    if (at < pos) continue;
    const key = line.slice(at + 1, colon);
    const role = SLOT_KEYS.get(key);
    if (role === undefined) continue;
    const valueAt = colon + 2;
    const end = valueEnd(line, valueAt);
    if (end < 0) return null;
    cut.segments.push(line.slice(pos, valueAt));
    cut.roles.push(role);
    cut.keys.push(key);
    pos = end;
    colon = end - 1;
  }
  cut.segments.push(line.slice(pos));
  return cut;
}

/** Sentinels: good values for the read slots (so the verdict is the constant fields'), distinct per filling. */
function sentinel(role: SlotRole, slot: number, filling: 0 | 1): string | number {
  switch (role) {
    case 'start':
      return 1_000_000_000 + filling;
    case 'end':
      return 1_000_000_300 + filling;
    case 'sourceIp':
      return `192.0.2.${1 + filling}`;
    case 'destIp':
      return `198.51.100.${1 + filling}`;
    case 'numFlows':
      return 7 + filling;
    case 'unread':
      return 1_000_000 + 2 * slot + filling;
  }
}

function filled(cut: Cut, filling: 0 | 1): string {
  let text = cut.segments[0]!;
  for (let i = 0; i < cut.roles.length; i++) text += JSON.stringify(sentinel(cut.roles[i]!, i, filling)) + cut.segments[i + 1]!;
  return text;
}

/** The shape of a cut, once both fillings prove every slot is its key's top-level value; else null. */
function proveShape(cut: Cut): Shape | null {
  for (const filling of [0, 1] as const) {
    let o: unknown;
    try {
      o = JSON.parse(filled(cut, filling));
    } catch {
      return null;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
    for (let i = 0; i < cut.roles.length; i++) {
      if (!Object.hasOwn(o, cut.keys[i]!) || (o as Record<string, unknown>)[cut.keys[i]!] !== sentinel(cut.roles[i]!, i, filling))
        return null;
    }
  }
  const slotOf = (role: SlotRole): number => cut.roles.indexOf(role);
  // A read key twice: the path is proved (the last wins), but the fast path reads only one slot per key.
  for (const role of ['start', 'end', 'sourceIp', 'destIp', 'numFlows'] as const)
    if (slotOf(role) !== cut.roles.lastIndexOf(role)) return null;
  const verdict = parseCalicoFlowLog(filled(cut, 0));
  const slots = {
    start: slotOf('start'),
    end: slotOf('end'),
    sourceIp: slotOf('sourceIp'),
    destIp: slotOf('destIp'),
    numFlows: slotOf('numFlows'),
  };
  if (!verdict.ok) return { skip: Object.freeze({ ...verdict }), record: null, sourceNoIp: null, destNoIp: null, ...slots };
  const record = verdict.record;
  return {
    skip: null,
    record,
    sourceNoIp: { ...record.source, ip: null },
    destNoIp: { ...record.dest, ip: null },
    ...slots,
  };
}
