// The unit data model of the accept-to-enforce lifecycle: what a run knows of a cluster
// (LifecycleInput), and what it decides each unit should propose now (LifecycleUnit, UnitChange).
// Pure data; the App adds what GitHub holds (its PR, the PR's state) around it.

import type { RecommendationConfig } from '../../config/recommendation-config.ts';
import type { EndpointObservation, HostEndpointObservation, ObservedAtom } from '../../engine/model.ts';
import type { NamespaceReport, Warning } from '../../engine/report.ts';
import type { RecommendationStatus } from '../../engine/status.ts';
import type { Workload } from '../../engine/workloads.ts';
import type { CalicoEdition } from '../../flows/source.ts';
import type { PolicySetOptions } from '../../simulate/policy-set.ts';
import type { TreeFiles } from '../../tree/tree.ts';
import type { NamespaceContext } from '../plan.ts';
import type { ProposalKey } from './unit-key.ts';

/** What the bot remembers about an accepted staged policy (in the dashboard's hidden state). */
export interface AcceptanceRecord {
  /** Hash of the policy file on the default branch: a new merge starts the clock again. */
  readonly hash: string;
  /** When a run first saw it accepted (unix seconds). */
  readonly since: number;
  /** When it last would have denied an observed flow (its last-seen time), if it did since. */
  readonly lastDenied?: number;
  /** Distinct observed flows it would have denied since (each counted in the run that saw it). */
  readonly denied: number;
  /** The pull request whose merge it was, when the run that first saw it found one. */
  readonly pr?: number;
}

/** The merge that brought an accepted unit's files to the default branch: its PR and when (unix seconds). */
export interface AcceptedMerge {
  readonly pr: number;
  readonly mergedAt: number;
}

/** A unit with an open PR: its key, and the policy files the PR holds (absent when a rebase was asked for). */
export interface OpenUnit {
  readonly key: ProposalKey;
  readonly memory?: TreeFiles;
  /**
   * The policy files the PR proposes (its state), a rebase asked for or not: Cilium's staging
   * checks the flows seen meanwhile against them, not against what this run regenerates.
   */
  readonly proposed?: TreeFiles;
  /** Cilium: since when its PR has seen nothing its policies would deny (the PR's state), if recorded. */
  readonly quietSince?: number;
}

