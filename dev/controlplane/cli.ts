import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseFlags, positiveInteger, usageError } from '../flags.js';
import { ControlPlane, startControlPlane } from './launcher.js';

// `up [--nodes=N]`   starts a control plane for people, detached (it outlives this
//                    script), and prints `export KUBECONFIG=...` on stdout;
// `up --foreground`  supervises one for a test run: prints `state: FILE` when ready and
//                    stops it on SIGTERM, SIGINT, or when its parent process dies (with
//                    --watch-stdin: when its stdin closes, which is how a parent that
//                    holds the other end of a pipe dies, even of SIGKILL);
// `status`           says whether the one `up` started is running;
// `down`             stops the one `up` started and removes its directory.
// `--real-node` (with `up`) adds a real node: containerd and a kubelet on this machine
//                    (dev/realnode), one per machine; `down` sweeps it off the machine.
//
// The detached control plane is found again through a pointer file in the cache
// dir that names its state.json (pids, ports, logs).

const pointer = join(process.env.DISTROLESS_CACHE_DIR ?? join(homedir(), '.cache', 'distroless-operator'), 'dev-cluster.json');
const USAGE = 'tsx dev/controlplane/cli.ts up [--nodes=N] [--real-node] [--foreground [--watch-stdin]] | status | down';
const COMMANDS = ['up', 'status', 'down'];
const { values: flags, positionals } = parseFlags(USAGE, {
  allowPositionals: true,
  options: {
    nodes: { type: 'string', default: '1' },
    'real-node': { type: 'boolean', default: false },
    foreground: { type: 'boolean', default: false },
    'watch-stdin': { type: 'boolean', default: false },
  },
});
const [command = 'up', ...extra] = positionals;
if (!COMMANDS.includes(command)) usageError(`unknown command ${JSON.stringify(command)}`, USAGE);
if (extra.length) usageError(`unexpected argument ${JSON.stringify(extra[0])}`, USAGE);
const nodes = positiveInteger('nodes', flags.nodes, USAGE);
const realNode = flags['real-node'];
const say = (line: string) => process.stderr.write(`[control plane] ${line}\n`);

/** The control plane `up` started, if its pointer and state are still there. */
function current(): ControlPlane | undefined {
  if (!existsSync(pointer)) return undefined;
  const { stateFile } = JSON.parse(readFileSync(pointer, 'utf8')) as { stateFile: string };
  return existsSync(stateFile) ? ControlPlane.load(stateFile) : undefined;
}

async function foreground(): Promise<void> {
  const plane = await startControlPlane({ nodes, name: 'test', realNode, log: say });
  process.stdout.write(`state: ${plane.stateFile}\n`);
  const parent = process.ppid;
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await plane.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  // If the test runner dies without a teardown, do not leave etcd and friends behind.
  // The ppid check misses a parent that is only a wrapper (npx, tsx's CLI), which
  // lives on; the stdin pipe does not.
  setInterval(() => {
    if (process.ppid !== parent) void stop();
  }, 500);
  if (flags['watch-stdin']) {
    process.stdin.on('end', () => void stop());
    process.stdin.on('error', () => void stop());
    process.stdin.resume();
  }
}

async function up(): Promise<void> {
  const running = current();
  if (running) {
    if (running.pids().length === 5) {
      if (realNode && !running.state.realNode) throw new Error(`a control plane without a real node runs in ${running.dir}; npm run cluster:down first`);
      say(`already running in ${running.dir}; stop it with npm run cluster:down`);
      process.stdout.write(`export KUBECONFIG=${running.kubeconfigPath}\n`);
      return;
    }
    say(`the last control plane (${running.dir}) is partly or wholly gone; cleaning it up`);
    await running.stop();
  }
  const plane = await startControlPlane({ nodes, name: 'dev', detached: true, realNode, log: say });
  mkdirSync(dirname(pointer), { recursive: true });
  writeFileSync(pointer, JSON.stringify({ stateFile: plane.stateFile }));
  say(`logs in ${plane.dir}/*.log; stop it with npm run cluster:down`);
  process.stdout.write(`export KUBECONFIG=${plane.kubeconfigPath}\n`);
}

function status(): void {
  const plane = current();
  if (!plane) {
    say('no control plane started by cluster:up');
    process.exitCode = 1;
    return;
  }
  const running = plane.pids().length;
  say(`${plane.server}, ${running}/5 processes running, in ${plane.dir}`);
  const node = plane.state.realNode;
  const nodeRunning = plane.realNodePids().length;
  if (node) say(`real node ${node.name}: ${nodeRunning}/2 processes (containerd, kubelet) running`);
  process.stdout.write(`export KUBECONFIG=${plane.kubeconfigPath}\n`);
  if (running !== 5 || (node && nodeRunning !== 2)) process.exitCode = 1;
}

async function down(): Promise<void> {
  const plane = current();
  if (plane) await plane.stop();
  else say('no control plane started by cluster:up is running');
  rmSync(pointer, { force: true });
  if (plane) say(`stopped; removed ${plane.dir}`);
}

try {
  if (command === 'up' && flags.foreground) await foreground();
  else if (command === 'up') {
    await up();
    // The detached components are unref'd; nothing else should keep this script alive.
    process.exit(0);
  } else if (command === 'status') status();
  else await down();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
