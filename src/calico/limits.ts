// Size limits of Calico's policy objects. From 3.33 the projectcalico.org/v3 CRDs carry them
// (api/config/crd/projectcalico.org_networkpolicies.yaml and the staged and global kinds:
// `maxItems` of ingress/egress, nets/notNets, ports/notPorts; `maxLength` of every selector); the
// label names within a selector have their own limit (MAX_LABEL_LENGTH in selector.ts). The recommender writes within them whatever the cluster's release, so that a
// policy stays valid when the cluster is upgraded.

/** Rules per direction (ingress, egress). */
export const MAX_RULES_PER_DIRECTION = 1024;
/** Entries of an entity rule's `nets` or `notNets`. */
export const MAX_NETS = 256;
/** Entries of an entity rule's `ports` or `notPorts`. */
export const MAX_PORTS = 50;
/** Characters of a selector (`selector`, `namespaceSelector`, `notSelector`, a policy's selector). */
export const MAX_SELECTOR_CHARS = 1024;
