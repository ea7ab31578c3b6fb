import type { FlowRecord } from '../../src/flows/record.ts';
import type { FlowSource, TimeWindow } from '../../src/flows/source.ts';
// Test helpers for the flow-source tests: the reference's example record and ways to vary it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The abridged example of /work/shared/reference/calico.md section 4, verbatim. */
export const ABRIDGED_EXAMPLE =
  '{"start_time":1597166083,"end_time":1597166383,"source_ip":"192.168.47.9","source_name":"access-6b687c8dcb-zn5s2","source_name_aggr":"access-6b687c8dcb-*","source_namespace":"policy-demo","source_port":42106,"source_type":"wep","source_labels":{"labels":["pod-template-hash=6b687c8dcb","app=access"]},"dest_ip":"192.168.138.79","dest_name_aggr":"nginx-86c57db685-*","dest_namespace":"policy-demo","dest_port":80,"dest_type":"wep","proto":"tcp","action":"allow","reporter":"dst","policies":{"all_policies":["0|__PROFILE__|__PROFILE__.kns.policy-demo|allow|0"]},"num_flows":1,"num_flows_started":1,"num_flows_completed":1}';

export const abridged = (): Record<string, unknown> => JSON.parse(ABRIDGED_EXAMPLE) as Record<string, unknown>;

/** One JSON line: `base` with `changes` applied; a change to `undefined` deletes the field. */
export function withFields(base: Record<string, unknown>, changes: Record<string, unknown>): string {
  const o = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete o[key];
    else o[key] = value;
  }
  return JSON.stringify(o);
}

/** The abridged example with a distinguishing start time (and end time 300 s later). */
export const exampleAt = (startTime: number, changes: Record<string, unknown> = {}): string =>
  withFields(abridged(), { start_time: startTime, end_time: startTime + 300, ...changes });

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'flows-test-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Chunks of `data` of the given sizes (the last size repeats until the data is used up). */
export async function* chunked(data: Buffer, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let at = 0;
  let i = 0;
  while (at < data.length) {
    const size = sizes[Math.min(i++, sizes.length - 1)]!;
    yield data.subarray(at, at + size);
    at += size;
  }
}

/** Every record a source reads, in order. */
export async function readRecords(source: FlowSource, window: TimeWindow): Promise<FlowRecord[]> {
  const out: FlowRecord[] = [];
  await source.read(window, (record) => out.push(record));
  return out;
}
