// A Mermaid graph of a policy's observed peers (a namespace's or a workload's) (GitHub renders Mermaid code blocks). Node ids
// are generated; labels are quoted and entity-escaped, so no name can change the graph's syntax.

export interface GraphEdge {
  readonly direction: 'ingress' | 'egress';
  /** Display name of the peer, e.g. `namespace kube-system` or `public internet`. */
  readonly peer: string;
  /** e.g. `TCP 80, 443`. */
  readonly traffic: string;
}

function label(value: string): string {
  return `"${value.replace(/[^A-Za-z0-9 ,./:*()\-_]/g, (c) => `#${c.codePointAt(0)};`)}"`;
}

/** `subject` is the centre's label, e.g. `namespace shop` or `deployment web`. */
export function trafficGraph(subject: string, edges: readonly GraphEdge[]): string {
  const ids = new Map<string, string>();
  const node = (peer: string) => {
    if (!ids.has(peer)) ids.set(peer, `p${ids.size}`);
    return ids.get(peer)!;
  };
  const lines = ['flowchart LR', `  ns[${label(subject)}]`];
  for (const edge of edges) {
    const id = node(edge.peer);
    lines.push(
      edge.direction === 'ingress'
        ? `  ${id}(${label(edge.peer)}) -->|${label(edge.traffic)}| ns`
        : `  ns -->|${label(edge.traffic)}| ${id}(${label(edge.peer)})`,
    );
  }
  return ['```mermaid', ...lines, '```'].join('\n');
}
