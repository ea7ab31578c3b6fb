// From the deployment's `KubernetesAccess` (in-cluster service account, or a kubeconfig file and
// context) to a @kubernetes/client-node KubeConfig, and per-request options (an abort signal).

import { type ConfigurationOptions, KubeConfig, Observable, type ObservableMiddleware } from '@kubernetes/client-node';
import type { KubernetesAccess } from '../config/deployment-config.ts';
import { ClusterAccessError } from './errors.ts';

/** Either a ready KubeConfig (tests, embedding) or the deployment's access description. */
export type ClusterConnection = KubeConfig | KubernetesAccess;

export function loadKubeConfig(access: ClusterConnection): KubeConfig {
  if (access instanceof KubeConfig) return access;
  const config = new KubeConfig();
  if ('inCluster' in access) {
    if (!process.env['KUBERNETES_SERVICE_HOST'] || !process.env['KUBERNETES_SERVICE_PORT']) {
      throw new ClusterAccessError('inCluster access configured, but KUBERNETES_SERVICE_HOST/PORT are not set: not running in a pod');
    }
    config.loadFromCluster();
  } else {
    try {
      config.loadFromFile(access.kubeconfig);
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message.split('\n')[0];
      throw new ClusterAccessError(`cannot read kubeconfig ${access.kubeconfig}: ${reason}`, { cause: e });
    }
    if (access.context !== undefined) {
      if (config.getContextObject(access.context) === null) {
        throw new ClusterAccessError(`kubeconfig ${access.kubeconfig} has no context "${access.context}"`);
      }
      config.setCurrentContext(access.context);
    }
  }
  if (config.getCurrentCluster() === null) {
    throw new ClusterAccessError(
      `${'inCluster' in access ? 'the in-cluster configuration' : `kubeconfig ${access.kubeconfig}`} names no cluster for its current context`,
    );
  }
  return config;
}

/**
 * Options for one API call that abort it with `signal`. The generated Object API runs
 * *Observable* middleware (the `Observable` of the client's own stub, not rxjs); 'append' keeps
 * the client's User-Agent middleware.
 */
export function withSignal(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}
