// Which of a run's observed flows belong to a unit: a namespace's, or some of its workloads' (those
// their policies select), learned ones and those with host endpoints.

import type { EndpointObservation, EndpointRef, HostEndpointObservation } from '../../engine/model.ts';
import { parseLabels, type Workload } from '../../engine/workloads.ts';
import { flowsOfEndpoints, flowsOfHostEndpoints, flowsOfObservations, type SimulatedFlow } from '../../simulate/would-deny.ts';
import type { LifecycleInput } from './unit.ts';

/** Observed flows, each with when it was last seen: what accepted policies are checked against. */
export interface CheckedFlow {
  readonly flow: SimulatedFlow;
  readonly lastSeen: number;
}

export function hostEndpointsOf(input: LifecycleInput, namespace: string): HostEndpointObservation[] {
  return input.fresh.hostEndpoints.filter((h) => h.local.namespace === namespace);
}

/** This run's flows of a namespace: learned ones and those with host endpoints. */
export function namespaceFlows(input: LifecycleInput, namespace: string): CheckedFlow[] {
  const atoms = input.fresh.byNamespace.get(namespace) ?? [];
  const hosts = hostEndpointsOf(input, namespace);
  return [
    ...flowsOfObservations(new Map([[namespace, atoms]])).map((flow, i) => ({ flow, lastSeen: atoms[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
}

/** This run's flows of some workloads of a namespace (learned ones and those with host endpoints). */
export function workloadFlows(input: LifecycleInput, namespace: string, workloads: readonly Workload[]): CheckedFlow[] {
  const observations = endpointsOf(input.fresh.endpoints, namespace, workloads);
  const hosts = input.fresh.hostEndpoints.filter((h) => workloadsSelect(workloads, namespace, h.local));
  return [
    ...flowsOfEndpoints(observations).map((flow, i) => ({ flow, lastSeen: observations[i]!.evidence.lastSeen })),
    ...flowsOfHostEndpoints(hosts).map((flow, i) => ({ flow, lastSeen: hosts[i]!.evidence.lastSeen })),
  ];
}

/** The microsegmentation observations of a namespace whose endpoint one of the workloads' policies selects. */
function endpointsOf(
  observations: readonly EndpointObservation[],
  namespace: string,
  workloads: readonly Workload[],
): EndpointObservation[] {
  return observations.filter((e) => workloadsSelect(workloads, namespace, e.local));
}

/** Does one of the workloads' policies (by their stable labels) select this endpoint of `namespace`? */
function workloadsSelect(workloads: readonly Workload[], namespace: string, endpoint: EndpointRef): boolean {
  if (endpoint.namespace !== namespace) return false;
  const labels = parseLabels(endpoint.labels);
  return workloads.some((w) => Object.keys(w.labels).length > 0 && Object.entries(w.labels).every(([k, v]) => labels[k] === v));
}
