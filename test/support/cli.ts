// Running the command line in-process, and reading what it wrote.

import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../../src/cli/main.ts';
import { ConfigError, validateRecommendationConfig } from '../../src/config/recommendation-config.ts';

/** `policy-recommender <argv>` with its exit code and output. */
export async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

/** Every file below `root`, relative to it, sorted; none when it does not exist. */
export async function filesIn(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(root.length + 1)).sort();
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
