import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { randomBytes } from 'node:crypto';
import { ControlPlane } from '../controlplane/launcher.js';
import { kubectlPath } from '../controlplane/kubectl.js';

const root = new URL('../../', import.meta.url).pathname;

/** Where config/ installs the operator, and where its ServiceAccount lives. */
export const SYSTEM_NS = 'distroless-operator-system';

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

/** Polls until fn returns something other than undefined or false; tight polling, generous time-out. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false> | T | undefined | false, options: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const { timeoutMs = 60_000, intervalMs = 100, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
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

export async function getJson<T = any>(args: string[], kubeconfig?: string): Promise<T> {
  return JSON.parse(await kubectlOk([...args, '-o', 'json'], kubeconfig ? { kubeconfig } : {})) as T;
}

/** A kubeconfig that authenticates as the operator's ServiceAccount with a bound token. */
export async function serviceAccountKubeconfig(adminKubeconfig = testKubeconfig()): Promise<string> {
  const as = { kubeconfig: adminKubeconfig };
  await kubectl(['create', 'namespace', SYSTEM_NS], as);
  await kubectlOk(['apply', '-k', join(root, 'config/rbac')], as);
  const token = (await kubectlOk(['create', 'token', 'distroless-operator', '-n', SYSTEM_NS, '--duration=4h'], as)).trim();
  const admin = yaml.load(readFileSync(adminKubeconfig, 'utf8')) as any;
  const cluster = admin.clusters[0].cluster;
  const path = join(mkdtempSync(join(tmpdir(), 'dlo-sa-')), 'operator.kubeconfig');
  writeFileSync(
    path,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster }],
      users: [{ name: 'distroless-operator', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'distroless-operator' } }],
      'current-context': 'local',
    }),
  );
  return path;
}

