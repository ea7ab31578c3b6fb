// A flow source that reports what it read, skipped and failed to read to the metrics; otherwise
// the source it wraps, unchanged.

import type { FlowRecord } from '../../flows/record.ts';
import { type FlowSource, type TimeWindow, withChanges } from '../../flows/source.ts';
import type { AppMetrics } from './metrics.ts';

export interface FlowSourceLabels {
  readonly cluster: string;
  /** The kind of source: goldmane, elasticsearch, file. */
  readonly source: string;
}

/** Opens a source and counts a failure to open it as a flow-source error. */
export async function openInstrumented(
  open: () => Promise<FlowSource>,
  labels: FlowSourceLabels,
  metrics: AppMetrics,
): Promise<FlowSource> {
  let source: FlowSource;
  try {
    source = await open();
  } catch (e) {
    metrics.flowSourceErrors.inc({ ...labels });
    throw e;
  }
  return instrumentFlowSource(source, labels, metrics);
}

function instrumentFlowSource(source: FlowSource, labels: FlowSourceLabels, metrics: AppMetrics): FlowSource {
  return withChanges(source, {
    async read(window: TimeWindow, onRecord: (record: FlowRecord) => void): Promise<void> {
      const read = source.inputsRead;
      const skipped = source.skipped.total;
      const unlearnable = source.unlearnable.total;
      try {
        await source.read(window, onRecord);
      } catch (e) {
        metrics.flowSourceErrors.inc({ ...labels });
        throw e;
      } finally {
        metrics.flowInputsRead.inc({ ...labels }, source.inputsRead - read);
        metrics.flowInputsSkipped.inc({ ...labels }, source.skipped.total - skipped);
        metrics.flowInputsUnlearnable.inc({ ...labels }, source.unlearnable.total - unlearnable);
      }
    },
  });
}