export interface LifecycleInput {
  readonly cluster: string;
  /** The cluster's directory in the repository ('' = root). */
  readonly clusterPath: string;
  /** The default branch's files below the cluster path, keyed relative to it. */
  readonly tree: TreeFiles;
  readonly template: TreeFiles;
  readonly config: RecommendationConfig;
  /** This run's observations and those carried over from earlier runs. */
  readonly observations: {
    readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
    readonly endpoints: readonly EndpointObservation[];
  };
  /** This run's observations only (what the accepted policies are checked against). */
  readonly fresh: {
    readonly byNamespace: ReadonlyMap<string, readonly ObservedAtom[]>;
    readonly endpoints: readonly EndpointObservation[];
    /** Traffic with host endpoints (not learned, but decided by the policies). */
    readonly hostEndpoints: readonly HostEndpointObservation[];
  };
  readonly now: number;
  readonly namespaces?: NamespaceContext;
  /** What the simulation knows of the cluster: namespace labels, network sets, release, IP families. */
  readonly facts: PolicySetOptions;
  /** Which Calico the flows came from, when the source tells. */
  readonly calicoEdition?: CalicoEdition;
  readonly workloads?: readonly Workload[];
  /** Namespaces the cluster no longer has. */
  readonly deleted: ReadonlySet<string>;
  /** The units with an open PR, by key id, with the policy files it last proposed (its memory). */
  readonly open: ReadonlyMap<string, OpenUnit>;
  /** Acceptance records of this cluster, by namespace. */
  readonly accepted: Readonly<Record<string, AcceptanceRecord>>;
  /** Seconds an accepted staged policy must deny nothing before its enforcement is proposed. */
  readonly enforceAfter: number;
  /**
   * The end of the latest interval whose flows this run knows it lacks (a collector's gap, flows
   * the source no longer held): Cilium's staging counts quiet time from there, not across it.
   */
  readonly flowsMissingUntil?: number;
  /** By acceptance record id: the merged PR of a unit whose record is new (see acceptedUnits). */
  readonly merges?: ReadonlyMap<string, AcceptedMerge>;
  /** By key id: the policy files a unit no PR holds yet last proposed (the dashboard keeps them). */
  readonly held?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** What a unit's pull request proposes: files, and what the body says about them. */
export interface UnitChange {
  /** Repository paths whose content differs from the default branch. */
  readonly files: ReadonlyMap<string, string>;
  /** Which of those files are new. */
  readonly added: ReadonlySet<string>;
  /** Changes exactly when the files do. */
  readonly hash: string;
  readonly status: RecommendationStatus;
  readonly lastUpdated: string | null;
  /** The unit's policies: a namespace's, or its workloads' (reports carry their rules). */
  readonly reports: readonly NamespaceReport[];
  readonly warnings: readonly Warning[];
  /** The unit's policy files as proposed, relative to the cluster's path: the PR's memory. */
  readonly memory: Readonly<Record<string, string>>;
  /** What the proposed policies would do to the observed flows (simulated). */
  readonly simulation?: SimulationSummary;
  /**
   * Cilium, whose policies are enforced once merged: since when nothing the PR's policies would
   * deny was seen (from when it was first proposed); the PR is ready for review only after
   * `stabilizationPeriod` of it.
   */
  readonly quietSince?: number;
}

/** Observed flows run through the policies as the PR would leave them, as its question applies them. */
export interface SimulationSummary {
  /** Distinct flows (and the flow-log flows they stand for) checked. */
  readonly flows: number;
  readonly records: number;
  /** What was applied to answer the PR's question (one sentence). */
  readonly asked: string;
  readonly denied: readonly SimulatedFlowRow[];
  readonly indeterminate: readonly SimulatedFlowRow[];
  /** For enforcement: how long the accepted policy has denied nothing, since when (unix seconds). */
  readonly quietSince?: number;
  /** Cilium: when the PR's policies would last have denied an observed flow (unix seconds), if they would have. */
  readonly lastDenied?: number;
}

export interface SimulatedFlowRow {
  readonly direction: 'ingress' | 'egress';
  readonly endpoint: string;
  readonly peer: string;
  readonly protocol: string;
  readonly port: number | null;
  readonly flows: number;
  /** What decided (denied), or why it cannot be decided. */
  readonly reason: string;
}

/** One unit of a cluster, as the lifecycle decides it this run. */
export interface LifecycleUnit {
  readonly key: ProposalKey;
  /** The namespace the unit belongs to (null: cluster-wide). */
  readonly namespace: string | null;
  /** What the PR should propose now; null when nothing differs from the default branch. */
  readonly change: UnitChange | null;
  readonly status: RecommendationStatus | null;
  /** Why the unit no longer gets a pull request (namespace deleted, not selected, no longer ready to enforce), if so. */
  readonly gone: string | null;
  /** The unit's policies are on the default branch. */
  readonly accepted: boolean;
  /** Its policies on the default branch are enforced. */
  readonly enforced?: boolean;
  /** The namespace exists but `namespaceSpec` does not select it (or recommendations are disabled). */
  readonly notSelected?: boolean;
}

export interface Lifecycle {
  readonly units: LifecycleUnit[];
  /** Acceptance records to keep, by record id (a namespace, or `<namespace>.appsec[...]`). */
  readonly accepted: Record<string, AcceptanceRecord>;
  /** Per key id: what the dashboard says beside the unit's state. */
  readonly notes: Map<string, string>;
  /** For the cluster's dashboard section. */
  readonly warnings: readonly string[];
}
