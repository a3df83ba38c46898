import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ControlPlane } from '../../dev/controlplane/launcher.js';
import { kubectlPath } from '../../dev/controlplane/kubectl.js';
import { serviceAccountKubeconfig as serviceAccountKubeconfigOf } from '../../dev/service-account.js';
import { waitFor } from '../../dev/wait-for.js';

export { SYSTEM_NS } from '../../dev/service-account.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function testKubeconfig(): string {
  const path = process.env.DLO_TEST_KUBECONFIG;
  if (!path) throw new Error('DLO_TEST_KUBECONFIG is unset: the integration global setup did not run');
  return path;
}

export function controlPlane(): ControlPlane {
  const stateFile = process.env.DLO_TEST_CONTROL_PLANE;
  if (!stateFile) throw new Error('DLO_TEST_CONTROL_PLANE is unset: the integration global setup did not run');
  return ControlPlane.load(stateFile);
}

/** Runs a program to its end, collecting what it prints. */
export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(options.env ? { env: options.env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the real kubectl against the test control plane (or another kubeconfig). */
export function kubectl(args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<KubectlResult> {
  return run(kubectlPath(), ['--kubeconfig', options.kubeconfig ?? testKubeconfig(), ...args], { input: options.input ?? '' });
}

/** kubectl that must succeed; returns stdout. */
export async function kubectlOk(args: string[], options: { input?: string; kubeconfig?: string } = {}): Promise<string> {
  const r = await kubectl(args, options);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A fresh namespace with a unique name, optionally labelled (Pod Security levels, say). */
export async function createNamespace(prefix: string, labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`.slice(0, 63);
  const manifest = { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } };
  await kubectlOk(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  // Pods need the namespace's default ServiceAccount, which a controller creates.
  await waitFor(async () => (await kubectl(['get', 'serviceaccount', 'default', '-n', name])).code === 0, { what: `ServiceAccount default in ${name}` });
  return name;
}

/** `kubectl get ... -o json`, read as T: the caller names what it expects the object to be. */
export async function getJson<T>(args: string[], kubeconfig?: string): Promise<T> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json'], kubeconfig ? { kubeconfig } : {})) as T;
}

/** The operator ServiceAccount's kubeconfig on the test control plane (or another, given its admin kubeconfig). */
/** Waits until no Pod of the namespace matches the selector, terminating ones included: gone, not just going. */
export async function podsGone(namespace: string, selector: string, what: string): Promise<void> {
  const count = async () => (await getJson<{ items: unknown[] }>(['get', 'pods', '-n', namespace, '-l', selector])).items.length;
  await waitFor(async () => (await count()) === 0, { timeoutMs: 90_000, what });
}

export function serviceAccountKubeconfig(adminKubeconfig = testKubeconfig()): Promise<string> {
  return serviceAccountKubeconfigOf(adminKubeconfig);
}
