// Calico's recommendation status, derived (never stored, so it never causes churn): Learning right
// after the rules changed, Stabilizing after two intervals without change, Stable after the
// stabilization period.

export type RecommendationStatus = 'Learning' | 'Stabilizing' | 'Stable';

/** All times in seconds; lastUpdated null (never written) counts as just changed. */
export function recommendationStatus(
  lastUpdated: number | null,
  now: number,
  interval: number,
  stabilizationPeriod: number,
): RecommendationStatus {
  if (lastUpdated === null) return 'Learning';
  const elapsed = now - lastUpdated;
  if (elapsed > stabilizationPeriod) return 'Stable';
  if (elapsed > 2 * interval) return 'Stabilizing';
  return 'Learning';
}
