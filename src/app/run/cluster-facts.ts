// What the cluster says about itself beyond its flows, for one run: its Calico release, its IP
// families, its network sets and namespace labels. Read through the cluster context when the
// deployment gives one; what it says wins over the repository configuration (the cluster is the
// truth), and a difference is a warning. Nothing here stops a run: what cannot be read is said.

import type { ClusterContext, ClusterNamespace } from '../../cluster/cluster-context.ts';
import { ipFamilies } from '../../cluster/cluster-context.ts';
import type { IpFamily, RecommendationConfig } from '../../config/recommendation-config.ts';
import { calicoReleaseOf, ipFamiliesOf } from '../../config/recommendation-config.ts';
import type { NetworkSetFacts } from '../../engine/network-sets.ts';
import type { PolicySetOptions } from '../../simulate/policy-set.ts';

export interface ClusterFacts {
  /** The configuration with the cluster's release and IP families where the cluster told them. */
  readonly config: RecommendationConfig;
  readonly networkSets: readonly NetworkSetFacts[];
  /** For the simulator. */
  readonly simulation: PolicySetOptions;
  readonly warnings: readonly string[];
}

export async function clusterFacts(
  context: ClusterContext | null,
  config: RecommendationConfig,
  namespaces: readonly ClusterNamespace[] | null,
): Promise<ClusterFacts> {
  const warnings: string[] = [];
  let effective = config;
  let networkSets: NetworkSetFacts[] = [];
  if (context !== null) {
    const release = await context.calicoVersion();
    if (release === null) {
      warnings.push(
        `the cluster's Calico release is not known (${context.calicoVersionWarning ?? 'unknown reason'}): ${calicoReleaseOf(config)} is assumed`,
      );
    } else {
      if (config.calicoVersion !== null && config.calicoVersion !== release) {
        warnings.push(
          `calicoVersion says ${config.calicoVersion}, but the cluster runs Calico ${release}: the cluster's release is followed`,
        );
      }
      effective = { ...effective, calicoVersion: release };
    }
    try {
      const pools = await context.ipPools();
      const families = ipFamilies(pools);
      const found: IpFamily[] = [...(families.ipv4 ? ['IPv4' as const] : []), ...(families.ipv6 ? ['IPv6' as const] : [])];
      if (found.length > 0) {
        if (config.ipFamilies !== null && found.join() !== config.ipFamilies.join()) {
          warnings.push(
            `ipFamilies says ${config.ipFamilies.join(', ')}, but the cluster's IP pools are ${found.join(', ')}: the cluster's are followed`,
          );
        }
        effective = { ...effective, ipFamilies: found };
      }
    } catch (e) {
      warnings.push(
        `the cluster's IP pools cannot be read (${(e as Error).message}): ipFamilies ${ipFamiliesOf(config).join(', ')} is assumed`,
      );
    }
    try {
      networkSets = (await context.networkSets()).map((s) => ({ name: s.name, namespace: s.namespace, labels: s.labels, nets: s.nets }));
    } catch (e) {
      warnings.push(
        `the cluster's network sets cannot be read (${(e as Error).message}): they are selected by the labels flow records carry, or approximated`,
      );
    }
  }
  const simulation: PolicySetOptions = {
    calicoVersion: calicoReleaseOf(effective),
    ipFamilies: ipFamiliesOf(effective),
    networkSets,
    ...(namespaces ? { namespaces: new Map(namespaces.map((n) => [n.name, n.labels])) } : {}),
  };
  return { config: effective, networkSets, simulation, warnings };
}
