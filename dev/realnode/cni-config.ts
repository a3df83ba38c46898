import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { BRIDGE, CNI_IPAM_DIR, CNI_NETWORK, POD_GATEWAY, POD_SUBNET } from './paths.js';

// The real node's Pod network: a Linux bridge on the host with host-local IPAM, so
// Pod IPs are reachable from the host (the e2e tests and the smoke check talk to
// Pods directly). No masquerade and no host ports: the plugins then add no iptables
// rules at all, and a stop has none to take back. Pods reach the host through the
// bridge's address; nothing routes them further (no kube-proxy, no Service IPs).

export function cniConfig(): string {
  const conf = {
    cniVersion: '0.4.0',
    name: CNI_NETWORK,
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          // Its allocations live with the node's other data, not in /var/lib/cni/networks.
          dataDir: CNI_IPAM_DIR,
          ranges: [[{ subnet: POD_SUBNET, gateway: POD_GATEWAY }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
    ],
  };
  return JSON.stringify(conf, null, 2) + '\n';
}

export function writeCniConfig(path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, cniConfig());
}
