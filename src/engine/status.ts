// Calico's recommendation status, derived (never stored, so it never causes churn): Learning right
// after the rules changed, Stabilizing after two intervals without change, Stable after the
// stabilization period. Time only counts as stability while the namespace (or workload) is
// watched: when this run's window held none of its flows, nothing tested its rules, so it is not
// called Stable (it stays Stabilizing, its PR a draft) until its traffic is seen again.

export type RecommendationStatus = 'Learning' | 'Stabilizing' | 'Stable';

/**
 * All times in seconds; lastUpdated null (never written) counts as just changed. `watched`: the
 * run's window held flows of the policy's subject.
 */
export function recommendationStatus(
  lastUpdated: number | null,
  now: number,
  interval: number,
  stabilizationPeriod: number,
  watched: boolean,
): RecommendationStatus {
  if (lastUpdated === null) return 'Learning';
  const elapsed = now - lastUpdated;
  if (elapsed > stabilizationPeriod) return watched ? 'Stable' : 'Stabilizing';
  if (elapsed > 2 * interval) return 'Stabilizing';
  return 'Learning';
}
