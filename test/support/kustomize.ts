// `kubectl kustomize <dir>`: what Argo CD and Flux run on a policies directory.

import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

let available: boolean | null = null;

/** Is `kubectl` on PATH (checked once)? */
export function kubectlAvailable(): boolean {
  if (available === null) {
    const probe = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 30_000 });
    available = probe.error === undefined && probe.status === 0;
  }
  return available;
}

export interface KustomizeBuild {
  readonly ok: boolean;
  /** Exit status and stderr, for failure messages. */
  readonly status: number | null;
  readonly stderr: string;
  /** The built objects (empty when the build failed). */
  readonly objects: readonly Record<string, unknown>[];
}

export function kustomizeBuild(dir: string): KustomizeBuild {
  const run = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
  if (run.error !== undefined) return { ok: false, status: null, stderr: String(run.error), objects: [] };
  if (run.status !== 0) return { ok: false, status: run.status, stderr: run.stderr.trim(), objects: [] };
  const objects = parseAllDocuments(run.stdout).flatMap((doc) => {
    const value: unknown = doc.toJS();
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? [value as Record<string, unknown>] : [];
  });
  return { ok: true, status: 0, stderr: run.stderr.trim(), objects };
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/** Every directory below `root` (itself included, dot-directories too) that holds a kustomization. */
export function kustomizationDirs(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true });
    if (entries.some((e) => e.isFile() && KUSTOMIZATION_FILES.includes(e.name))) found.push(dir);
    for (const e of entries) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(root);
  return found.sort();
}

/** The objects `kubectl kustomize dir` builds; a failed build throws with kustomize's message. */
export function builtObjects(dir: string): readonly Record<string, unknown>[] {
  const result = kustomizeBuild(dir);
  if (!result.ok) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`);
  return result.objects;
}
