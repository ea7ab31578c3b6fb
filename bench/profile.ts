// `node bench/profile.ts [--records 1000000] [--top 15] [--mode ours|baseline] [--profile realistic|present]`
// Generates a file of the record profile (src/generator/generate.ts PROFILES; default realistic),
// runs bench/worker.ts once under `node --cpu-prof`, and prints the functions with the most self
// time (share of all samples). Everything lives in a temporary directory that is removed at the end.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isProfileName, PROFILES, writeFlowFile } from '../src/generator/generate.ts';

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function location(url: string, line: number): string {
  if (url === '') return '';
  const path = url.startsWith('file://') ? relative(ROOT, fileURLToPath(url)) : url;
  return `${path}:${line + 1}`;
}

/** Self time per function (name + location), in microseconds, sorted descending. */
export function selfTimes(profile: CpuProfile): { total: number; rows: { fn: string; where: string; us: number }[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const perNode = new Map<number, number>();
  profile.samples.forEach((id, i) => perNode.set(id, (perNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const perFn = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of perNode) {
    const frame = byId.get(id)!.callFrame;
    const fn = frame.functionName || '(anonymous)';
    const where = location(frame.url, frame.lineNumber);
    const key = `${fn}@${where}`;
    const row = perFn.get(key) ?? { fn, where, us: 0 };
    row.us += us;
    perFn.set(key, row);
    total += us;
  }
  return { total, rows: [...perFn.values()].sort((a, b) => b.us - a.us) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      records: { type: 'string', default: '1000000' },
      top: { type: 'string', default: '15' },
      mode: { type: 'string', default: 'ours' },
      profile: { type: 'string', default: 'realistic' },
    },
  });
  const records = Number(values.records);
  const top = Number(values.top);
  const mode = values.mode;
  if (mode !== 'ours' && mode !== 'baseline') throw new Error('--mode must be ours or baseline');
  const profile = values.profile;
  if (!isProfileName(profile)) throw new Error('--profile must be present or realistic');
  const dir = await mkdtemp(join(tmpdir(), 'policy-recommender-profile-'));
  try {
    const file = join(dir, 'flows.jsonl');
    const endTime = Math.floor(Date.now() / 1000 / 300) * 300;
    await writeFlowFile(file, { ...PROFILES[profile], records, endTime });
    const profDir = join(dir, 'prof');
    const args = ['--cpu-prof', '--cpu-prof-dir', profDir, WORKER, mode, file, String(endTime)];
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.setEncoding('utf8').on('data', (t: string) => (text += t));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`worker exited ${code}`))));
    });
    console.log(`worker (${mode}, ${records} records of the ${profile} profile, profiled): ${out.trim()}`);
    const [name] = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
    if (name === undefined) throw new Error('no .cpuprofile written');
    const { total, rows } = selfTimes(JSON.parse(await readFile(join(profDir, name), 'utf8')) as CpuProfile);
    console.log(`\ntop ${top} functions by self time (of ${(total / 1e6).toFixed(2)} s sampled):`);
    for (const r of rows.slice(0, top)) {
      console.log(`${((100 * r.us) / total).toFixed(1).padStart(5)}%  ${(r.us / 1000).toFixed(0).padStart(6)} ms  ${r.fn}  ${r.where}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`profile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
});
