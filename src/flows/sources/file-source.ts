// Calico flow-log files: plain files, directories (every *.log, *.json, *.jsonl and their .gz
// forms, recursively, in sorted order), and stdin (`-`). Gzip is recognised by its magic bytes.

import { constants, createReadStream } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { appendAll } from '../../util/append.ts';
import { type ParseResult, parseCalicoFlowLog } from '../calico-flow-log.ts';
import { FlowLogParser } from '../flow-log-parser.ts';
import { DEFAULT_MAX_LINE_BYTES, type LineSink, readLines } from '../line-reader.ts';
import type { FlowRecord } from '../record.ts';
import { SkipReport } from '../skip-report.ts';
import { type FlowSource, FlowSourceError, type TimeWindow } from '../source.ts';
import { withHubbleLines } from './hubble/jsonpb-line.ts';

const FLOW_FILE = /\.(log|json|jsonl)(\.gz)?$/;
const STDIN = '-';

export interface FileSourceOptions {
  maxLineBytes?: number;
  /** Replaces process.stdin for `-` (tests). */
  stdin?: AsyncIterable<Buffer>;
  /**
   * `reference`: parseCalicoFlowLog on every line, the fast path's oracle (differential tests);
   * default `fast`, FlowLogParser (the same results).
   */
  parser?: 'fast' | 'reference';
}

export class FileFlowSource implements FlowSource {
  readonly kind = 'file';
  readonly skipped = new SkipReport();
  readonly unlearnable = new SkipReport();
  #inputsRead = 0;
  #bytesRead = 0;
  readonly #files: readonly string[];
  readonly #totalBytes: number | null;
  readonly #options: FileSourceOptions;

  private constructor(files: readonly string[], totalBytes: number | null, options: FileSourceOptions) {
    this.#files = files;
    this.#totalBytes = totalBytes;
    this.#options = options;
  }

  /** Resolves directories up front so a missing or unreadable path fails before anything is read. */
  static async open(paths: readonly string[], options: FileSourceOptions = {}): Promise<FileFlowSource> {
    if (paths.length === 0) throw new FlowSourceError('no flow log paths given');
    const files: string[] = [];
    for (const path of paths) {
      if (path === STDIN) {
        files.push(STDIN);
        continue;
      }
      const info = await stat(path).catch((e: NodeJS.ErrnoException) => {
        throw new FlowSourceError(`cannot read ${path}: ${describeError(e)}`);
      });
      if (info.isDirectory()) appendAll(files, await listFlowFiles(path));
      else if (info.isFile()) files.push(path);
      else throw new FlowSourceError(`cannot read ${path}: not a file or directory`);
    }
    let totalBytes: number | null = 0;
    for (const file of files) {
      if (file === STDIN) {
        totalBytes = null;
        continue;
      }
      await access(file, constants.R_OK).catch((e: NodeJS.ErrnoException) => {
        throw new FlowSourceError(`cannot read ${file}: ${describeError(e)}`);
      });
      if (totalBytes !== null) totalBytes += (await stat(file).catch(() => ({ size: 0 }))).size;
    }
    return new FileFlowSource(files, totalBytes, options);
  }

  get description(): string {
    const names = this.#files.map((f) => (f === STDIN ? '<stdin>' : f));
    const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, and ${names.length - 3} more` : '');
    return `${names.length} ${names.length === 1 ? 'file' : 'files'} (${shown})`;
  }

  get inputsRead(): number {
    return this.#inputsRead;
  }

  get files(): readonly string[] {
    return this.#files;
  }

  /** Bytes read from the files so far, as stored (compressed, for gzip): for progress. */
  get bytesRead(): number {
    return this.#bytesRead;
  }

  /** The files' sizes together, as stored; null when stdin is among them (its size is not known). */
  get totalBytes(): number | null {
    return this.#totalBytes;
  }

  // The window is not needed: files hold what they hold and the engine filters by time.
  async read(_window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
    // One parser (and cache) per read: what it learned of the flows dies with the read.
    // Hubble's jsonpb lines are recognised per line (hubble/jsonpb-line.ts); Calico's keep their parser.
    const parse = withHubbleLines(this.#options.parser === 'reference' ? parseCalicoFlowLog : lineParser(new FlowLogParser()));
    for (const file of this.#files) await this.#readFile(file, parse, onRecord);
  }

  async #readFile(file: string, parse: (line: string) => ParseResult, onRecord: (record: FlowRecord) => void): Promise<void> {
    const label = file === STDIN ? '<stdin>' : file;
    const raw = file === STDIN ? (this.#options.stdin ?? process.stdin) : createReadStream(file, { highWaterMark: 1 << 20 });
    const sink: LineSink = {
      line: (text, lineNo) => {
        this.#inputsRead++;
        const parsed = parse(text);
        if (parsed.ok) onRecord(parsed.record);
        else (parsed.nothingToLearn ? this.unlearnable : this.skipped).add(`${label}:${lineNo}`, parsed.reason);
      },
      bad: (reason, lineNo) => {
        this.#inputsRead++;
        this.skipped.add(`${label}:${lineNo}`, reason);
      },
    };
    try {
      await readLines(gunzipIfCompressed(this.#counted(raw)), sink, this.#options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    } catch (e) {
      throw new FlowSourceError(`cannot read ${label}: ${describeError(e as NodeJS.ErrnoException)}`);
    }
  }

  /** The chunks of `raw`, counted into bytesRead (one addition a chunk of up to 1 MiB). */
  async *#counted(raw: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of raw) {
      this.#bytesRead += chunk.length;
      yield chunk;
    }
  }
}

function lineParser(parser: FlowLogParser): (line: string) => ParseResult {
  return (line) => parser.parse(line);
}

async function listFlowFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    throw new FlowSourceError(`cannot read ${e.path ?? dir}: ${describeError(e)}`);
  });
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(entry.parentPath, entry.name);
    if (!FLOW_FILE.test(entry.name)) continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(full).catch(() => null))?.isFile())) files.push(full);
  }
  // Sorted by path relative to the directory so the reading order (and every "first seen") is stable.
  return files.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}

/** Peeks at the first bytes; gzip data (1f 8b) is decompressed, anything else passes through. */
async function* gunzipIfCompressed(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  // A pipe may deliver a single byte first: gather two before deciding.
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2 && !ended) {
    const next = await iterator.next();
    if (next.done) ended = true;
    else head = Buffer.concat([head, next.value as Buffer]);
  }
  if (head.length === 0) return;
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
    return;
  }
  const rest = async function* (): AsyncGenerator<Buffer> {
    yield head;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value as Buffer;
  };
  const compressed = Readable.from(rest());
  const gunzip = createGunzip();
  compressed.on('error', (e) => gunzip.destroy(e));
  compressed.pipe(gunzip);
  for await (const chunk of gunzip) yield chunk as Buffer;
}

function describeError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    case 'Z_BUF_ERROR':
    case 'Z_DATA_ERROR':
      return `corrupt gzip data (${e.message})`;
    default:
      return e.message;
  }
}
