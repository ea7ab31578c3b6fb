// Which Kubernetes pod labels become Cilium identity labels, and so can be selected by a Cilium
// policy at all: Cilium's default label filter (pkg/labelsfilter/filter.go defaultLabelPrefixCfg,
// main = cilium/cilium-cli v0.19.7's vendor tree; 1.16.0 lacks only topology.kubernetes.io). A
// label an include pattern matches is kept, else one an exclude pattern matches is dropped; the
// patterns are regular expressions matched anywhere in the key (regexp MatchString). A selector
// naming a dropped label selects nothing.

/** The include patterns (filter.go; reserved labels are never pod labels). */
const KEPT: readonly RegExp[] = [
  /io\.kubernetes\.pod\.namespace/,
  /io\.cilium\.k8s\.namespace\.labels/,
  /app\.kubernetes\.io/,
  /io\.cilium\.k8s\.policy\.cluster/,
  /io\.cilium\.k8s\.policy\.serviceaccount/,
];

/** The exclude patterns (`!...` in filter.go), in its order. */
const DROPPED: readonly RegExp[] = [
  /io\.kubernetes/,
  /kubernetes\.io/,
  /statefulset\.kubernetes\.io\/pod-name/,
  /apps\.kubernetes\.io\/pod-index/,
  /batch\.kubernetes\.io\/job-completion-index/,
  /batch\.kubernetes\.io\/controller-uid/,
  /.*beta\.kubernetes\.io/,
  /k8s\.io/,
  /pod-template-generation/,
  /pod-template-hash/,
  /controller-revision-hash/,
  /controller-uid/,
  /annotation.*/,
  /etcd_node/,
  /topology\.kubernetes\.io/,
];

/** Is a pod label with this key among the endpoint's identity labels under Cilium's default filter? */
export function isIdentityLabelKey(key: string): boolean {
  if (KEPT.some((r) => r.test(key))) return true;
  return !DROPPED.some((r) => r.test(key));
}
