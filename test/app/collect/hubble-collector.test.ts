// The collector (src/app/collect/collector.ts) following Hubble Relay as it follows Goldmane: the
// replica that holds the Lease reads a Hubble cluster's flows continuously from a real gRPC peer on
// 127.0.0.1 (test/support/hubble-relay-server.ts, observer.proto GetFlows with follow), and runs
// read them from the collector.

import { afterEach, expect, test } from '@jest/globals';
import { FlowCollectors } from '../../../src/app/collect/collector.ts';
import { AppMetrics } from '../../../src/app/ops/metrics.ts';
import type { FlowRecord } from '../../../src/flows/record.ts';
import { openHubbleSource } from '../../../src/flows/sources/hubble/hubble-source.ts';
import { FakeClock } from '../../cluster/fake-clock.ts';
import { HubbleRelayTestServer, hubbleConfig, relayFlow } from '../../support/hubble-relay-server.ts';
import { metricSamples } from '../support/metric-samples.ts';

const START = 1_795_000_200;

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 4000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const stop: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stop.splice(0)) await s();
});

test('a Hubble cluster is collected continuously: runs read what was collected, as a hubble source without a Calico edition', async () => {
  const server = await HubbleRelayTestServer.start({ events: [relayFlow(START + 1), relayFlow(START + 2, { verdict: 'DROPPED' })] });
  const clock = new FakeClock({ start: (START + 60) * 1000 });
  const metrics = new AppMetrics();
  const collectors = new FlowCollectors({
    clusters: new Map([
      ['prod', { open: () => openHubbleSource(hubbleConfig(server.address), { backoffMs: 5, maxBackoffMs: 20 }), kind: 'hubble' as const }],
    ]),
    clock,
    metrics,
    calicoEdition: 'open-source',
  });
  stop.push(async () => {
    await collectors.stop();
    await server.stop();
  });
  collectors.start('the test started it');
  await until(() => server.openStreams === 1, 'the first connection');
  // Hubble is asked for an hour back: it sends what its nodes still hold.
  expect(server.requests[0]).toEqual({ follow: true, since: START + 60 - 3600, until: null });
  server.append(relayFlow(START + 20), relayFlow(START + 40));
  const collector = collectors.get('prod')!;
  const source = await collectors.openFlowSource('prod', () => openHubbleSource(hubbleConfig(server.address)));
  expect(source.kind).toBe('hubble');
  expect(source.calicoEdition).toBeUndefined();
  // One distinct flow (same endpoints and port) seen three times, held as one record with its span.
  let records: FlowRecord[] = [];
  await until(() => {
    records = [];
    void source.read({ from: START, to: START + 60 }, (r) => records.push(r));
    return records.length === 1 && records[0]!.numFlows === 3;
  }, 'the flows');
  expect(records[0]).toMatchObject({ startTime: START + 1, endTime: START + 40, numFlows: 3 });
  expect(source.unlearnable.summary().byReason).toEqual({ 'verdict DROPPED (dropped: it did not flow)': 1 });
  // Every flow is held from when collecting started (Hubble promises nothing before), up to the
  // newest flow minus the reordering margin (10 s).
  expect(collector.coverage(START + 60)).toMatchObject({ from: START + 60, to: START + 60 });
  server.append(relayFlow(START + 95));
  await until(() => collector.coverage(START + 100).to === START + 85, 'progress');
  expect(Object.keys(metricSamples(await metrics.registry.metrics(), 'policy_recommender_flow_inputs_read_total'))).toEqual([
    '{cluster="prod",source="hubble"}',
  ]);
});

test('a Relay that cannot be reached is said to be Hubble Relay, not Goldmane', async () => {
  const server = await HubbleRelayTestServer.start({ events: [] });
  const address = server.address;
  await server.stop();
  const clock = new FakeClock({ start: START * 1000 });
  const collectors = new FlowCollectors({
    clusters: new Map([
      ['prod', { open: () => openHubbleSource(hubbleConfig(address), { backoffMs: 5, maxBackoffMs: 20 }), kind: 'hubble' as const }],
    ]),
    clock,
  });
  stop.push(() => collectors.stop());
  collectors.start('the test started it');
  const collector = collectors.get('prod')!;
  expect(collector.coverage(START).before).toMatch(/has not reached Hubble Relay yet/);
  await clock.advance(120_000);
  await until(() => collector.unavailable(START + 120) !== null, 'the outage');
  expect(collector.unavailable(START + 120)).toMatch(/what Hubble Relay still holds then \(minutes of flows per node\) is collected/);
});
