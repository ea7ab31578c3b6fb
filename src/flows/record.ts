// The normalised flow record every flow source yields and the engine consumes. Sources validate
// at their boundary, so every name here is already a valid Kubernetes name and safe to render.

import type { Protocol } from '../calico/protocol.ts';

/** `wep` workload (pod), `hep` host endpoint, `ns` network set, `net` a network (`pub` / `pvt`). */
export type EndpointType = 'wep' | 'hep' | 'ns' | 'net';

export interface FlowEndpoint {
  readonly type: EndpointType;
  /** Aggregated name: a pod-name prefix (`customer-6b687c8dcb-*`), a network set name, or `pub` / `pvt`. */
  readonly name: string;
  /** Null when not namespaced (global network sets, networks, host endpoints). */
  readonly namespace: string | null;
  /** `key=value` strings as the flow log reports them. */
  readonly labels: readonly string[];
  /** Null when the flow log aggregated it away. */
  readonly ip: string | null;
}

export type PolicyHitAction = 'allow' | 'deny' | 'pass' | 'log';

/** One entry of a policy trace: `<index>|<tier>|<policy>|<action>|<rule index>`. */
export interface PolicyHit {
  readonly index: number;
  readonly tier: string;
  /** The policy as named in the trace, e.g. `yaobank/namespace-isolation.staged:x` or `__PROFILE__.kns.yaobank`. */
  readonly policy: string;
  readonly action: PolicyHitAction;
  /** -1 means the tier's default action (no rule matched). */
  readonly ruleIndex: number;
}

export interface PolicyTrace {
  readonly all: readonly PolicyHit[] | null;
  readonly pending: readonly PolicyHit[] | null;
  readonly enforced: readonly PolicyHit[] | null;
}

export interface DestinationService {
  readonly name: string;
  readonly namespace: string | null;
  readonly portName: string | null;
  readonly port: number | null;
}

export interface FlowRecord {
  /** Unix seconds. */
  readonly startTime: number;
  readonly endTime: number;
  readonly source: FlowEndpoint;
  readonly dest: FlowEndpoint;
  readonly destPort: number | null;
  readonly destService: DestinationService | null;
  /** Lowercase DNS names, possibly `*.`-wildcards, as observed by DNS policy / DNS logs. */
  readonly destDomains: readonly string[];
  readonly protocol: Protocol;
  readonly action: 'allow' | 'deny';
  readonly reporter: 'src' | 'dst';
  /** Null when the record carries no policy trace at all. */
  readonly policies: PolicyTrace | null;
  readonly numFlows: number;
}
