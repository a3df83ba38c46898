import { spawn } from 'node:child_process';
import { KubeconfigError, isObject } from './kubeconfig.js';

/**
 * Runs a kubeconfig's exec credential plugin (client.authentication.k8s.io v1 or
 * v1beta1) once, as client-go does: the command with its args, the environment
 * plus the entry's env and KUBERNETES_EXEC_INFO, no terminal; its stdout is an
 * ExecCredential whose status holds a token or a client certificate and key, and
 * maybe when they expire. Caching is credentials.ts's job.
 */

export interface ExecPlugin {
  command: string;
  args: string[];
  env: Record<string, string>;
  apiVersion: string;
  installHint?: string | undefined;
  /** spec.cluster, when the entry sets provideClusterInfo. */
  cluster?: Record<string, unknown> | undefined;
  /** Names the entry in errors: `~/.kube/config: users[name=gke].user.exec`. */
  field: string;
}

export interface ExecResult {
  token?: string;
  clientCert?: { cert: string; key: string };
  /** Epoch milliseconds; absent when the credential does not expire. */
  expiresAt?: number;
}

const MAX_OUTPUT = 1 << 20;

export async function runExecPlugin(plugin: ExecPlugin, timeoutMs = 60_000): Promise<ExecResult> {
  const stdout = await run(plugin, timeoutMs);
  return parseExecCredential(stdout, plugin);
}

function run(plugin: ExecPlugin, timeoutMs: number): Promise<string> {
  const info = { apiVersion: plugin.apiVersion, kind: 'ExecCredential', spec: { interactive: false, ...(plugin.cluster ? { cluster: plugin.cluster } : {}) } };
  const fail = (problem: string) => new KubeconfigError(`${plugin.field}: ${plugin.command}: ${problem}`);
  return new Promise((resolve, reject) => {
    const child = spawn(plugin.command, plugin.args, {
      env: { ...process.env, ...plugin.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const settle = (error: Error | undefined) => {
      clearTimeout(timer);
      child.stdout.destroy();
      child.stderr.destroy();
      if (error) reject(error);
      else resolve(out);
    };
    // Not spawn's own timeout: a child of the plugin holding its stdout open would keep 'close' from coming.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(fail(`gave no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(0, MAX_OUTPUT)));
    // The end of stderr is where a plugin says what went wrong.
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-2000)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      const hint = plugin.installHint ? `\n${plugin.installHint.trim()}` : '';
      settle(fail(e.code === 'ENOENT' ? `not found${hint}` : `cannot run: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) return settle(undefined);
      settle(fail(`${signal ? `killed by ${signal}` : `exited with code ${code}`}${err.trim() ? `: ${err.trim()}` : ''}`));
    });
  });
}

/** The ExecCredential a plugin printed, checked as client-go checks it. */
export function parseExecCredential(stdout: string, plugin: Pick<ExecPlugin, 'apiVersion' | 'field' | 'command'>): ExecResult {
  const fail = (problem: string) => new KubeconfigError(`${plugin.field}: ${plugin.command} printed ${problem}`);
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw fail(`no ExecCredential (not JSON): ${JSON.stringify(stdout.slice(0, 100))}`);
  }
  if (!isObject(doc) || doc.kind !== 'ExecCredential') throw fail('no ExecCredential (kind)');
  if (doc.apiVersion !== plugin.apiVersion) throw fail(`an ExecCredential of ${String(doc.apiVersion)}, not the ${plugin.apiVersion} the kubeconfig asks for`);
  const status = isObject(doc.status) ? doc.status : {};
  const result: ExecResult = { ...credentialOf(status, fail) };
  const expiresAt = expiryOf(status.expirationTimestamp, fail);
  if (expiresAt !== undefined) result.expiresAt = expiresAt;
  return result;
}

const nonEmpty = (v: unknown): v is string => typeof v === 'string' && v !== '';

function credentialOf(status: Record<string, unknown>, fail: (problem: string) => Error): Pick<ExecResult, 'token' | 'clientCert'> {
  const { token, clientCertificateData: cert, clientKeyData: key } = status;
  if (nonEmpty(cert) !== nonEmpty(key)) throw fail('an ExecCredential with only one of status.clientCertificateData and status.clientKeyData');
  const clientCert = nonEmpty(cert) && nonEmpty(key) ? { clientCert: { cert, key } } : {};
  if (!nonEmpty(token) && !nonEmpty(cert)) throw fail('an ExecCredential with neither status.token nor a client certificate');
  return { ...(nonEmpty(token) ? { token } : {}), ...clientCert };
}

function expiryOf(timestamp: unknown, fail: (problem: string) => Error): number | undefined {
  if (timestamp === undefined || timestamp === null) return undefined;
  const at = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(at)) throw fail(`an ExecCredential whose status.expirationTimestamp ${JSON.stringify(timestamp)} is not a time`);
  return at;
}
