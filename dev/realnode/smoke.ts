import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { parseFlags } from '../flags.js';
import { kubectlPath } from '../controlplane/kubectl.js';
import { startControlPlane, type ControlPlane } from '../controlplane/launcher.js';
import { leftovers } from './cleanup.js';
import { POD_SUBNET, REAL_NODE_LABEL, SANDBOX_IMAGE } from './paths.js';
import { ensureRealNodeTools } from './tools.js';

// A check of the real node outside jest: `npx tsx dev/realnode/smoke.ts`. Starts a
// control plane with a real node, checks that a second real node is refused at
// once, runs a Pod whose only container is the pause image under the restricted
// Pod Security level, checks its IP (from the bridge's range, answering ping) and
// `kubectl logs` (the API server reaching the kubelet), deletes it, stops
// everything and checks that nothing of the node is left on the machine. Prints
// how long each step took.

const USAGE = 'tsx dev/realnode/smoke.ts';
parseFlags(USAGE, { options: {} });
const say = (line: string) => process.stderr.write(`[real-node smoke] ${line}\n`);
const secondsSince = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)}s`;
const NS = 'real-node-smoke';

function kubectl(plane: ControlPlane, args: string[], input?: string): string {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', plane.kubeconfigPath, ...args], { encoding: 'utf8', input, timeout: 180_000 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

/** A Pod the restricted level admits, on the real node only, running the sandbox image as its one container. */
function podManifest(): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'pause', namespace: NS },
    spec: {
      nodeSelector: { [REAL_NODE_LABEL]: 'true' },
      tolerations: [{ key: REAL_NODE_LABEL, operator: 'Exists', effect: 'NoSchedule' }],
      securityContext: { runAsNonRoot: true, runAsUser: 65535, runAsGroup: 65535, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'pause',
          image: SANDBOX_IMAGE,
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
        },
      ],
    },
  });
}

/** Whether ip is in POD_SUBNET (a /24). */
const inPodSubnet = (ip: string) => ip.split('.').slice(0, 3).join('.') === POD_SUBNET.split('.').slice(0, 3).join('.');

async function secondStartIsRefused(): Promise<void> {
  const t = Date.now();
  const second = await startControlPlane({ name: 'realnode-smoke-second', realNode: true }).then(
    async (p) => {
      await p.stop();
      return undefined;
    },
    (err: unknown) => String(err),
  );
  if (!second?.includes('already runs')) throw new Error(`a second real node was not refused: ${second ?? 'it started'}`);
  say(`a second real node was refused after ${secondsSince(t)}: ${second.split('\n')[0]}`);
}

function runPod(plane: ControlPlane): void {
  kubectl(plane, ['create', 'namespace', NS]);
  kubectl(plane, ['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
  const t = Date.now();
  kubectl(plane, ['apply', '-f', '-'], podManifest());
  kubectl(plane, ['wait', '-n', NS, '--for=condition=Ready', '--timeout=120s', 'pod/pause']);
  say(`Pod create to Ready: ${secondsSince(t)}`);
  const ip = kubectl(plane, ['get', '-n', NS, 'pod/pause', '-o', 'jsonpath={.status.podIP}']);
  if (!inPodSubnet(ip)) throw new Error(`Pod IP ${ip} is not from the bridge's ${POD_SUBNET}`);
  const ping = spawnSync('ping', ['-c', '1', '-W', '2', ip], { encoding: 'utf8' });
  if (ping.status !== 0) throw new Error(`Pod IP ${ip} does not answer ping: ${ping.stdout}${ping.stderr}`);
  say(`Pod IP ${ip} (from ${POD_SUBNET}) answers ping`);
  kubectl(plane, ['logs', '-n', NS, 'pod/pause']);
  say('kubectl logs works: the API server reaches the kubelet');
  const d = Date.now();
  kubectl(plane, ['delete', '-n', NS, 'pod/pause', '--wait=true', '--timeout=60s']);
  say(`Pod deleted in ${secondsSince(d)}`);
}

const tools = Date.now();
ensureRealNodeTools();
say(`packages and kubelet ready in ${secondsSince(tools)} (a cold kubelet build is ~11 min on 2 cores)`);
const started = Date.now();
const plane = await startControlPlane({ name: 'realnode-smoke', realNode: true, log: (l) => say(l) });
say(`control plane and real node ready after ${secondsSince(started)}; real node start to Ready: ${(plane.state.realNode!.readyAfterMs! / 1000).toFixed(1)}s`);
let failed = false;
try {
  say(`nodes: ${kubectl(plane, ['get', 'nodes', '-o', 'custom-columns=NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,TAINTS:.spec.taints[*].key', '--no-headers']).replace(/\n/g, '; ')}`);
  await secondStartIsRefused();
  runPod(plane);
} catch (err) {
  failed = true;
  say(`FAILED: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  const t = Date.now();
  await plane.stop();
  say(`stopped in ${secondsSince(t)}`);
  const left = [...leftovers(), ...(existsSync(plane.dir) ? [plane.dir] : [])];
  if (left.length) say(`LEFT BEHIND: ${left.join('; ')}`);
  else say('nothing left: no kubelet, containerd or shim processes, no mounts under the node dirs, no kubepods cgroups, no bridge');
  if (failed || left.length) process.exitCode = 1;
}
