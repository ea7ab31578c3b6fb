// Test helpers for the Cilium evaluator: policies from YAML text (through the boundary parser)
// and flow ends written the way Hubble prints identity labels.

import { parseAllDocuments } from 'yaml';
import { type Label, parseIdentityLabel } from '../../../src/cilium/labels.ts';
import { parseCiliumPolicy } from '../../../src/cilium/parse-policy.ts';
import type { CiliumPolicy } from '../../../src/cilium/types.ts';
import type { CiliumPeer, ReservedEntity } from '../../../src/simulate/cilium/flow.ts';

/** Parses every document; a CiliumNetworkPolicy without namespace lands in `namespace` (as `kubectl apply -n`). */
export function policies(text: string, namespace = 'default'): CiliumPolicy[] {
  return parseAllDocuments(text).map((doc) => {
    const parsed = parseCiliumPolicy(doc.toJS(), { defaultNamespace: namespace });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
    return parsed.policy;
  });
}

function labels(texts: readonly string[]): Label[] {
  return texts.map((t) => parseIdentityLabel(t.includes(':') ? t : `k8s:${t}`)!);
}

/** A pod: `pod('t', 'kind=client')` (labels without a source are k8s labels). */
export function pod(namespace: string, ...labelTexts: string[]): CiliumPeer {
  return { kind: 'pod', namespace, labels: labels(labelTexts), ip: '10.0.1.2' };
}

export function entity(name: ReservedEntity, ip: string | null = null): CiliumPeer {
  return { kind: 'entity', entity: name, ip };
}

export function world(ip: string): CiliumPeer {
  return { kind: 'ip', ip };
}
