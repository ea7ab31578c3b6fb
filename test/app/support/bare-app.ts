// The App on its own, for tests of its HTTP edge (Probot's server, signatures, body limits, ops
// endpoints): no flows, no template, no schedules; and a delivery it handles without any request.

import { type AppOptions, policyRecommenderApp } from '../../../src/app/app.ts';
import { FlowSourceError } from '../../../src/flows/source.ts';

/** The App with a flow source that always fails (a run would only report it) and `extra` options. */
export function appWithoutFlows(extra: Partial<AppOptions> = {}): ReturnType<typeof policyRecommenderApp> {
  return policyRecommenderApp({
    scheduleDefaults: { schedule: '0 * * * *', timezone: 'UTC' },
    openFlowSource: async () => {
      throw new FlowSourceError('no flows here');
    },
    template: new Map(),
    engineVersion: 'test',
    scheduleOnLoad: false,
    ...extra,
  });
}

/** An `issues.edited` payload about an issue that is not the dashboard: handled without any GitHub request. */
export function editedIssuePayload(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    action: 'edited',
    issue: { number: 3, body: 'hello', labels: [] },
    changes: {},
    repository: { name: 'policies', owner: { login: 'acme' }, default_branch: 'main' },
    installation: { id: 7 },
    sender: { login: 'someone', type: 'User' },
    ...extra,
  };
}
