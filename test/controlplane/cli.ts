import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ControlPlane, startControlPlane } from './launcher.js';

// `up`        starts a control plane for people, detached, and prints the KUBECONFIG export;
// `up --foreground` supervises one for a test run: prints `state: FILE` when ready and
//             stops it on SIGTERM, SIGINT, or when its parent process dies;
// `down`      stops the one `up` started.

const pointer = join(process.env.DISTROLESS_CACHE_DIR ?? join(homedir(), '.cache', 'distroless-operator'), 'dev-cluster.json');
const [command = 'up', ...flags] = process.argv.slice(2);
const flag = (name: string) => flags.includes(`--${name}`);
const nodes = Number(flags.find((f) => f.startsWith('--nodes='))?.split('=')[1] ?? 1);
const say = (line: string) => process.stderr.write(`[control plane] ${line}\n`);

async function up(): Promise<void> {
  if (flag('foreground')) {
    const plane = await startControlPlane({ nodes, log: say });
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
    setInterval(() => {
      if (process.ppid !== parent) void stop();
    }, 500);
    return;
  }
  if (existsSync(pointer)) {
    const state = JSON.parse(readFileSync(pointer, 'utf8')) as { stateFile: string };
    if (existsSync(state.stateFile)) {
      say(`already running; stop it with npm run cluster:down`);
      process.stdout.write(`export KUBECONFIG=${ControlPlane.load(state.stateFile).kubeconfigPath}\n`);
      return;
    }
  }
  const plane = await startControlPlane({ nodes, detached: true, log: say });
  mkdirSync(dirname(pointer), { recursive: true });
  writeFileSync(pointer, JSON.stringify({ stateFile: plane.stateFile }));
  process.stdout.write(`export KUBECONFIG=${plane.kubeconfigPath}\n`);
}

async function down(): Promise<void> {
  if (!existsSync(pointer)) {
    say('no control plane started by cluster:up is running');
    return;
  }
  const { stateFile } = JSON.parse(readFileSync(pointer, 'utf8')) as { stateFile: string };
  if (existsSync(stateFile)) await ControlPlane.load(stateFile).stop();
  rmSync(pointer, { force: true });
  say('stopped');
}

try {
  if (command === 'up') await up();
  else if (command === 'down') await down();
  else throw new Error(`unknown command ${JSON.stringify(command)}: use up [--nodes=N] [--foreground] or down`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
