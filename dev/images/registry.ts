import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { commandLine, endProcesses, findProcesses, isRunning } from '../realnode/processes.js';
import { StopWaiting, waitFor } from '../wait-for.js';
import { REGISTRY_ADDR, REGISTRY_DIR, REGISTRY_HOST, REGISTRY_LISTEN, REGISTRY_URL } from './paths.js';
import { ensureImageTools } from './tools.js';

// The local OCI registry: the real distribution registry, one per machine on the
// fixed port 5000 (the real node's containerd pulls from 127.0.0.1:5000), with its
// storage under the cache directory so pushed images survive restarts.
//
// A start while the project's registry already runs reuses it (it is a shared cache,
// and a crashed starter's registry is simply adopted by the next one); a start while
// another program holds port 5000 fails, naming that program's pid. The registry is
// recognised by its command line (`registry serve <this config>`), so no pid file can
// go stale.

const CONFIG_FILE = join(REGISTRY_DIR, 'config.yml');
const LOG_FILE = join(REGISTRY_DIR, 'registry.log');
const STORAGE_DIR = join(REGISTRY_DIR, 'storage');
const PORT = Number(REGISTRY_ADDR.split(':')[1]);

export interface Registry {
  /** What image references name: localhost:5000. */
  host: string;
  url: string;
  pid: number;
  /** It was already running (started by another caller, or left by a crashed one): stopping it is its starter's business. */
  reused: boolean;
  configFile: string;
  logFile: string;
  storageDir: string;
}

export interface RegistryOptions {
  /** Starts it in a session of its own, so it outlives this process (a detached control plane). */
  detached?: boolean;
  /** How long to wait for it to answer (default 30 s). */
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * The registry's configuration, written on every start (edits to the file are
 * overwritten): distribution's example config made local: loopback only, filesystem
 * storage, deletes allowed (a rebuilt image's stale manifests can be removed), no
 * auth, the storage driver's health check on.
 */
function configYaml(): string {
  return `# Written by dev/images/registry.ts at every start.
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: ${JSON.stringify(STORAGE_DIR)}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  tag:
    concurrencylimit: 8
http:
  addr: ${REGISTRY_LISTEN}
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
`;
}

const isOurRegistry = (argv: string[]): boolean => basename(argv[0] ?? '') === 'registry' && argv[1] === 'serve' && argv[2] === CONFIG_FILE;

/** The pid of the project's registry, if one runs on this machine. */
export function runningRegistry(): number | undefined {
  return findProcesses(isOurRegistry)[0];
}

/** Whether the registry answers the distribution API's version check. */
async function answers(): Promise<boolean> {
  try {
    const res = await fetch(`${REGISTRY_URL}/v2/`, { signal: AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.status === 200 && res.headers.get('docker-distribution-api-version') === 'registry/2.0';
  } catch {
    return false;
  }
}

/**
 * Starts the registry on 127.0.0.1:5000 and resolves once it answers, or reuses the
 * one already running. Rejects when another program holds the port (naming its pid),
 * or when the registry exits or does not answer in time (quoting its log).
 */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const log = options.log ?? (() => {});
  const running = runningRegistry();
  if (running) return reuse(running, options);
  refuseForeignListener();
  const { registry } = await ensureImageTools();
  mkdirSync(STORAGE_DIR, { recursive: true });
  writeFileSync(CONFIG_FILE, configYaml());
  const pid = launch(registry, !!options.detached);
  try {
    await waitFor(
      async () => {
        if (!isRunning(pid)) throw new StopWaiting('the registry exited');
        return answers();
      },
      { timeoutMs: options.timeoutMs ?? 30_000, what: `the registry on ${REGISTRY_URL}` },
    );
  } catch (err) {
    // Another caller's registry won the port in the meantime: that one serves.
    const other = runningRegistry();
    if (other && other !== pid) return reuse(other, options);
    await endProcesses([pid].filter(isRunning), 'the registry that did not start');
    throw new Error(`the registry did not start: ${errorText(err)}; ${LOG_FILE} ends with:\n${logTail()}`, { cause: err });
  }
  log(`registry: serving ${REGISTRY_HOST} (pid ${pid}), storage ${STORAGE_DIR}, log ${LOG_FILE}`);
  return registryInfo(pid, false);
}

/** Stops the project's registry if one runs; resolves with whether one did. Its storage stays. */
export async function stopRegistry(): Promise<boolean> {
  const pids = findProcesses(isOurRegistry);
  await endProcesses(pids, 'the registry');
  return pids.length > 0;
}

async function reuse(pid: number, options: RegistryOptions): Promise<Registry> {
  await waitFor(
    async () => {
      if (!isRunning(pid)) throw new StopWaiting(`the running registry (pid ${pid}) exited`);
      return answers();
    },
    { timeoutMs: options.timeoutMs ?? 30_000, what: `the running registry (pid ${pid}) on ${REGISTRY_URL}` },
  );
  options.log?.(`registry: reusing the one already running (pid ${pid}) on ${REGISTRY_HOST}`);
  return registryInfo(pid, true);
}

function registryInfo(pid: number, reused: boolean): Registry {
  return { host: REGISTRY_HOST, url: REGISTRY_URL, pid, reused, configFile: CONFIG_FILE, logFile: LOG_FILE, storageDir: STORAGE_DIR };
}

/**
 * Starts `registry serve CONFIG` with its output in the log (truncated: it holds the
 * latest run). The handle is unref'd: the registry is found again by its command
 * line, and a caller's event loop must not wait on it.
 */
function launch(binary: string, detached: boolean): number {
  const fd = openSync(LOG_FILE, 'w');
  try {
    // distribution v3 exports OpenTelemetry traces over OTLP unless told otherwise; there is no collector here.
    const env = { ...process.env, OTEL_TRACES_EXPORTER: 'none' };
    const child = spawn(binary, ['serve', CONFIG_FILE], { stdio: ['ignore', fd, fd], detached, env });
    child.unref();
    child.once('error', () => {});
    if (child.pid === undefined) throw new Error(`could not start ${binary}; see ${LOG_FILE}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Fails, naming the program, when something other than the project's registry listens on the registry's port. */
function refuseForeignListener(): void {
  const inodes = listeningInodes(PORT);
  if (inodes.size === 0) return;
  const pid = socketOwner(inodes);
  const who = pid ? `pid ${pid} (${commandLine(pid).join(' ') || 'command line unreadable'})` : 'a process this user cannot see';
  throw new Error(`port ${PORT} is taken by ${who}, which is not the project's registry; the registry's address is fixed (${REGISTRY_ADDR}): stop that program first`);
}

/** Socket inodes listening on `port` (any local address), from /proc/net/tcp and tcp6. */
function listeningInodes(port: number): Set<string> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readOrEmpty(table).split('\n').slice(1)) {
      // sl local_address rem_address st ... inode: state 0A is LISTEN.
      const f = line.trim().split(/\s+/);
      if (f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A' && f[9]) inodes.add(f[9]);
    }
  }
  return inodes;
}

/** The pid with an open file descriptor on one of the socket inodes. */
function socketOwner(inodes: Set<string>): number | undefined {
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    if (ownsSocket(entry, inodes)) return Number(entry);
  }
  return undefined;
}

function ownsSocket(pid: string, inodes: Set<string>): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(`/proc/${pid}/fd/${fd}`));
      return !!m && inodes.has(m[1]!);
    });
  } catch {
    return false;
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function logTail(): string {
  try {
    return readFileSync(LOG_FILE, 'utf8').trim().split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
