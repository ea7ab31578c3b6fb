// What the dashboard shows for each unit: decided by run/decide.ts, rendered by render/dashboard.ts.

/** What the dashboard shows for a unit. */
export type DashboardState =
  | 'Learning'
  | 'Stabilizing'
  | 'Ready for review'
  | 'Accepted'
  | 'Enforced'
  | 'Dismissed'
  | 'Edited'
  | 'Awaiting PR limits'
  | 'Closed as obsolete'
  | 'Not selected'
  | 'No traffic'
  | 'Error';
