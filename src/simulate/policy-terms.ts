// Terms both policy readers share (policy-set.ts for Calico objects, kubernetes-policy.ts for
// Kubernetes NetworkPolicy), in a module of their own so that neither imports the other's module.

export type Direction = 'ingress' | 'egress';

/** Calico gives every Kubernetes NetworkPolicy this order in the default tier. */
export const KUBERNETES_POLICY_ORDER = 1000;

/** A policy object Calico's validator would refuse: the simulator does not guess what it means. */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
}
