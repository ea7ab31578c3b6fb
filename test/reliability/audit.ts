// `npm run audit:production`: npm audit of the production dependencies (what the image ships),
// failing on a high or critical advisory, and failing just as clearly when the audit cannot be
// made (no registry, or a registry without the audit endpoint): never a silent pass. It needs the
// package registry, so it is not part of `npm test` (whose tests reach only 127.0.0.1).

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface AuditVerdict {
  readonly ok: boolean;
  readonly message: string;
}

const LEVELS = ['info', 'low', 'moderate', 'high', 'critical'] as const;

/** Judges `npm audit --json` output: what npm printed and how it exited. */
export function judgeAudit(json: string, exitCode: number | null): AuditVerdict {
  let report: {
    metadata?: { vulnerabilities?: Partial<Record<(typeof LEVELS)[number], number>> };
    vulnerabilities?: Record<string, { severity?: string; via?: unknown[] }>;
    message?: string;
    error?: { summary?: string; code?: string };
  };
  try {
    report = JSON.parse(json) as typeof report;
  } catch {
    return { ok: false, message: `npm audit did not answer with a report (exit ${exitCode}): ${json.slice(0, 200) || 'no output'}` };
  }
  const counts = report.metadata?.vulnerabilities;
  if (counts === undefined) {
    const why = report.message || report.error?.summary || report.error?.code || 'no report';
    return { ok: false, message: `the audit could not be made, so nothing is known about the production dependencies: ${why}` };
  }
  const serious = (counts.high ?? 0) + (counts.critical ?? 0);
  const summary = LEVELS.map((l) => `${counts[l] ?? 0} ${l}`).join(', ');
  if (serious > 0) {
    const names = Object.entries(report.vulnerabilities ?? {})
      .filter(([, v]) => v.severity === 'high' || v.severity === 'critical')
      .map(([name, v]) => `${name} (${v.severity})`);
    return {
      ok: false,
      message: `production dependencies have ${serious} high or critical vulnerabilities: ${names.join(', ')} [${summary}]`,
    };
  }
  return { ok: true, message: `no high or critical vulnerability in production dependencies [${summary}]` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const npm = spawnSync('npm', ['audit', '--omit=dev', '--audit-level=high', '--json'], { encoding: 'utf8', timeout: 120_000 });
  const verdict = npm.error ? { ok: false, message: `npm audit could not run: ${npm.error.message}` } : judgeAudit(npm.stdout, npm.status);
  console.log(`${verdict.ok ? 'ok' : 'FAILED'}: ${verdict.message}`);
  process.exitCode = verdict.ok ? 0 : 1;
}
