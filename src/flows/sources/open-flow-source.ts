// Opens a cluster's flow source as the deployment's configuration says: files, Goldmane,
// Elasticsearch or Hubble Relay. Chosen by the deployment, never by a repository.

import { clusterConnection, type DeploymentConfig } from '../../config/deployment-config.ts';
import { type FlowSource, FlowSourceError } from '../source.ts';
import { openElasticsearchSource } from './elasticsearch/elasticsearch-source.ts';
import { FileFlowSource } from './file-source.ts';
import { openGoldmaneSource } from './goldmane/goldmane-source.ts';
import { openHubbleSource } from './hubble/hubble-source.ts';

export async function openFlowSource(deployment: DeploymentConfig, cluster: string): Promise<FlowSource> {
  const connection = clusterConnection(deployment, cluster);
  if (connection === undefined) {
    const message = `cluster ${cluster} is not in this deployment's configuration: ask the operator to add it`;
    throw new FlowSourceError(message, { shown: message });
  }
  const flows = connection.flows;
  switch (flows.source) {
    case 'file':
      return FileFlowSource.open(flows.file.paths);
    case 'goldmane':
      return openGoldmaneSource(flows.goldmane);
    case 'elasticsearch':
      return openElasticsearchSource(flows.elasticsearch);
    case 'hubble':
      return openHubbleSource(flows.hubble);
  }
}
