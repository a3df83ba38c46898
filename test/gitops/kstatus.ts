import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// kstatus itself (sigs.k8s.io/cli-utils), built from the Go module proxy by
// dev/build-kstatus.sh: the rules Flux and kpt wait on, not our reading of them.

const script = fileURLToPath(new URL('../../dev/build-kstatus.sh', import.meta.url));
let binary: string | undefined;

function kstatusBinary(): string {
  if (binary) return binary;
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`building kstatus failed (exit ${r.status ?? r.error?.message}); see the output above`);
  return (binary = r.stdout.trim().split('\n').pop()!);
}

export interface KstatusVerdict {
  status: 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

/** kstatus's verdict on each object, in order. */
export function kstatus(objects: unknown[]): KstatusVerdict[] {
  const r = spawnSync(kstatusBinary(), [], { input: objects.map((o) => JSON.stringify(o)).join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kstatus failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const v = JSON.parse(line) as KstatusVerdict & { error?: string };
      if (v.error) throw new Error(`kstatus could not judge an object: ${v.error}`);
      return v;
    });
}
