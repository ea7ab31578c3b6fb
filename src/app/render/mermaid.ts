// A Mermaid graph of a policy's observed peers (a namespace's or a workload's) (GitHub renders Mermaid code blocks). Node ids
// are generated; labels are quoted and entity-escaped, so no name can change the graph's syntax.

export interface GraphEdge {
  readonly direction: 'ingress' | 'egress';
  /** Display name of the peer, e.g. `namespace kube-system` or `public internet`. */
  readonly peer: string;
  /** e.g. `TCP 80, 443`. */
  readonly traffic: string;
  /** The peer is the subject itself (a namespace's traffic within the namespace): drawn as a loop. */
  readonly self?: boolean;
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
  // Traffic within the subject is one loop on it: seen from either side it is the same traffic,
  // so ingress and egress rules that allow the same are drawn once; otherwise each loop says its direction.
  const loops = edges.filter((e) => e.self === true);
  const same = loops.length === 2 && loops[0]!.traffic === loops[1]!.traffic;
  for (const loop of same ? loops.slice(0, 1) : loops) {
    lines.push(`  ns -->|${label(same ? loop.traffic : `${loop.direction}: ${loop.traffic}`)}| ns`);
  }
  for (const edge of edges) {
    if (edge.self === true) continue;
    const id = node(edge.peer);
    lines.push(
      edge.direction === 'ingress'
        ? `  ${id}(${label(edge.peer)}) -->|${label(edge.traffic)}| ns`
        : `  ns -->|${label(edge.traffic)}| ${id}(${label(edge.peer)})`,
    );
  }
  return ['```mermaid', ...lines, '```'].join('\n');
}
