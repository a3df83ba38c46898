import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { hostname } from 'node:os';
import { pathToFileURL } from 'node:url';
import { track } from './children.js';
import { sumMetric } from './metrics.js';
import { freePorts } from './ports.js';
import { StopWaiting, waitFor } from './wait-for.js';
import { OPERATOR_BUNDLE, OPERATOR_BUNDLE_DIR } from './bundle.js';

// `distroless-operator run` as a real process, for npm start, the integration and
// fault suites and the benchmark: one way to start it, wait until it is ready,
// read its logs and metrics, and stop it.

const root = new URL('../', import.meta.url).pathname;
const READY_TIMEOUT_MS = 60_000;

/** One line of the operator's JSON log, parsed; a line that is not JSON is kept as its `msg`. */
export type LogLine = Record<string, unknown>;

export interface OperatorProcess {
  child: ChildProcess;
  /** Every log line so far, parsed; stays empty with `keepLogs: false`. */
  logs: LogLine[];
  /** Its leader election identity, as its User-Agent carries it: `distroless-operator/IDENTITY`. */
  identity: string;
  metricsUrl: string;
  healthUrl: string;
  /** Where its output goes, when OperatorOptions.logFile named a file. */
  logFile?: string;
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  /** Sends the signal and resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
  exited: Promise<number | null>;
}

export interface OperatorOptions {
  /** Without one, the operator finds its cluster as when run by hand: KUBECONFIG, then ~/.kube/config. */
  kubeconfig?: string;
  args?: string[];
  env?: Record<string, string>;
  /** Run the bundle the image ships (dist/bundle, `npm run build:bundle`; benchmarks) rather than the sources through tsx. */
  compiled?: boolean;
  /** --log-level; debug unless given, since tests wait on debug lines. */
  logLevel?: string;
  /** Also write its stdout and stderr, as they come, to this file (it is created or truncated). */
  logFile?: string;
  /** Keep every log line in memory (default true); a long-lived process that writes a logFile can do without. */
  keepLogs?: boolean;
}

/** Starts `distroless-operator run` and resolves once /readyz answers; rejects with its output if it exits or is not ready within 60s. */
export async function startOperator(options: OperatorOptions): Promise<OperatorProcess> {
  const keepLogs = options.keepLogs ?? true;
  const [metricsPort, healthPort] = await freePorts(2);
  const child = spawn(process.execPath, operatorArgv(options, `127.0.0.1:${metricsPort}`, `127.0.0.1:${healthPort}`), {
    env: { ...withoutJestNodeOptions(process.env), ...options.env, ...(options.kubeconfig ? { KUBECONFIG: options.kubeconfig } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  const captured = captureOutput(child, options.logFile, keepLogs);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const healthUrl = `http://127.0.0.1:${healthPort}`;

  /** Its output for an error message: where the file is, and what was kept in memory (the last lines only, if given). */
  const output = (lastLines?: number) => {
    const file = options.logFile ? `; see ${options.logFile}` : '';
    if (!keepLogs) return file;
    const kept = lastLines === undefined ? captured.logs : captured.logs.slice(-lastLines);
    return `${file}:\n${captured.stderr()}\n${kept.map((l) => JSON.stringify(l)).join('\n')}`;
  };
  try {
    await waitFor(
      async () => {
        if (exitCode !== undefined) throw new StopWaiting(`operator exited with ${exitCode} before it was ready${output()}`);
        return fetch(`${healthUrl}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
      },
      { timeoutMs: READY_TIMEOUT_MS, timeoutError: () => new Error(`operator not ready within ${READY_TIMEOUT_MS / 1000}s${output(20)}`) },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    child,
    identity: `${hostname()}_${child.pid}`,
    logs: captured.logs,
    metricsUrl,
    healthUrl,
    ...(options.logFile ? { logFile: options.logFile } : {}),
    exited,
    metric: async (name, labels = {}) => sumMetric(await (await fetch(metricsUrl)).text(), name, labels),
    stop: async (signal = 'SIGTERM') => {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

/** Node's arguments: the program, then `run` with its flags. */
function operatorArgv(options: OperatorOptions, metricsAddr: string, healthAddr: string): string[] {
  // Node itself with tsx as a loader, not tsx's CLI, which runs the program as a
  // child: a SIGKILL must reach the operator, not a wrapper that leaves it running.
  const program = options.compiled ? [`${root}${OPERATOR_BUNDLE_DIR}/${OPERATOR_BUNDLE}`] : ['--import', pathToFileURL(`${root}node_modules/tsx/dist/loader.mjs`).href, `${root}src/cli/bin.ts`];
  return [
    ...program,
    'run',
    ...(options.kubeconfig ? ['--kubeconfig', options.kubeconfig] : []),
    '--metrics-addr',
    metricsAddr,
    '--health-addr',
    healthAddr,
    '--log-level',
    options.logLevel ?? 'debug',
    ...(options.args ?? []),
  ];
}

/** What the operator has printed, as far as it is kept in memory. */
interface CapturedOutput {
  logs: LogLine[];
  stderr: () => string;
}

/** Sends the operator's output to the log file, to memory, both, or (when nobody reads it) away. */
function captureOutput(child: ChildProcess, logFile: string | undefined, keepLogs: boolean): CapturedOutput {
  if (logFile) writeToFile(child, logFile);
  if (keepLogs) return keepInMemory(child);
  // Nobody reads it, but a full pipe would block the operator.
  if (!logFile) {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  return { logs: [], stderr: () => '' };
}

function writeToFile(child: ChildProcess, path: string): void {
  const file = createWriteStream(path);
  // Two streams into one file: it is closed once both have ended, not when the first does.
  child.stdout!.pipe(file, { end: false });
  child.stderr!.pipe(file, { end: false });
  child.once('close', () => file.end());
}

function keepInMemory(child: ChildProcess): CapturedOutput {
  const logs: LogLine[] = [];
  let stderr = '';
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) logs.push(parseLogLine(line));
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return { logs, stderr: () => stderr };
}

function parseLogLine(line: string): LogLine {
  try {
    return JSON.parse(line) as LogLine;
  } catch {
    return { msg: line };
  }
}

/**
 * The caller's environment without jest's --experimental-vm-modules, which is
 * jest's business and not the operator's. Any other NODE_OPTIONS (a user's, under
 * npm start) reaches the operator as it would if it were run by hand.
 */
function withoutJestNodeOptions(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_OPTIONS, ...rest } = env;
  const kept = (NODE_OPTIONS ?? '')
    .split(/\s+/)
    .filter((flag) => flag && flag !== '--experimental-vm-modules')
    .join(' ');
  return kept ? { ...rest, NODE_OPTIONS: kept } : rest;
}
