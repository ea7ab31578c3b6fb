#!/usr/bin/env node

// The command line: `recommend` (flow logs -> a policies directory), `simulate` (flow logs
// against a policies directory: what would be allowed or denied) and `demo`. Usage errors exit
// 2, run errors exit 1, each with one line `policy-recommender: ...` on stderr (an invalid
// configuration's problems follow it, one a line); warnings never change the exit code. Input
// that gives a run nothing to go on (no flow-log file, no line, every line malformed) is a run
// error, not a quiet success.

import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { isDnsLabel } from '../calico/names.ts';
import {
  ConfigError,
  DEFAULT_CONFIG,
  FLAVORS,
  type Flavor,
  microsegmentationIssues,
  parseRecommendationConfig,
  parseWorkloadSelection,
  type RecommendationConfig,
  WORKLOAD_SELECTION_SYNTAX,
} from '../config/recommendation-config.ts';
import { parseTime } from '../engine/provenance.ts';
import { type FlowSource, FlowSourceError } from '../flows/source.ts';
import { FileFlowSource } from '../flows/sources/file-source.ts';
import { TreeWriteError } from '../tree/fs-tree.ts';
import { KustomizationError } from '../tree/kustomize.ts';
import { packageVersion } from '../util/package-version.ts';
import { YamlError } from '../yaml/document.ts';
import { runDemo } from './demo.ts';
import { renderDiff } from './diff.ts';
import { type ProgressOptions, withProgress } from './progress.ts';
import { recommendIntoDirectory } from './recommend-directory.ts';
import { simulationJson, simulationLines } from './render-simulation.ts';
import { PoliciesDirectoryError, simulateDirectory } from './simulate-directory.ts';
import { renderSummary } from './summary.ts';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

interface RecommendOptions {
  flows: string[];
  out: string;
  flavor?: Flavor;
  config?: string;
  now?: string;
  dryRun?: boolean;
  microsegment?: string[];
}

interface SimulateOptions {
  flows: string[];
  policies: string;
  config?: string;
  now?: string;
  enforcedOnly?: boolean;
  json?: boolean;
}

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  stdin?: AsyncIterable<Buffer>;
  /** Where progress is drawn, when it is a terminal (the process's stderr); none in-process. */
  progress?: ProgressOptions;
}

/** The one prefix of every error and usage message. */
export const PREFIX = 'policy-recommender';

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const program = new Command('policy-recommender')
    .description('Recommends Calico network policies from flow logs, as files for a GitOps repository.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s.trimEnd()),
      writeErr: (s) => io.stderr(s.trimEnd()),
      // Commander's "error: unknown option '--x'" in our one format, with where help is.
      outputError: (s, write) => write(`${PREFIX}: ${s.trim().replace(/^error: /, '')} (--help shows usage)`),
    })
    .showHelpAfterError(false);
  let exitCode = 0;

  program
    .command('recommend')
    .description('Learn from flow logs and write (or update) recommended policies in a directory')
    .requiredOption('--flows <path...>', 'Calico flow-log files or directories (*.log, *.json, *.jsonl, optionally .gz), or - for stdin')
    .requiredOption('--out <dir>', 'the policies directory to create or update')
    .addOption(new Option('--flavor <flavor>', "output flavour (default: calico, or the config file's)").choices(FLAVORS))
    .option('--config <file>', "recommendation settings (YAML; the keys of Calico's PolicyRecommendationScope)")
    .option('--now <time>', 'evaluation time, RFC 3339 (default: the current time)')
    .option('--dry-run', 'print a unified diff of what would change and write nothing')
    .option(
      '--microsegment <namespace-or-workload...>',
      "also recommend per-workload policies (microsegmentation, in tier appsec unless configured otherwise) for every workload of a namespace, or for one workload (<ns>/<name> or <ns>/<Kind>/<name>); adds to the config file's microsegmentation.select",
    )
    .action(async (options: RecommendOptions) => {
      exitCode = await recommend(options, io);
    });

  program
    .command('simulate')
    .description('Decide every observed flow with a policies directory: allowed or denied, by which policy and rule')
    .requiredOption(
      '--flows <path...>',
      'Calico flow-log files, Hubble exports or `hubble observe -o jsonpb` output, or directories of them (*.log, *.json, *.jsonl, optionally .gz), or - for stdin',
    )
    .requiredOption(
      '--policies <dir>',
      "the policies directory: Calico's (tiers, Calico and Kubernetes policies, network sets) or Cilium's (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy)",
    )
    .option('--config <file>', 'recommendation settings (YAML); initialLookback sets the window')
    .option('--now <time>', 'end of the window, RFC 3339 (default: the current time)')
    .option('--enforced-only', 'evaluate enforced policies only (default: staged policies as if enforced; Cilium has no staged policies)')
    .option('--json', 'print one JSON document instead of the report')
    .action(async (options: SimulateOptions) => {
      exitCode = await simulate(options, io);
    });

  program
    .command('demo')
    .description('Run the recommender on the bundled sample flows into a fresh directory')
    .action(async () => {
      exitCode = await runDemo(io, openFlows);
    });

  if (argv.length === 0) {
    // Commander would print the whole help on stderr and exit 1: say it in one line, as a usage error.
    io.stderr(`${PREFIX}: a command is needed: recommend, simulate or demo (--help shows usage)`);
    return 2;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    return reportError(e, io);
  }
}

function nowOption(text: string | undefined): number {
  const now = text === undefined ? Math.floor(Date.now() / 1000) : parseTime(text);
  if (now === null) throw new UsageError(`--now: "${text}" is not an RFC 3339 time such as 2026-11-22T12:00:00Z`);
  return now;
}

