// `kubectl kustomize <dir>`: what Argo CD and Flux run on a policies directory with a kustomization,
// and fluxBuild: what Flux builds for one without (it generates the kustomization).

import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join, relative } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';

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

function kustomizeBuild(dir: string): KustomizeBuild {
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

/**
 * What Flux's kustomize-controller builds for a path (fluxcd/pkg kustomize/kustomize_generator.go,
 * findOrGenerateKustomization and scanManifests): the path's own kustomization if it has one
 * (kustomize's recognised names); otherwise a generated one whose `resources` are every .yaml/.yml
 * file below the path, walked in lexical order (Go's filepath.Walk), as `./<relative path>`, and
 * every sub-directory holding a kustomization, as `./<dir>`, not descended into. (Flux also
 * decodes each file as Kubernetes YAML, which `kubectl kustomize` does too.) A Flux Kustomization's
 * `spec.patches` are added to the kustomization, generated or not. It is written into a copy of the
 * directory, then `kubectl kustomize` builds it.
 */
export function fluxBuild(dir: string, patches: readonly unknown[] = []): KustomizeBuild {
  const hasKustomization = (d: string) => KUSTOMIZATION_FILES.some((name) => existsSync(join(d, name)) && statSync(join(d, name)).isFile());
  if (hasKustomization(dir) && patches.length === 0) return kustomizeBuild(dir);
  const copy = mkdtempSync(join(tmpdir(), 'flux-build-'));
  try {
    cpSync(dir, copy, { recursive: true });
    const own = KUSTOMIZATION_FILES.find((name) => existsSync(join(copy, name)));
    let kustomization: Record<string, unknown>;
    if (own !== undefined) {
      kustomization = parse(readFileSync(join(copy, own), 'utf8')) as Record<string, unknown>;
      rmSync(join(copy, own));
    } else {
      const resources: string[] = [];
      const walk = (d: string): void => {
        // filepath.Walk visits the entries of a directory in lexical order (os.ReadDir sorts by name).
        for (const name of readdirSync(d).sort()) {
          const path = join(d, name);
          if (statSync(path).isDirectory()) {
            if (hasKustomization(path)) resources.push(`./${relative(copy, path)}`);
            else walk(path);
          } else if (['.yaml', '.yml'].includes(extname(name))) resources.push(`./${relative(copy, path)}`);
        }
      };
      walk(copy);
      // Flux: no resources -> a placeholder namespace, to avoid "kustomization.yaml is empty".
      kustomization = {
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        ...(resources.length === 0 ? { namespace: '_placeholder' } : { resources }),
      };
    }
    // The Flux Kustomization's spec.patches are appended to the kustomization's (GenerateManifest).
    if (patches.length > 0)
      kustomization = { ...kustomization, patches: [...((kustomization['patches'] as unknown[] | undefined) ?? []), ...patches] };
    writeFileSync(join(copy, 'kustomization.yaml'), stringify(kustomization));
    return kustomizeBuild(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
