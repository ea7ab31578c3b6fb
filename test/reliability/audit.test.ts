// The verdict of `npm run audit:production` (audit.ts) on npm's answers, offline: a clean report
// passes; a high or critical advisory fails; an audit that could not be made fails, never passes.

import { describe, expect, test } from '@jest/globals';
import { judgeAudit } from './audit.ts';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, unknown> = {}) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities,
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, ...counts, total: 0 } },
  });

describe('npm audit of production dependencies', () => {
  test('clean, or only low and moderate advisories: passes', () => {
    expect(judgeAudit(report({}), 0)).toEqual({ ok: true, message: expect.stringContaining('0 high, 0 critical') });
    expect(judgeAudit(report({ low: 2, moderate: 1 }), 0).ok).toBe(true);
  });

  test('a high or critical advisory fails, naming the packages', () => {
    const verdict = judgeAudit(
      report({ high: 1, critical: 1 }, { undici: { severity: 'high' }, 'form-data': { severity: 'critical' }, x: { severity: 'low' } }),
      1,
    );
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toMatch(/2 high or critical vulnerabilities: undici \(high\), form-data \(critical\)/);
  });

  test('no audit (the registry unreachable, or without the audit endpoint): fails clearly', () => {
    // What this workplace's registry answers (it has no audit endpoint).
    const refused = JSON.stringify({
      message: '405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk',
      statusCode: 405,
      body: '',
      error: { summary: '', detail: '' },
    });
    expect(judgeAudit(refused, 1)).toEqual({ ok: false, message: expect.stringMatching(/could not be made.*405 Method Not Allowed/) });
    expect(
      judgeAudit(JSON.stringify({ error: { code: 'ENOTFOUND', summary: 'request to https://registry.npmjs.org failed' } }), 1).ok,
    ).toBe(false);
    expect(judgeAudit('', 1).ok).toBe(false);
  });
});