/**
 * The flow-log files the paths name, reading with progress on a terminal. No file at all (a
 * directory without flow logs) is a run error: the App's file source may wait for files to
 * come, the command line is told where they are.
 */
export async function openFlows(paths: readonly string[], io: Io): Promise<FlowSource> {
  const source = await FileFlowSource.open(paths, io.stdin ? { stdin: io.stdin } : {});
  if (source.files.length === 0) {
    throw new FlowSourceError(
      `no flow-log files in ${paths.join(', ')} (a directory is searched for *.log, *.json, *.jsonl and their .gz forms)`,
    );
  }
  return io.progress === undefined ? source : withProgress(source, io.progress);
}

async function recommend(options: RecommendOptions, io: Io): Promise<number> {
  const now = nowOption(options.now);
  const config = microsegment(await loadConfig(options.config, options.flavor), options.microsegment ?? [], options.flavor !== undefined);
  const source = await openFlows(options.flows, io);
  const run = await recommendIntoDirectory({ source, outDir: options.out, config, now, dryRun: options.dryRun === true });
  if (options.dryRun) {
    const diff = renderDiff(run.before, run.plan.changes);
    if (diff !== '') io.stdout(diff);
  }
  io.stdout(renderSummary(run, options.out, options.dryRun === true));
  return 0;
}

/** A report: denied flows are its subject, not a failure, so it exits 0. */
async function simulate(options: SimulateOptions, io: Io): Promise<number> {
  const now = nowOption(options.now);
  const config = await loadConfig(options.config, undefined);
  const source = await openFlows(options.flows, io);
  const sim = await simulateDirectory({
    source,
    policiesDir: options.policies,
    config,
    now,
    view: options.enforcedOnly ? 'enforced' : 'staged',
  });
  if (options.json) io.stdout(simulationJson(sim));
  else {
    // A batch of lines at a time: the table has a line per distinct flow (simulate.ts).
    let batch: string[] = [];
    for (const line of simulationLines(sim)) {
      batch.push(line);
      if (batch.length === 10_000) {
        io.stdout(`${batch.join('\n')}\n`);
        batch = [];
      }
    }
    if (batch.length > 0) io.stdout(`${batch.join('\n')}\n`);
  }
  return 0;
}

async function loadConfig(path: string | undefined, flavor: Flavor | undefined): Promise<RecommendationConfig> {
  let config = DEFAULT_CONFIG;
  if (path !== undefined) {
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      throw new ConfigError(path, [{ path: '', message: e.code === 'ENOENT' ? 'no such file' : e.message }]);
    });
    config = parseRecommendationConfig(text, path);
  }
  // --flavor is already one of FLAVORS (commander checks the choice).
  return flavor === undefined ? config : { ...config, flavor };
}

/**
 * `--microsegment` entries added to the configuration's selection (turning microsegmentation on),
 * and the check the configuration file had, now that the command line may have changed it.
 */
function microsegment(config: RecommendationConfig, entries: readonly string[], flavorGiven: boolean): RecommendationConfig {
  let result = config;
  if (entries.length > 0) {
    const namespaces = entries.filter((e) => !e.includes('/'));
    for (const ns of namespaces) if (!isDnsLabel(ns)) throw new UsageError(`--microsegment: "${ns}" is not a namespace name`);
    const workloads = entries
      .filter((e) => e.includes('/'))
      .map((e) => {
        const selection = parseWorkloadSelection(e);
        if (selection === null) throw new UsageError(`--microsegment: "${e}" is not a namespace or ${WORKLOAD_SELECTION_SYNTAX}`);
        return selection;
      });
    const m = config.microsegmentation;
    result = {
      ...config,
      microsegmentation: {
        ...m,
        enabled: true,
        select: {
          ...m.select,
          namespaces: [...new Set([...m.select.namespaces, ...namespaces])],
          workloads: [...m.select.workloads, ...workloads],
        },
      },
    };
  }
  const issue = entries.length > 0 || flavorGiven ? microsegmentationIssues(result)[0] : undefined;
  if (issue !== undefined)
    throw new UsageError(`${entries.length > 0 ? '--microsegment' : '--flavor'}: ${issue.path.join('.')}: ${issue.message}`);
  return result;
}

const KNOWN_ERRORS = [UsageError, ConfigError, FlowSourceError, TreeWriteError, KustomizationError, YamlError, PoliciesDirectoryError];

function reportError(e: unknown, io: Io): number {
  const known = KNOWN_ERRORS.some((type) => e instanceof type);
  if (e instanceof ConfigError) {
    // Every problem at once, each on its own line with its key path.
    io.stderr([`${PREFIX}: ${e.headline}`, ...e.issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`)].join('\n'));
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr(`${PREFIX}: ${message.split('\n')[0]}`);
  if (!known && process.env['DEBUG'] && e instanceof Error && e.stack) io.stderr(e.stack);
  return e instanceof UsageError ? 2 : 1;
}

/** This process's command line: its arguments, stdout and stderr, and the exit status in process.exitCode. */
export async function runCommandLine(): Promise<void> {
  const io: Io = {
    stdout: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    stderr: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
    progress: { stream: process.stderr, env: process.env },
  };
  process.exitCode = await main(process.argv.slice(2), io);
}

// `node src/cli/main.ts` (npm run demo, recommend); the installed command imports the built module
// from bin/policy-recommender.cjs instead, and calls runCommandLine itself.
if (import.meta.main) await runCommandLine();
