// A normalised flow record (Hubble's, through flows/sources/hubble/to-record.ts, or a Calico flow
// log's), or the flows the engine's observations stand for (would-deny.ts), as the Cilium evaluator
// reads it. What a record does not carry stays unknown: the labels
// Cilium adds to a pod's identity (namespace labels, service account) are stripped from records,
// so a selector on them answers "unknown", never "no".

import { parseIdentityLabel, SOURCE_K8S } from '../../cilium/labels.ts';
import type { SelectorKey } from '../../cilium/types.ts';
import type { FlowEnd } from '../endpoint.ts';
import type { FlowFacts } from '../evaluate.ts';
import type { CiliumFlow, CiliumPeer } from './flow.ts';

/**
 * Keys Cilium adds to every pod's identity (pkg/k8s/apis/cilium.io/const.go, v1.16.0 and main:
 * PodNamespaceMetaLabelsPrefix `io.cilium.k8s.namespace.labels.`, PolicyLabelServiceAccount
 * `io.cilium.k8s.policy.serviceaccount`, PolicyLabelCluster), which records do not carry; the
 * evaluator adds the namespace and cluster labels itself (match-rule.ts peerIdentity).
 */
const META_PREFIXES = ['io.cilium.'];

/** Whether a record's pod labels tell that a label with this key is absent. */
function absenceKnown(key: SelectorKey): boolean {
  return !META_PREFIXES.some((p) => key.key.startsWith(p));
}

/** `key=value` pod labels of a record (Kubernetes labels, from a Calico log or Hubble's `k8s:` labels). */
function podLabels(labels: readonly string[]) {
  return labels.map((text) => parseIdentityLabel(`${SOURCE_K8S}:${text}`)!);
}

function peerOf(end: FlowEnd): CiliumPeer {
  if (end.entity !== undefined && end.entity !== 'world') return { kind: 'entity', entity: end.entity, ip: end.ip };
  switch (end.type) {
    case 'wep':
      // No labels at all: the log may have left them out (Calico's flowLogsFileIncludeLabels), or
      // the end stands for any pod of its namespace (would-deny.ts flowsOfObservations): none is
      // known absent, but the namespace (and cluster) labels Cilium gives every pod are known.
      if (end.namespace !== null)
        return {
          kind: 'pod',
          namespace: end.namespace,
          labels: end.labels.length === 0 ? [] : podLabels(end.labels),
          absenceKnown: end.labels.length === 0 ? () => false : absenceKnown,
          ip: end.ip,
        };
      break;
    case 'hep':
      // A Calico host endpoint: a node of the cluster, this one or another (which one, the record does not say).
      return { kind: 'entity', entity: 'remote-node', labels: null, ip: end.ip };
    case 'ns':
    case 'net':
      break;
  }
  return end.ip === null ? { kind: 'entity', entity: 'world', ip: null } : { kind: 'ip', ip: end.ip };
}

/** The flow as Cilium decides it at the end that reported it (egress at the source, ingress at the destination). */
export function ciliumFlowOf(record: FlowFacts): CiliumFlow {
  return {
    source: peerOf(record.source),
    destination: peerOf(record.dest),
    protocol: record.protocol,
    destPort: record.destPort,
    destNames: record.destDomains.length > 0 ? record.destDomains : null,
    direction: record.reporter === 'src' ? 'egress' : 'ingress',
  };
}
