import type { V1Pod } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageVersion } from '../../dev/bundle.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { waitFor } from '../../dev/wait-for.js';
import { applyRealNodeExamples } from '../../dev/real-node-examples/apply.js';
import { createNamespace, getJson, kubectl, kubectlOk, podsGone, run, testKubeconfig } from '../integration/helpers.js';
import { condition, type List, type ServedApp } from '../integration/served.js';

// The operator as users run it: its own image (built here, pulled from the local
// registry), installed by README's in-cluster commands, two replicas on the real node
// under enforce=restricted, reaching the API server through the kubernetes Service
// (kube-proxy) with its ServiceAccount's token. Then the examples under it, a leader
// handing over, and /metrics read through a Pod IP.

const root = new URL('../../', import.meta.url).pathname;
const SYSTEM_NS = 'distroless-operator-system';
const SELECTOR = 'app.kubernetes.io/name=distroless-operator';
const IMAGE = `localhost:5000/distroless-operator:${packageVersion()}`;
const README_MARK = '<!-- in-cluster install: run line by line by test/e2e/in-cluster.test.ts -->';
const READY_MS = 240_000;

interface Lease {
  spec: { holderIdentity?: string; leaseTransitions?: number };
}

/** The commands of README's in-cluster install block, comments and blank lines left out. */
function readmeInstallCommands(): string[] {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const at = readme.indexOf(README_MARK);
  if (at < 0) throw new Error(`README.md has no block marked ${README_MARK}`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!block) throw new Error(`README.md: no sh block after ${README_MARK}`);
  return block[1]!
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

async function operatorPods(): Promise<V1Pod[]> {
  const pods = await getJson<List<V1Pod>>(['get', 'pods', '-n', SYSTEM_NS, '-l', SELECTOR]);
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

const holder = async (): Promise<string> => (await getJson<Lease>(['get', 'lease', 'distroless-operator', '-n', SYSTEM_NS])).spec.holderIdentity ?? '';
/** The leader's identity is HOSTNAME_PID, and a Pod's hostname is its name. */
const podOf = (identity: string): string => identity.replace(/_\d+$/, '');

async function appsReady(ns: string, names: string[]): Promise<void> {
  await waitFor(
    async () => {
      const apps = await getJson<List<ServedApp>>(['get', 'dla', '-n', ns]);
      return names.every((name) => condition(apps.items.find((a) => a.metadata.name === name) ?? {}, 'Ready')?.status === 'True');
    },
    { timeoutMs: READY_MS, intervalMs: 500, what: `${names.join(', ')} Ready under the in-cluster operator` },
  );
}

let installOutput = '';
let kubectlDir: string | undefined;
let examplesNs: string | undefined;

/** A PATH whose `kubectl` is the one that matches the cluster (this machine keeps several side by side). */
function pathWithKubectl(): string {
  kubectlDir = mkdtempSync(join(tmpdir(), 'dlo-in-cluster-'));
  symlinkSync(kubectlPath(), join(kubectlDir, 'kubectl'));
  return `${kubectlDir}:${process.env.PATH ?? ''}`;
}

beforeAll(async () => {
  // README's commands as a user types them: the test cluster's kubeconfig, the kubectl that matches it.
  const env = { ...process.env, KUBECONFIG: testKubeconfig(), PATH: pathWithKubectl() };
  for (const command of readmeInstallCommands()) {
    const r = await run('bash', ['-c', `cd ${root} && ${command}`], { env });
    if (r.code !== 0) throw new Error(`README's in-cluster install: \`${command}\` failed (${r.code}):\n${r.stderr}${r.stdout}`);
    installOutput += r.stdout;
  }
}, READY_MS);

afterAll(async () => {
  if (kubectlDir) rmSync(kubectlDir, { recursive: true, force: true });
  if (examplesNs) await kubectl(['delete', 'namespace', examplesNs, '--wait=false']);
  // Only the Deployment: the CRD config/default also installed holds every other test's apps.
  await kubectl(['delete', 'deployment', 'distroless-operator', '-n', SYSTEM_NS, '--wait=true', '--timeout=60s']);
  // Gone, not just terminating: an operator that watches every namespace must not outlive this file.
  await podsGone(SYSTEM_NS, SELECTOR, 'the in-cluster operator Pods gone');
}, 150_000);

describe('the operator in the cluster, installed as README says', () => {
  it('runs its own image, two replicas on the real node under enforce=restricted, one holding the Lease', async () => {
    const pods = await operatorPods();
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeSelector).toEqual({ 'distroless.dev/real-node': 'true' });
      expect(pod.status?.containerStatuses?.[0]).toMatchObject({ image: IMAGE, ready: true, restartCount: 0 });
    }
    const ns = await getJson<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', SYSTEM_NS]);
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // README's last command printed the holder, HOSTNAME_PID.
    expect(installOutput.trim().split('\n').pop()).toMatch(/^\S+_\d+$/);
    // A replica leads: at once when the Lease is free, or once an earlier holder's
    // Lease has gone unrenewed for its duration (a process that was killed, say).
    const names = pods.map((p) => p.metadata!.name);
    await waitFor(async () => names.includes(podOf(await holder())), { timeoutMs: 60_000, intervalMs: 500, what: `one of ${names.join(', ')} to hold the Lease` });
  });

  it('converges the examples on the real node', async () => {
    examplesNs = await createNamespace('in-cluster', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    await applyRealNodeExamples({ kubeconfig: testKubeconfig(), namespace: examplesNs, timeoutMs: READY_MS });
    await appsReady(examplesNs, ['postgres', 'go-static', 'nginx-template', 'migrate']);
    // Its images read from inside the cluster: the local registry through the endpoint dev/in-cluster gives.
    const app = await getJson<ServedApp>(['get', 'dla', 'go-static', '-n', examplesNs]);
    expect(condition(app, 'Distroless')).toMatchObject({ status: 'True', reason: 'Inspected' });
  }, READY_MS * 2);

  it('serves /metrics on the Pod IP: the leader says so, and counts its reconciles', async () => {
    const leader = podOf(await holder());
    const pod = (await operatorPods()).find((p) => p.metadata?.name === leader)!;
    const r = await run('curl', ['-sS', '--max-time', '10', `http://${pod.status!.podIP}:8080/metrics`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^distroless_operator_leader 1$/m);
    const reconciles = [...r.stdout.matchAll(/^distroless_operator_reconcile_total\{[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(reconciles).toBeGreaterThan(0);
  });

  it("hands over when the leader's Pod is deleted, and the new leader reconciles", async () => {
    const before = await holder();
    const started = Date.now();
    await kubectlOk(['delete', 'pod', podOf(before), '-n', SYSTEM_NS, '--wait=false']);
    const after = await waitFor(
      async () => {
        const now = await holder();
        return now && now !== before ? now : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'another Pod to take the Lease' },
    );
    process.stdout.write(`in-cluster failover: ${before} -> ${after} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
    expect(podOf(after)).not.toBe(podOf(before));
    // The new leader acts: a change made after the handover converges.
    await kubectlOk(['scale', 'dla', 'go-static', '-n', examplesNs!, '--replicas=2']);
    await waitFor(
      async () => {
        const app = await getJson<ServedApp & { status?: { readyReplicas?: number } }>(['get', 'dla', 'go-static', '-n', examplesNs!]);
        return app.status?.readyReplicas === 2;
      },
      { timeoutMs: READY_MS, what: 'go-static scaled to 2 by the new leader' },
    );
  }, READY_MS);
});
