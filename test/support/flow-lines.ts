// Calico flow-log lines (the Enterprise JSON format) for tests that feed the App or CLI files.

export interface LineOptions {
  /** The namespace whose workload reports the flow. */
  readonly namespace: string;
  readonly direction: 'egress' | 'ingress';
  /** `ns:<namespace>`, `hep:<node>` (a host endpoint), `ns-set:<global network set>`, `pub`, `pvt`. */
  readonly peer: string;
  readonly port: number;
  readonly proto?: string;
  /** Unix seconds (start); the record spans 5 minutes. */
  readonly at: number;
  readonly flows?: number;
  /** The reporting workload's aggregated name and labels (default `app-5d7f9c-*`, none). */
  readonly workload?: string;
  readonly labels?: readonly string[];
  /** A workload peer's aggregated name and labels (default `peer-7c9f-*`, none). */
  readonly peerWorkload?: string;
  readonly peerLabels?: readonly string[];
}

export function flowLine(o: LineOptions): string {
  const local = { type: 'wep', name_aggr: o.workload ?? 'app-5d7f9c-*', namespace: o.namespace, labels: o.labels ?? [] };
  const remote = o.peer.startsWith('ns:')
    ? { type: 'wep', name_aggr: o.peerWorkload ?? 'peer-7c9f-*', namespace: o.peer.slice(3), labels: o.peerLabels ?? [] }
    : o.peer.startsWith('hep:')
      ? { type: 'hep', name_aggr: o.peer.slice(4), namespace: '-', labels: o.peerLabels ?? [] }
      : o.peer.startsWith('ns-set:')
        ? { type: 'ns', name_aggr: o.peer.slice(7), namespace: '-', labels: o.peerLabels ?? [] }
        : { type: 'net', name_aggr: o.peer, namespace: '-', labels: [] };
  const [src, dst] = o.direction === 'egress' ? [local, remote] : [remote, local];
  const reporting = o.namespace;
  return JSON.stringify({
    start_time: o.at,
    end_time: o.at + 300,
    source_ip: null,
    source_name: '-',
    source_name_aggr: src.name_aggr,
    source_namespace: src.namespace,
    source_type: src.type,
    dest_ip: null,
    dest_name: '-',
    dest_name_aggr: dst.name_aggr,
    dest_namespace: dst.namespace,
    dest_type: dst.type,
    ...(src.labels.length > 0 ? { source_labels: { labels: src.labels } } : {}),
    ...(dst.labels.length > 0 ? { dest_labels: { labels: dst.labels } } : {}),
    dest_port: o.port,
    proto: o.proto ?? 'tcp',
    action: 'allow',
    reporter: o.direction === 'egress' ? 'src' : 'dst',
    policies: { all_policies: [`0|__PROFILE__|__PROFILE__.kns.${reporting}|allow|0`] },
    num_flows: o.flows ?? 1,
  });
}
