import { calicoReleaseOf, ipFamiliesOf, type RecommendationConfig } from '../../config/recommendation-config.ts';
import type { CalicoEdition } from '../../flows/source.ts';
import type { NetworkSetDirectory } from '../network-sets.ts';
import { calicoFlavor } from './calico.ts';
import { ciliumFlavor } from './cilium.ts';
import type { PolicyFlavor } from './flavor.ts';
import { kubernetesFlavor } from './kubernetes.ts';

/** What a plan knows beyond the configuration that changes how rules are written. */
export interface FlavorFacts {
  readonly networkSets?: NetworkSetDirectory;
  /** Which Calico the flows came from, when the source tells. */
  readonly edition?: CalicoEdition;
}

export function flavorFor(
  config: Pick<RecommendationConfig, 'flavor' | 'ipFamilies' | 'calicoVersion'>,
  facts: FlavorFacts = {},
): PolicyFlavor {
  const options = {
    ipFamilies: ipFamiliesOf(config),
    release: calicoReleaseOf(config),
    ...(facts.networkSets ? { networkSets: facts.networkSets } : {}),
    ...(facts.edition ? { edition: facts.edition } : {}),
  };
  switch (config.flavor) {
    case 'calico':
      return calicoFlavor({ enterprise: false, ...options });
    case 'calico-enterprise':
      return calicoFlavor({ enterprise: true, ...options });
    case 'kubernetes':
      return kubernetesFlavor(options);
    case 'cilium':
      return ciliumFlavor(options);
  }
}
