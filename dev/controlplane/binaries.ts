import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../build-control-plane.sh', import.meta.url));

/**
 * The directory of the control plane binaries, building them first when the cache
 * lacks them (minutes when cold, instant when warm). Build progress goes to stderr.
 */
export function ensureBinaries(): string {
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.error) throw new Error(`could not run ${script}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`building the control plane failed (exit ${r.status}); see the output above`);
  const dir = r.stdout.trim().split('\n').pop();
  if (!dir) throw new Error('the control plane build printed no binary directory');
  return dir;
}
