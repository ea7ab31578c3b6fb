// The command line tells a script the truth (issue 13, point 3): exit statuses, one error format,
// configuration problems all at once, --version, progress only on a terminal. Each runs the CLI as
// a process and looks at its exit status, stdout and stderr.

import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { progressWanted } from '../../src/cli/progress.ts';
import { parseTime } from '../../src/engine/provenance.ts';
import { writeFlowFile } from '../../src/generator/generate.ts';
import { cliInTerminal, cliProcess, scriptCommand } from '../support/cli.ts';

const END = '2026-11-22T12:00:00Z';
let dir: string;
let flows: string;
let policies: string;
let good: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'policy-recommender-honest-'));
  flows = join(dir, 'flows.jsonl');
  await writeFlowFile(flows, { scenario: 'yaobank', records: 400, endTime: parseTime(END)!, seed: 5, damagedRatio: 0 });
  good = (await readFile(flows, 'utf8')).split('\n').find((l) => l.includes('"reporter":"src"') && l.includes('"proto":"tcp"'))!;
  policies = join(dir, 'policies');
  await mkdir(policies);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One line on stderr, `policy-recommender: ...`, nothing on stdout. */
function expectOneErrorLine(r: { stdout: string; stderr: string }, message: RegExp): void {
  expect(r.stdout).toBe('');
  expect(r.stderr.endsWith('\n')).toBe(true);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(new RegExp(`^policy-recommender: ${message.source}`));
}

