import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StopWaiting, waitFor } from '../wait-for.js';
import { LOCK_FILE, LOCK_INFO, RUN_DIR } from './paths.js';
import { commandLine, endProcesses, isRunning } from './processes.js';

// One real node per machine: its socket, ports (10250, 10248) and directories are
// fixed. The lock is an flock(2) on LOCK_FILE held by a small holder process
// (`flock -F LOCK sleep infinity`) that lives as long as the node: the kernel drops
// the lock when the holder dies, however it dies, so a crashed run never leaves a
// stale lock behind. A detached control plane's holder outlives its starter, like
// the node's other processes. A second start fails at once, naming the holder.

export interface LockInfo {
  /** The process that holds the flock. */
  holderPid: number;
  /** The process that started the real node. */
  starterPid: number;
  /** The control plane the real node belongs to. */
  dir: string;
  /** Started to outlive its starter (cluster:up); otherwise its starter's exit ends it. */
  detached: boolean;
  since: string;
}

/** The pid whose flock(2) is on LOCK_FILE, from /proc/locks. */
function lockHolder(): number | undefined {
  if (!existsSync(LOCK_FILE)) return undefined;
  const inode = String(statSync(LOCK_FILE).ino);
  for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
    // "1: FLOCK  ADVISORY  WRITE 1234 fe:01:5678 0 EOF"
    const fields = line.trim().split(/\s+/);
    if (fields[1] === 'FLOCK' && fields[5]?.split(':')[2] === inode) return Number(fields[4]);
  }
  return undefined;
}

function readInfo(): LockInfo | undefined {
  try {
    return JSON.parse(readFileSync(LOCK_INFO, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}

/**
 * Whether the holder's real node has lost its owner: the process that started it is
 * gone (SIGKILLed: any other exit stops it), and, for one started to outlive its
 * starter (cluster:up), so is its control plane (directory removed, or API server not
 * running). Its processes are then swept by the next start instead of blocking it forever.
 */
function orphaned(info: LockInfo): boolean {
  if (isRunning(info.starterPid)) return false;
  if (!info.detached) return true;
  const stateFile = join(info.dir, 'state.json');
  if (!existsSync(stateFile)) return true;
  try {
    const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { components?: Record<string, { pid?: number }> };
    const apiserver = state.components?.['kube-apiserver']?.pid;
    return !apiserver || !isRunning(apiserver) || !commandLine(apiserver).some((a) => a.includes(info.dir));
  } catch {
    return true;
  }
}

function heldMessage(holder: number, info: LockInfo | undefined): string {
  const who =
    info?.holderPid === holder
      ? `held by pid ${holder} for the control plane in ${info.dir} (started by pid ${info.starterPid} at ${info.since})`
      : `held by pid ${holder} (who started it is not recorded yet)`;
  return (
    `a real node already runs on this machine, and there can be only one (fixed socket, ports 10250 and 10248): ` +
    `${LOCK_FILE} is ${who}. Stop that control plane first (npm run cluster:down, if cluster:up started it).`
  );
}

/**
 * Takes the machine's real-node lock for the control plane in `dir`; resolves with
 * the holder's pid. Fails at once when another real node holds it, unless that one
 * is orphaned: its holder is then ended and the lock taken (the caller sweeps the
 * rest).
 */
export async function takeNodeLock(dir: string, detached: boolean): Promise<number> {
  mkdirSync(RUN_DIR, { recursive: true });
  const holder = lockHolder();
  const info = readInfo();
  if (holder !== undefined && isRunning(holder)) {
    if (!info || info.holderPid !== holder || !orphaned(info)) throw new Error(heldMessage(holder, info));
    await endProcesses([holder], `the orphaned real node's lock holder (control plane ${info.dir})`, { signal: 'SIGKILL' });
  }
  return spawnHolder(dir, detached);
}

async function spawnHolder(dir: string, detached: boolean): Promise<number> {
  // -F: flock execs sleep itself, so the holder is one process with the lock; -E 75: "already held".
  const child = spawn('flock', ['--nonblock', '--conflict-exit-code', '75', '--no-fork', LOCK_FILE, 'sleep', 'infinity'], {
    stdio: 'ignore',
    detached,
  });
  child.unref();
  child.once('error', () => {});
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not run flock (util-linux) to take the real node lock');
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null || child.signalCode !== null) {
          const now = lockHolder();
          throw new StopWaiting(now ? heldMessage(now, readInfo()) : `flock ${LOCK_FILE} exited with ${child.exitCode ?? child.signalCode}`);
        }
        return lockHolder() === pid;
      },
      { timeoutMs: 10_000, intervalMs: 20, what: `flock on ${LOCK_FILE}` },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const info: LockInfo = { holderPid: pid, starterPid: process.pid, dir, detached, since: new Date().toISOString() };
  writeFileSync(LOCK_INFO, JSON.stringify(info, null, 2) + '\n');
  return pid;
}

/** Whether pid is still the holder of the real node lock (a recycled pid is not). */
export function holdsNodeLock(pid: number): boolean {
  return isRunning(pid) && lockHolder() === pid;
}

/** Ends the holder, which drops the lock. */
export async function releaseNodeLock(holderPid: number): Promise<void> {
  if (!holdsNodeLock(holderPid)) return;
  rmSync(LOCK_INFO, { force: true });
  await endProcesses([holderPid], 'the real node lock holder', { signal: 'SIGKILL' });
}
