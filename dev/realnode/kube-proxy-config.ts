import { writeFileSync } from 'node:fs';
import { KUBE_PROXY_HEALTHZ_PORT, KUBE_PROXY_METRICS_PORT, POD_SUBNET } from './paths.js';

// kube-proxy for the real node, so Pods get what every cluster gives them: the
// kubernetes Service (10.0.0.1:443, the address client libraries read from
// KUBERNETES_SERVICE_HOST) forwarded to the API server, and any other Service with
// endpoints. The standard iptables mode. It leaves the machine's kernel settings as it
// found them: no conntrack table sizes or timeouts, no route_localnet (which
// localhost NodePorts would need; nothing here uses them).

export interface KubeProxyConfigInput {
  kubeconfig: string;
  node: string;
}

export function kubeProxyConfig(input: KubeProxyConfigInput): Record<string, unknown> {
  return {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig: input.kubeconfig },
    hostnameOverride: input.node,
    mode: 'iptables',
    // Traffic from outside this range to a Service is masqueraded; Pods' own is not.
    clusterCIDR: POD_SUBNET,
    detectLocalMode: 'ClusterCIDR',
    healthzBindAddress: `127.0.0.1:${KUBE_PROXY_HEALTHZ_PORT}`,
    metricsBindAddress: `127.0.0.1:${KUBE_PROXY_METRICS_PORT}`,
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { localhostNodePorts: false, minSyncPeriod: '0s', syncPeriod: '30s' },
  };
}

/** Writes the configuration as JSON, which kube-proxy reads as YAML. */
export function writeKubeProxyConfig(path: string, input: KubeProxyConfigInput): void {
  writeFileSync(path, JSON.stringify(kubeProxyConfig(input), null, 2) + '\n');
}

export function kubeProxyArgv(kubeProxy: string, config: string): string[] {
  return [kubeProxy, `--config=${config}`, '--v=1'];
}