describe('exit status: input that gives a run nothing to go on is a failure', () => {
  const commands = (input: string[], out: string) => [
    ['recommend', '--flows', ...input, '--out', out, '--now', END],
    ['recommend', '--flows', ...input, '--out', out, '--now', END, '--dry-run'],
    ['simulate', '--flows', ...input, '--policies', policies, '--now', END],
    ['simulate', '--flows', ...input, '--policies', policies, '--now', END, '--json'],
  ];

  test('no flow-log file matched: a directory without any', async () => {
    const empty = join(dir, 'no-logs');
    await mkdir(join(empty, 'nested'), { recursive: true });
    await writeFile(join(empty, 'nested', 'notes.txt'), 'not a flow log\n');
    for (const argv of commands([empty], join(dir, 'out-none'))) {
      const r = cliProcess(argv);
      expect(r.status).toBe(1);
      expectOneErrorLine(
        r,
        /no flow-log files in .*no-logs \(a directory is searched for \*\.log, \*\.json, \*\.jsonl and their \.gz forms\)$/,
      );
    }
    expect(existsSync(join(dir, 'out-none'))).toBe(false);
  });

  test('every line malformed', async () => {
    const bad = join(dir, 'bad.log');
    await writeFile(bad, '{not json\n[]\n{"start_time": "yesterday"}\n');
    for (const argv of commands([bad], join(dir, 'out-bad'))) {
      const r = cliProcess(argv);
      expect(r.status).toBe(1);
      expectOneErrorLine(r, /all 3 lines of 1 file \(.*bad\.log\) were skipped as malformed \(first: .*bad\.log:1, not JSON\)$/);
    }
    expect(existsSync(join(dir, 'out-bad'))).toBe(false);
  });

  test('no line at all: an empty file, or empty stdin', async () => {
    const empty = join(dir, 'empty.log');
    await writeFile(empty, '');
    const r = cliProcess(['recommend', '--flows', empty, '--out', join(dir, 'out-empty'), '--now', END]);
    expect(r.status).toBe(1);
    expectOneErrorLine(r, /1 file \(.*empty\.log\) held no lines to read$/);
    const stdin = cliProcess(['simulate', '--flows', '-', '--policies', policies, '--now', END], { input: '' });
    expect(stdin.status).toBe(1);
    expectOneErrorLine(stdin, /1 file \(<stdin>\) held no lines to read$/);
    expect(existsSync(join(dir, 'out-empty'))).toBe(false);
  });

  test('some lines malformed: a success, with a counted warning', async () => {
    const some = join(dir, 'some.log');
    await writeFile(some, `${good}\n{not json\n${good}\n`);
    const r = cliProcess(['recommend', '--flows', some, '--out', join(dir, 'out-some'), '--now', END]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\nWarnings \(\d+\):\n {2}1 of 3 lines were skipped as malformed \(see "Skipped" above\)\n/);
    const sim = cliProcess(['simulate', '--flows', some, '--policies', join(dir, 'out-some'), '--now', END]);
    expect(sim.status).toBe(0);
    expect(sim.stdout).toMatch(/\nWarnings \(1\):\n {2}1 of 3 lines were skipped as malformed/);
  });

  test('records all outside the window: a success, with a warning naming the window', () => {
    const r = cliProcess(['recommend', '--flows', flows, '--out', join(dir, 'out-late'), '--now', '2026-12-22T12:00:00Z', '--dry-run']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /\n {2}no flow record was learned from: \d+ of the 400 fell outside the window 2026-12-21T12:00:00Z to 2026-12-22T12:00:00Z \(check --now, or initialLookback in --config\)\n/,
    );
  });

  test('demo on the bundled samples succeeds', () => {
    const r = cliProcess(['demo']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('what a person reads', () => {
  test('a namespace whose window held no flows is not reported Stable', async () => {
    const out = join(dir, 'out-quiet');
    expect(cliProcess(['recommend', '--flows', flows, '--out', out, '--now', END]).status).toBe(0);
    // An hour later the same flows are in the window: unchanged past stabilizationPeriod (10m), Stable.
    const watched = cliProcess(['recommend', '--flows', flows, '--out', out, '--now', '2026-11-22T13:00:00Z']);
    expect(watched.stdout).toMatch(/^yaobank\s+Stable\s+unchanged/m);
    expect(watched.stdout).not.toContain('No flows in this window');
    // Three days later the window (24h) holds none of them: nothing watched yaobank.
    const quiet = cliProcess(['recommend', '--flows', flows, '--out', out, '--now', '2026-11-25T12:00:00Z']);
    expect(quiet.status).toBe(0);
    expect(quiet.stdout).toMatch(/^yaobank\s+Stabilizing\s+unchanged/m);
    expect(quiet.stdout).toContain('No flows in this window: yaobank (not Stable however long unchanged: nothing watched them).');
  });

  test("protocols by name: GRE, ESP and SCTP in the summary and the simulation, the rule keeping GRE's number", async () => {
    const gre = join(dir, 'gre.log');
    const line = (proto: string, port: number | null) => JSON.stringify({ ...JSON.parse(good), proto, dest_port: port });
    await writeFile(gre, `${[line('47', null), line('esp', null), line('132', 3868), good].join('\n')}\n`);
    const out = join(dir, 'out-gre');
    const r = cliProcess(['recommend', '--flows', gre, '--out', out, '--now', END]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ Allow GRE \(47\) to /);
    expect(r.stdout).toMatch(/ Allow ESP \(50\) to /);
    expect(r.stdout).toMatch(/ Allow SCTP 3868 to /);
    const policy = await readFile(join(out, 'namespace-isolation', 'yaobank.yaml'), 'utf8');
    expect(policy).toMatch(/protocol: 47\n/);
    expect(policy).toMatch(/protocol: SCTP\n/);
    const sim = cliProcess(['simulate', '--flows', gre, '--policies', out, '--now', END]);
    expect(sim.status).toBe(0);
    expect(sim.stdout).toMatch(/ GRE \(47\) +- /);
    expect(sim.stdout).toMatch(/ SCTP +3868 /);
  });
});

describe('one error format, --version', () => {
  test('--version prints the version package.json names', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = cliProcess([flag]);
      expect(r).toEqual({ status: 0, stdout: `${pkg.version}\n`, stderr: '' });
    }
  });

  test.each([
    [[], /a command is needed: recommend, simulate or demo \(--help shows usage\)$/],
    [['bogus'], /unknown command 'bogus' \(--help shows usage\)$/],
    [['recommend', '--flows', 'x'], /required option '--out <dir>' not specified \(--help shows usage\)$/],
    [['recommend', '--flows', 'x', '--out', 'y', '--bogus'], /unknown option '--bogus' \(--help shows usage\)$/],
    [
      ['recommend', '--flows', 'x', '--out', 'y', '--flavor', 'antrea'],
      /option '--flavor <flavor>' argument 'antrea' is invalid\. Allowed choices are calico, calico-enterprise, kubernetes, cilium\. \(--help shows usage\)$/,
    ],
    [
      ['recommend', '--flows', 'x', '--out', 'y', '--now', 'yesterday'],
      /--now: "yesterday" is not an RFC 3339 time such as 2026-11-22T12:00:00Z$/,
    ],
    [['recommend', '--flows', 'x', '--out', 'y', '--microsegment', 'A/B/C/D'], /--microsegment: "A\/B\/C\/D" is not a namespace or /],
  ])('usage error %j: exit 2, one line', (argv, message) => {
    const r = cliProcess(argv);
    expect(r.status).toBe(2);
    expectOneErrorLine(r, message);
  });

  test('run errors: exit 1, one line', () => {
    const missing = cliProcess(['simulate', '--flows', join(dir, 'nope.log'), '--policies', policies]);
    expect(missing.status).toBe(1);
    expectOneErrorLine(missing, /cannot read .*nope\.log: no such file or directory$/);
    const noPolicies = cliProcess(['simulate', '--flows', flows, '--policies', join(dir, 'nope')]);
    expect(noPolicies.status).toBe(1);
    expectOneErrorLine(noPolicies, /cannot read .*nope: no such directory$/);
  });

  test('a configuration: every problem at once under one line, each with its key path, in our words', async () => {
    const config = join(dir, 'scope.yml');
    await writeFile(config, 'flavour: calico\nmaxRules: many\nnamespaceSpec:\n  tierNmae: isolation\n  recStatus: on\ninterval: 10s\n');
    for (const command of [
      ['recommend', '--flows', flows, '--out', join(dir, 'out-config')],
      ['simulate', '--flows', flows, '--policies', policies],
    ]) {
      const r = cliProcess([...command, '--config', config]);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        [
          `policy-recommender: invalid configuration in ${config} (4 problems):`,
          '  maxRules: must be a number, not text',
          // YAML 1.2: `on` is text, not true.
          '  namespaceSpec.recStatus: must be one of Enabled, Disabled',
          '  namespaceSpec.tierNmae: unknown key (did you mean tierName?)',
          '  flavour: unknown key (did you mean flavor?)',
          // Checks across keys (interval against 30s and the other periods) wait until each key is valid.
          '',
        ].join('\n'),
      );
      expect(r.stderr).not.toMatch(/Invalid input|expected .*, received/);
    }
    expect(existsSync(join(dir, 'out-config'))).toBe(false);

    await writeFile(config, 'flavor: calico\n\tmaxRules: 3\n');
    const yaml = cliProcess(['recommend', '--flows', flows, '--out', join(dir, 'out-config'), '--config', config]);
    expect(yaml.status).toBe(1);
    expect(yaml.stderr.split('\n')[1]).toMatch(/^ {2}not valid YAML at line 2, column 1: /);
  });
});

describe('progress on stderr: only on a terminal', () => {
  test('the decision: a terminal that can redraw a line, unless turned off', () => {
    const tty = { isTTY: true } as unknown as NodeJS.WriteStream;
    const pipe = { isTTY: false } as unknown as NodeJS.WriteStream;
    expect(progressWanted({ stream: tty, env: {} })).toBe(true);
    expect(progressWanted({ stream: tty, env: { TERM: 'xterm-256color' } })).toBe(true);
    expect(progressWanted({ stream: pipe, env: {} })).toBe(false);
    expect(progressWanted({ stream: {} as NodeJS.WriteStream, env: {} })).toBe(false);
    expect(progressWanted({ stream: tty, env: { TERM: 'dumb' } })).toBe(false);
    expect(progressWanted({ stream: tty, env: { POLICY_RECOMMENDER_PROGRESS: '0' } })).toBe(false);
  });

  test('stderr a pipe: nothing but the summary, even when progress would be drawn at once', () => {
    const r = cliProcess(['recommend', '--flows', flows, '--out', join(dir, 'out-pipe'), '--now', END, '--dry-run'], {
      env: { POLICY_RECOMMENDER_PROGRESS_AFTER_MS: '0' },
    });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toMatch(/Flow logs|lines\/s|\u001b/);
  });

  const terminal = scriptCommand() === null ? test.skip : test;
  terminal('stderr a terminal (util-linux script): a bar of the bytes read, lines, rate and time, cleared before the summary', () => {
    const summary = join(dir, 'summary.txt');
    const r = cliInTerminal(['recommend', '--flows', flows, '--out', join(dir, 'out-tty'), '--now', END, '--dry-run'], {
      env: { POLICY_RECOMMENDER_PROGRESS_AFTER_MS: '0', TERM: 'xterm' },
      stdoutTo: summary,
    });
    expect(r.status).toBe(0);
    // cli-progress draws at the line's start and clears the line when it stops.
    expect(r.stdout).toMatch(/Flow logs \[[=-]+\] \d+% \| read [\d,]+ lines \([\d,-]+ lines\/s\), \d+s/);
    expect(r.stdout).toContain('\u001b[2K');
    return readFile(summary, 'utf8').then((text) => {
      expect(text).toMatch(/^Read 400 lines/m);
      expect(text).not.toMatch(/Flow logs|\u001b/);
    });
  });

  terminal('stdin on a terminal: no size to fill a bar with, so lines, rate and time only', async () => {
    const r = cliInTerminal(['simulate', '--flows', '-', '--policies', policies, '--now', END], {
      env: { POLICY_RECOMMENDER_PROGRESS_AFTER_MS: '0', TERM: 'xterm' },
    });
    // Nothing typed: script passes on the end of its own (empty) stdin, so the run ends with no line.
    expect(r.stdout).toMatch(/Flow logs: read 0 lines \(0 lines\/s\), 0s/);
    expect(r.stdout).toMatch(/\u001b\[2Kpolicy-recommender: 1 file \(<stdin>\) held no lines to read\r?\n$/);
    expect(r.status).toBe(1);
  });

  terminal('TERM=dumb: nothing drawn', () => {
    const summary = join(dir, 'summary-dumb.txt');
    const r = cliInTerminal(['recommend', '--flows', flows, '--out', join(dir, 'out-dumb'), '--now', END, '--dry-run'], {
      env: { POLICY_RECOMMENDER_PROGRESS_AFTER_MS: '0', TERM: 'dumb' },
      stdoutTo: summary,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
  });
});
