// Configuration errors name the key path of every problem, for people and for the dashboard.

import type { z } from 'zod';

export interface ConfigIssue {
  /** Dotted key path, e.g. `namespaceSpec.tierName`; empty for the document itself. */
  readonly path: string;
  readonly message: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  constructor(source: string, issues: readonly ConfigIssue[]) {
    super(`invalid configuration in ${source}: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.issues = issues;
  }
}

/** zod's issues as ConfigIssues; an unknown key is reported at its own path. */
export function configIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue): ConfigIssue[] => {
    const path = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: path ? `${path}.${key}` : key, message: 'unknown key' }));
    // A record's key that fails its own check: say why, not just "invalid key".
    if (issue.code === 'invalid_key') return [{ path, message: issue.issues[0]?.message ?? issue.message }];
    // zod says "expected string, received undefined" for a key that is simply not there.
    if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return [{ path, message: `required (${issue.expected})` }];
    return [{ path, message: issue.message }];
  });
}
