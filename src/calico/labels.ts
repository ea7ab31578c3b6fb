// The labels Calico itself gives endpoints and namespaces, and nothing more: selectors are
// evaluated against exactly these plus an object's own labels.
// - api/pkg/apis/projectcalico/v3/constants.go: LabelNamespace (workload endpoints and network
//   sets), LabelServiceAccount and LabelOrchestrator (workload endpoints).
// - libcalico-go/lib/backend/k8s/conversion/workload_endpoint_default.go: a pod's endpoint gets
//   namespace, orchestrator `k8s` and (with a service account) serviceaccount.
// - libcalico-go/lib/backend/syncersv1/updateprocessors/networksetprocessor.go: a NetworkSet gets
//   its own labels plus LabelNamespace; globalnetworksetprocessor.go: a GlobalNetworkSet only its own.
// - libcalico-go/lib/backend/k8s/conversion/conversion.go NamespaceToProfile: a namespace's labels
//   (as seen by namespaceSelector) are its own plus `projectcalico.org/name`.
// Nothing adds `projectcalico.org/name` or a kind label to network sets in open-source Calico.

export const NAMESPACE_LABEL = 'projectcalico.org/namespace';
export const ORCHESTRATOR_LABEL = 'projectcalico.org/orchestrator';
export const SERVICE_ACCOUNT_LABEL = 'projectcalico.org/serviceaccount';
/** A namespace's name, as namespaceSelector sees it (also on service accounts). */
export const NAME_LABEL = 'projectcalico.org/name';
/** Automatic host endpoints (calico-kube-controllers) carry this and the default-allow profile. */
export const CREATED_BY_LABEL = 'projectcalico.org/created-by';
