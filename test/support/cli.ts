// Running the command line in-process or as a process (as a person or a script runs it, stderr
// a pipe or a pseudo-terminal), and reading what it wrote.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.ts';
import { ConfigError, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';

/** `policy-recommender <argv>` with its exit code and output. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** The rows of a printed table (`simulate`'s), columns split on runs of two or more spaces. */
export function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('VERDICT'));
  const end = lines.indexOf('', start);
  return lines.slice(start + 1, end).map((l) => l.split(/ {2,}/));
}

/** The executable (bin `policy-recommender`). */
const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface ProcessResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `policy-recommender <argv>` as a process, stdout and stderr pipes (not terminals). */
export function cliProcess(
  argv: readonly string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ProcessResult {
  const r = spawnSync(process.execPath, [CLI_PATH, ...argv], {
    encoding: 'utf8',
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { ...process.env, ...options.env },
    ...(options.cwd !== undefined ? { cwd: options.cwd } : {}),
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** util-linux `script`, which runs a command on a pseudo-terminal without native modules; null where it is missing. */
export function scriptCommand(): string | null {
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /util-linux/.test(r.stdout) ? 'script' : null;
}

/**
 * `policy-recommender <argv>` with stdin, stdout and stderr on a pseudo-terminal (`script -qec`):
 * what a person at a terminal sees, both streams mixed, as the terminal received it. stdout may
 * be sent to a file by `stdoutTo` (a shell redirection), leaving only stderr on the terminal.
 */
export function cliInTerminal(argv: readonly string[], options: { env?: NodeJS.ProcessEnv; stdoutTo?: string } = {}): ProcessResult {
  const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, CLI_PATH, ...argv].map(quote).join(' ') + (options.stdoutTo ? ` > ${quote(options.stdoutTo)}` : '');
  const r = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', env: { ...process.env, ...options.env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Every file below `root`, relative to it, sorted; none when it does not exist. */
export async function filesIn(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

/** A recommendation configuration's problems as `path: message`; none when it is valid. */
export function configIssues(value: unknown): string[] {
  try {
    validateRecommendationConfig(value, 'test.yml');
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
}
