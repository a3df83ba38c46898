import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';

const root = new URL('../../', import.meta.url).pathname;

export interface OperatorProcess {
  child: ChildProcess;
  /** Every log line so far, parsed. */
  logs: Record<string, any>[];
  /** Its leader election identity, as its User-Agent carries it: `distroless-operator/IDENTITY`. */
  identity: string;
  metricsUrl: string;
  healthUrl: string;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  /** Sends the signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface OperatorOptions {
  kubeconfig: string;
  args?: string[];
  env?: Record<string, string>;
  /** Run the compiled program in dist/ (benchmarks) rather than the sources through tsx (tests). */
  compiled?: boolean;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Starts `distroless-operator run` as a real process and waits until /readyz answers. */
export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  // Node itself with tsx as a loader, not tsx's CLI, which runs the program as a
  // child: a SIGKILL must reach the operator, not a wrapper that leaves it running.
  const program = options.compiled ? [`${root}dist/cli/bin.js`] : ['--import', pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href, `${root}src/cli/bin.ts`];
  const child = spawn(
    process.execPath,
    [
      ...program,
      'run',
      '--kubeconfig',
      options.kubeconfig,
      '--metrics-addr',
      `127.0.0.1:${metricsPort}`,
      '--health-addr',
      `127.0.0.1:${healthPort}`,
      '--log-level',
      options.logLevel ?? 'debug',
      ...(options.args ?? []),
    ],
    // Without jest's NODE_OPTIONS (--experimental-vm-modules), which is jest's business.
    { env: { ...withoutNodeOptions(process.env), ...options.env, KUBECONFIG: options.kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, any>[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line));
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const healthUrl = `http://127.0.0.1:${healthPort}`;

  const deadline = Date.now() + 60_000;
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (;;) {
    if (exitCode !== undefined) throw new Error(`operator exited with ${exitCode} before it was ready:\n${stderr}\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
    const ok = await fetch(`${healthUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`operator not ready within 60s:\n${stderr}\n${logs.slice(-20).map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    child,
    identity: `${hostname()}_${child.pid}`,
    logs,
    metricsUrl,
    healthUrl,
    exited,
    metric: async (name, labels = {}) => sumMetric(await (await fetch(metricsUrl)).text(), name, labels),
    stop: async (signal = 'SIGTERM') => {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

/** Sums the samples of a Prometheus metric whose labels include the given ones. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[3] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[4]);
  }
  return total;
}

function withoutNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _jestOnly, ...rest } = env;
  return rest;
}
