// Reading a window of flows from a source into observations, with the counts a person needs to
// trust them (inputs read, skipped and why): the first step of every run, the CLI's and the App's.

import { ipFamiliesOf, type RecommendationConfig } from '../config/recommendation-config.ts';
import { FlowAggregator, type Observations } from '../engine/aggregate.ts';
import type { LearnContext } from '../engine/learn.ts';
import type { FlowRecord } from './record.ts';
import type { SkipSummary } from './skip-report.ts';
import { type FlowSource, FlowSourceError, type FlowSourceKind, type TimeWindow } from './source.ts';

export interface FlowReading {
  /** The source's description (for logs and the command line: it may name paths and hosts). */
  readonly source: string;
  readonly kind: FlowSourceKind;
  readonly inputsRead: number;
  readonly skipped: SkipSummary;
  /** Well-formed inputs that carry nothing to learn, by reason. */
  readonly unlearnable: SkipSummary;
  readonly observations: Observations;
  readonly window: TimeWindow;
}

/** What the learner needs of the configuration (microsegmentation adds the per-workload layer). */
export function learnContext(config: RecommendationConfig, window: TimeWindow): LearnContext {
  const ctx = {
    window,
    clusterDomain: config.clusterDomain,
    tierName: config.namespaceSpec.tierName,
    ipFamilies: ipFamiliesOf(config),
    // Cilium's policies name nodes and the API server (toEntities): learned only for that flavour.
    ...(config.flavor === 'cilium' ? { entities: true } : {}),
    // Kubernetes policy cannot select a service's pods by the service (LearnContext.serviceEndpoints).
    ...(config.flavor === 'kubernetes' ? { serviceEndpoints: false } : {}),
  };
  return config.microsegmentation.enabled ? { ...ctx, workloadTierName: config.microsegmentation.tierName } : ctx;
}

export function lookbackWindow(config: RecommendationConfig, now: number): TimeWindow {
  return { from: now - config.initialLookback, to: now };
}

/**
 * Reads a source into observations, over the lookback window unless a narrower one is given.
 * `onRecord` also sees every record the source yields (in the window or not), for readers that
 * need more than the observations (the simulator).
 */
export async function readFlows(
  source: FlowSource,
  config: RecommendationConfig,
  now: number,
  window = lookbackWindow(config, now),
  onRecord?: (record: FlowRecord) => void,
): Promise<FlowReading> {
  const aggregator = new FlowAggregator(learnContext(config, window));
  if (onRecord === undefined && source.aggregate !== undefined) await source.aggregate(window, aggregator);
  else
    await source.read(
      window,
      onRecord === undefined
        ? (record) => aggregator.add(record)
        : (record) => {
            aggregator.add(record);
            onRecord(record);
          },
    );
  return {
    source: source.description,
    kind: source.kind,
    inputsRead: source.inputsRead,
    skipped: source.skipped.summary(),
    unlearnable: source.unlearnable.summary(),
    observations: aggregator.result(),
    window,
  };
}

/**
 * Why a reading gives a run nothing to go on, or null: no line at all, or every line malformed.
 * The command line fails on it (exit 1) rather than report a quiet success, before writing
 * anything; a reading with some malformed lines is a success with a warning (the summary's).
 */
function unusableReading(flows: FlowReading): string | null {
  if (flows.inputsRead === 0) return `${flows.source} held no lines to read`;
  if (flows.skipped.total === flows.inputsRead) {
    const first = flows.skipped.examples[0];
    const lines = flows.inputsRead === 1 ? 'the only line' : `all ${flows.inputsRead} lines`;
    return `${lines} of ${flows.source} were skipped as malformed${first ? ` (first: ${first.location}, ${first.reason})` : ''}`;
  }
  return null;
}

/** A reading the command line can work with, or a FlowSourceError saying why not. */
export function usableReading(flows: FlowReading): FlowReading {
  const why = unusableReading(flows);
  if (why !== null) throw new FlowSourceError(why);
  return flows;
}
