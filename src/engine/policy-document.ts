// A policy document (StagedNetworkPolicy, StagedKubernetesNetworkPolicy, CiliumNetworkPolicy) as
// the engine reads and updates it, typed once where it is read from the tree (plan/plan-policy.ts):
// the fields the engine reads have their types; every other field (people's additions, fields of
// later releases) is kept as written, so that what is written back differs only where the engine
// changed it. A document found to be valid is carried as it is (the same object, its key order
// and values untouched), as the rules are (calico/types.ts parseCalicoRule): parsing checks it,
// it never rewrites it.
//
// The rules in it stay `unknown`: each flavour parses them into its rule type (PolicyFlavor.parse).

import { z } from 'zod';

/** The previous policy is not something the engine can update (reported, never overwritten). */
export class PolicyShapeError extends Error {
  override readonly name = 'PolicyShapeError';
}

/** A direction's rules as written; null is a person's empty `ingress:`, kept as it is. */
const ruleList = z.array(z.unknown()).nullable().optional();
/** Calico's `types` and Kubernetes' `policyTypes`: the entries are kept as written. */
const typeList = z.array(z.unknown()).optional();

const policySpec = z.looseObject({
  ingress: ruleList,
  egress: ruleList,
  types: typeList,
  policyTypes: typeList,
  /** A CiliumNetworkPolicy's: compared with ours as written (a person's selector is theirs). */
  endpointSelector: z.unknown().optional(),
});
export type PolicySpec = z.infer<typeof policySpec>;

// ObjectMeta's types: Name and Namespace strings, Labels and Annotations map[string]string
// (k8s.io/apimachinery/pkg/apis/meta/v1/types.go, as cilium/cilium-cli v0.19.7 vendors it).
const policyMetadata = z.looseObject({
  name: z.string(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).nullable().optional(),
  // Values as written: a person's unquoted number or boolean is not a string (Kubernetes refuses it).
  annotations: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type PolicyMetadata = z.infer<typeof policyMetadata>;

// `spec` before `metadata`: with several problems, the first reported is the spec's, as before.
const policyDocument = z.looseObject({
  spec: policySpec,
  metadata: policyMetadata,
  apiVersion: z.string(),
  kind: z.string(),
});
export type PolicyDocument = z.infer<typeof policyDocument>;

const EXPECTED: Readonly<Record<string, string>> = { object: 'a mapping', record: 'a mapping', array: 'a list', string: 'a string' };

/**
 * The document as the engine's PolicyDocument (the same object), or PolicyShapeError naming the
 * first field that does not have its type (`spec.egress is not a list`).
 */
export function parsePolicyDocument(value: unknown): PolicyDocument {
  const parsed = policyDocument.safeParse(value);
  if (parsed.success) return value as PolicyDocument;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.map((k, i) =>
    typeof k === 'string' && /^[A-Za-z_]\w*$/.test(k) ? `${i > 0 ? '.' : ''}${k}` : `[${JSON.stringify(k)}]`,
  );
  const expected = issue.code === 'invalid_type' ? EXPECTED[issue.expected] : undefined;
  const field = where.join('') || 'the document';
  throw new PolicyShapeError(expected === undefined ? `${field}: ${issue.message}` : `${field} is not ${expected}`);
}

/**
 * What a plan reads of any policy it reports on, whether or not the engine could update it:
 * the annotations (lastUpdated, the workload) and the selector of the policy's pods. A field
 * without its type reads as absent; nothing is ever written from this view.
 */
const policyView = z.object({
  metadata: z
    .object({ annotations: z.record(z.string(), z.unknown()).nullable().optional().catch(undefined) })
    .optional()
    .catch(undefined),
  spec: z
    .object({
      /** Calico's selector. */
      selector: z.string().optional().catch(undefined),
      /** Cilium's endpointSelector: its matchLabels (values that are not strings are not labels). */
      endpointSelector: z
        .object({ matchLabels: z.record(z.string(), z.unknown()).optional().catch(undefined) })
        .optional()
        .catch(undefined),
    })
    .optional()
    .catch(undefined),
});
export type PolicyView = z.infer<typeof policyView>;

/** The view of a document that is a mapping; null otherwise. */
export function viewPolicy(value: unknown): PolicyView | null {
  const parsed = policyView.safeParse(value);
  return parsed.success ? parsed.data : null;
}
