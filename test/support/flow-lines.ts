// Calico flow-log lines (the Enterprise JSON format) for tests that feed the App or CLI files.

export interface LineOptions {
  /** The namespace whose workload reports the flow. */
  readonly namespace: string;
  readonly direction: 'egress' | 'ingress';
  /** `ns:<namespace>`, `pub`, `pvt`. */
  readonly peer: string;
  readonly port: number;
  readonly proto?: string;
  /** Unix seconds (start); the record spans 5 minutes. */
  readonly at: number;
  readonly flows?: number;
}

export function flowLine(o: LineOptions): string {
  const local = { type: 'wep', name_aggr: 'app-5d7f9c-*', namespace: o.namespace };
  const remote = o.peer.startsWith('ns:')
    ? { type: 'wep', name_aggr: 'peer-7c9f-*', namespace: o.peer.slice(3) }
    : { type: 'net', name_aggr: o.peer, namespace: '-' };
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
    dest_port: o.port,
    proto: o.proto ?? 'tcp',
    action: 'allow',
    reporter: o.direction === 'egress' ? 'src' : 'dst',
    policies: { all_policies: [`0|__PROFILE__|__PROFILE__.kns.${reporting}|allow|0`] },
    num_flows: o.flows ?? 1,
  });
}
