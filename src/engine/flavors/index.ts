import type { Flavor } from '../../config/recommendation-config.ts';
import { calicoFlavor } from './calico.ts';
import type { PolicyFlavor } from './flavor.ts';
import { kubernetesFlavor } from './kubernetes.ts';

export function flavorFor(name: Flavor): PolicyFlavor {
  switch (name) {
    case 'calico':
      return calicoFlavor(false);
    case 'calico-enterprise':
      return calicoFlavor(true);
    case 'kubernetes':
      return kubernetesFlavor();
  }
}

