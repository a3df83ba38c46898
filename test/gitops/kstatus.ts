import { spawnSync } from 'node:child_process';
import { goTestTool } from '../go-test-tool.js';

// kstatus itself (sigs.k8s.io/cli-utils), built from the Go module proxy by
// dev/build-go-test-tool.sh: the rules Flux and kpt wait on, not our reading of them.

export interface KstatusVerdict {
  status: 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

/** kstatus's verdict on each object, in order. */
export function kstatus(objects: unknown[]): KstatusVerdict[] {
  const r = spawnSync(goTestTool('kstatus'), [], { input: objects.map((o) => JSON.stringify(o)).join('\n'), encoding: 'utf8', maxBuffer: 64 << 20 });
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
