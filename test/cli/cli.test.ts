import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseAllDocuments } from 'yaml';
import { parseTime } from '../../src/engine/provenance.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { cli, filesIn } from '../support/cli.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const END = '2026-11-22T12:00:00Z';
let dir: string;
let flows: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-recommender-cli-'));
  flows = join(dir, 'flows.jsonl');
  await writeFlowFile(flows, { scenario: 'yaobank', records: 2000, endTime: parseTime(END)!, seed: 3, damagedRatio: 0.005 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('policy-recommender recommend', () => {
  test('writes the policies tree, prints a summary, and a second run changes nothing', async () => {
    const out = join(dir, 'run1');
    const first = await cli('recommend', '--flows', flows, '--out', out, '--now', END);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/Read 2,000 lines from 1 file .*: 1,990 flow records/);
    expect(first.stdout).toMatch(/Skipped 10 malformed lines: .*First: .*flows\.jsonl:\d+ \(/);
    expect(first.stdout).toMatch(/^yaobank\s+Learning\s+created\s+2\s+4\s+2026-11-22T12:00:00Z$/m);
    expect(first.stdout).toContain('ingress Allow TCP 80 from any public IPv4 address (outside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16)');
    // The malformed lines are a counted warning; the run succeeds.
    expect(first.stdout).toMatch(
      /Warnings \(3\):\n {2}10 of 2,000 lines were skipped as malformed \(see "Skipped" above\)\n {2}yaobank: egress to api\.stripe\.com/,
    );
    expect(await filesIn(out)).toEqual(['global-default-deny.yaml', 'namespace-isolation/yaobank.yaml', 'tiers.yaml']);
    const before = await readFile(join(out, 'namespace-isolation/yaobank.yaml'), 'utf8');

    const second = await cli('recommend', '--flows', flows, '--out', out, '--now', '2026-11-22T13:00:00Z');
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^yaobank\s+Stable\s+unchanged/m);
    expect(second.stdout).toContain(`No changes: ${out} is up to date.`);
    expect(await readFile(join(out, 'namespace-isolation/yaobank.yaml'), 'utf8')).toBe(before);
  });

  test('inputs with nothing to learn are counted apart from malformed ones', async () => {
    const file = join(dir, 'unlearnable.jsonl');
    const base = (await readFile(flows, 'utf8')).split('\n').find((l) => l.includes('"reporter":"src"') && l.includes('"proto":"tcp"'))!;
    const line = (changes: Record<string, unknown>) => JSON.stringify({ ...JSON.parse(base), ...changes });
    await writeFile(file, `${[base, line({ reporter: 'fwd' }), line({ proto: '0' }), '{not json'].join('\n')}\n`);
    const result = await cli('recommend', '--flows', file, '--out', join(dir, 'unlearnable'), '--now', END, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Skipped 1 malformed lines: 1 not JSON\./);
    expect(result.stdout).toMatch(
      /Nothing to learn from 2 well-formed inputs: 1 proto 0 \(no Calico rule can match IP protocol 0\), 1 reporter fwd \(/,
    );
  });

  test('--dry-run prints a unified diff and writes nothing', async () => {
    const out = join(dir, 'dry');
    const result = await cli('recommend', '--flows', flows, '--out', out, '--now', END, '--dry-run');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--- /dev/null\n+++ b/namespace-isolation/yaobank.yaml\n@@ -0,0 +1,');
    expect(result.stdout).toContain('+kind: StagedNetworkPolicy');
    expect(result.stdout).toContain(`Dry run: 3 files would change in ${out}; nothing was written.`);
    expect(existsSync(out)).toBe(false);
  });

  test('--flavor and --config choose the output', async () => {
    const out = join(dir, 'k8s');
    const configFile = join(dir, 'scope.yml');
    await writeFile(configFile, 'flavor: calico-enterprise\nnamespaceSpec:\n  tierName: isolation\n');
    const result = await cli('recommend', '--flows', flows, '--out', out, '--now', END, '--config', configFile, '--flavor', 'kubernetes');
    expect(result.code).toBe(0);
    const policy = (parseAllDocuments(await readFile(join(out, 'namespace-isolation/yaobank.yaml'), 'utf8'))[0] as any).toJS();
    expect(policy.kind).toBe('StagedKubernetesNetworkPolicy');

    const enterprise = join(dir, 'ee');
    expect((await cli('recommend', '--flows', flows, '--out', enterprise, '--now', END, '--config', configFile)).code).toBe(0);
    const text = await readFile(join(enterprise, 'namespace-isolation/yaobank.yaml'), 'utf8');
    expect(text).toContain('name: yaobank-recommendation');
    expect(text).toContain('- api.stripe.com');
  });

  test('files it does not own are never touched', async () => {
    const out = join(dir, 'owned');
    await mkdir(join(out, 'namespace-isolation'), { recursive: true });
    const notes = '# my notes\nkind: ConfigMap\napiVersion: v1\nmetadata: {name: notes}\n';
    await writeFile(join(out, 'namespace-isolation', 'notes.yaml'), notes);
    await writeFile(join(out, 'README.md'), 'hello');
    expect((await cli('recommend', '--flows', flows, '--out', out, '--now', END)).code).toBe(0);
    expect(await readFile(join(out, 'namespace-isolation', 'notes.yaml'), 'utf8')).toBe(notes);
    expect(await readFile(join(out, 'README.md'), 'utf8')).toBe('hello');
  });

  test('never writes outside --out, even through a symbolic link', async () => {
    const out = join(dir, 'linked');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(out, { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await symlink(elsewhere, join(out, 'namespace-isolation'));
    const result = await cli('recommend', '--flows', flows, '--out', out, '--now', END);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^policy-recommender: refusing to write namespace-isolation\/\S+: its directory resolves outside/);
    expect(await filesIn(elsewhere)).toEqual([]);
    // All or nothing: not even the files that could be written were.
    expect(await filesIn(out)).toEqual([]);
  });

  test('errors: one line on stderr and a non-zero exit code', async () => {
    const missing = await cli('recommend', '--flows', join(dir, 'nope.log'), '--out', join(dir, 'x'));
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe(`policy-recommender: cannot read ${join(dir, 'nope.log')}: no such file or directory`);

    const badConfig = join(dir, 'bad.yml');
    await writeFile(badConfig, 'maxRules: lots\nnamespaceSpec:\n  tier: x\n');
    const config = await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--config', badConfig);
    expect(config.code).toBe(1);
    // Every problem at once, one a line under the error's one line, each with its key path.
    expect(config.stderr.split('\n')).toEqual([
      `policy-recommender: invalid configuration in ${badConfig} (2 problems):`,
      '  maxRules: must be a number, not text',
      '  namespaceSpec.tier: unknown key (did you mean tierName?)',
    ]);

    const now = await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--now', 'yesterday');
    expect(now).toMatchObject({
      code: 2,
      stderr: 'policy-recommender: --now: "yesterday" is not an RFC 3339 time such as 2026-11-22T12:00:00Z',
    });

    const usage = await cli('recommend', '--flows', flows);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/required option '--out <dir>' not specified/);

    expect((await cli('recommend', '--flows', flows, '--out', join(dir, 'x'), '--flavor', 'antrea')).code).toBe(2);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('the executable', () => {
  test('reads flows from stdin and exits 0', () => {
    const out = join(dir, 'stdin');
    const input = spawnSync(process.execPath, [CLI, 'recommend', '--flows', '-', '--out', out, '--now', END], {
      input: spawnSync('head', ['-n', '300', flows]).stdout,
      encoding: 'utf8',
    });
    expect(input.stderr).toBe('');
    expect(input.status).toBe(0);
    expect(input.stdout).toMatch(/from 1 file \(<stdin>\)/);
    expect(existsSync(join(out, 'namespace-isolation', 'yaobank.yaml'))).toBe(true);
  });

  test('exit codes of a real process: 1 for a run error, 2 for usage', () => {
    const error = spawnSync(process.execPath, [CLI, 'recommend', '--flows', join(dir, 'nope'), '--out', join(dir, 'y')], {
      encoding: 'utf8',
    });
    expect(error.status).toBe(1);
    expect(error.stderr.trim().split('\n')).toHaveLength(1);
    const usage = spawnSync(process.execPath, [CLI, 'bogus'], { encoding: 'utf8' });
    expect(usage.status).toBe(2);
  });

  test('demo runs the bundled samples twice and shows that the second run writes nothing', () => {
    const demo = spawnSync(process.execPath, [CLI, 'demo'], { encoding: 'utf8' });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/^yaobank\s+Learning\s+created/m);
    expect(demo.stdout).toContain('Second run on the same flows: no file changed');
    const where = /into (\S+)\n/.exec(demo.stdout)![1]!;
    expect(existsSync(join(where, 'namespace-isolation', 'yaobank.yaml'))).toBe(true);
  });
});
