import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTAINERD_SOCKET, KUBELET_HEALTHZ_PORT, KUBELET_PORT, KUBELET_ROOT, POD_LOGS, REAL_NODE_LABEL } from './paths.js';

// The kubelet's configuration file (KubeletConfiguration v1beta1) for this kind of
// machine: cgroup v1 (allowed again, it is deprecated in 1.33), the cgroupfs driver
// (no systemd), swap tolerated, no iptables chains of its own (nothing here needs
// them, and a stop then has none to remove), and eviction thresholds a shared dev
// machine does not trip over.

export interface KubeletConfigInput {
  /** The control plane's CA: clients of the kubelet API (the API server) present certificates from it. */
  clientCaFile: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
}

export function kubeletConfig(input: KubeletConfigInput): Record<string, unknown> {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    failCgroupV1: false,
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    address: '0.0.0.0',
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: KUBELET_HEALTHZ_PORT,
    tlsCertFile: input.tlsCertFile,
    tlsPrivateKeyFile: input.tlsPrivateKeyFile,
    // Who may call the kubelet API: certificates of the control plane's CA, each
    // request authorized by the API server (SubjectAccessReview), as on kubeadm clusters.
    authentication: { x509: { clientCAFile: input.clientCaFile }, webhook: { enabled: false }, anonymous: { enabled: false } },
    authorization: { mode: 'Webhook' },
    registerNode: true,
    registerWithTaints: [{ key: REAL_NODE_LABEL, value: 'true', effect: 'NoSchedule' }],
    resolvConf: '/etc/resolv.conf',
    clusterDomain: 'cluster.local',
    podLogsDir: POD_LOGS,
    // Otherwise /usr/libexec/kubernetes/kubelet-plugins/volume/exec, created at start.
    volumePluginDir: join(KUBELET_ROOT, 'volume-plugins'),
    makeIPTablesUtilChains: false,
    // Lowering its own score needs CAP_SYS_RESOURCE, which this machine lacks.
    oomScoreAdj: 0,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'nodefs.inodesFree': '1%', 'imagefs.available': '1%' },
    imageGCHighThresholdPercent: 99,
    imageGCLowThresholdPercent: 98,
    serializeImagePulls: false,
    shutdownGracePeriod: '0s',
    rotateCertificates: false,
    serverTLSBootstrap: false,
  };
}

/** Writes the configuration as JSON, which is YAML too (the kubelet reads either). */
export function writeKubeletConfig(path: string, input: KubeletConfigInput): void {
  writeFileSync(path, JSON.stringify(kubeletConfig(input), null, 2) + '\n');
}

export interface KubeletArgvInput {
  kubelet: string;
  config: string;
  kubeconfig: string;
  node: string;
}

export function kubeletArgv(input: KubeletArgvInput): string[] {
  return [
    input.kubelet,
    `--config=${input.config}`,
    `--kubeconfig=${input.kubeconfig}`,
    `--root-dir=${KUBELET_ROOT}`,
    `--cert-dir=${join(KUBELET_ROOT, 'pki')}`,
    `--hostname-override=${input.node}`,
    `--node-labels=${REAL_NODE_LABEL}=true`,
    '--v=1',
  ];
}
