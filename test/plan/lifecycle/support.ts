// A lifecycle's input for tests: flows aggregated as one run would, against a tree and a template.

import type { RecommendationConfig } from '../../../src/config/recommendation-config.ts';
import { FlowAggregator } from '../../../src/engine/aggregate.ts';
import { learnContext } from '../../../src/flows/read-flows.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import type { LifecycleInput } from '../../../src/plan/lifecycle/unit.ts';
import { CILIUM_TEMPLATE_DIR, loadTree } from '../../../src/tree/fs-tree.ts';
import { config, HOUR, loadTemplate, NOW } from '../../support/engine.ts';

export const DAY = 24 * HOUR;
export const ENFORCE_AFTER = 7 * DAY;

function observe(records: readonly FlowRecord[], cfg: RecommendationConfig, now: number) {
  const aggregator = new FlowAggregator(learnContext(cfg, { from: now - cfg.initialLookback, to: now }));
  aggregator.addAll(records);
  return aggregator.result();
}

/** This run's flows are all it observed (fresh = observations); the flavour's template. */
export async function lifecycleInput(
  tree: ReadonlyMap<string, string>,
  records: readonly FlowRecord[],
  changes: Partial<LifecycleInput> = {},
): Promise<LifecycleInput> {
  const cfg = changes.config ?? config();
  const now = changes.now ?? NOW;
  const observations = observe(records, cfg, now);
  return {
    cluster: 'prod',
    clusterPath: '',
    tree,
    template: cfg.flavor === 'cilium' ? await loadTree(CILIUM_TEMPLATE_DIR) : await loadTemplate(),
    config: cfg,
    observations,
    fresh: { byNamespace: observations.byNamespace, endpoints: observations.endpoints, hostEndpoints: [] },
    now,
    facts: {},
    deleted: new Set(),
    open: new Map(),
    accepted: {},
    enforceAfter: ENFORCE_AFTER,
    ...changes,
  };
}
