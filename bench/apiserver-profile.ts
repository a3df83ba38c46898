import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { kubectlPath } from '../dev/controlplane/kubectl.js';

// kube-apiserver's own CPU profile while the operator converges: where the API
// server, the bottleneck on every machine measured, spends its time on our apps.
// The control plane must serve /debug/pprof (StartOptions.apiserverProfiling).

/** The frames whose inclusive share answers "what does a DistrolessApp cost the API server". */
const FRAMES: Record<string, RegExp> = {
  'DistrolessApp status writes': /customresource\.\(\*StatusREST\)\.Update$/,
  'creates (Pods and apps)': /registry\.\(\*Store\)\.create$/,
  'CEL rules (creates and status writes)': /schema\/cel\.\(\*Validator\)\.Validate$/,
  'managedFields': /managedfields\/internal\.\(\*FieldManager\)\.Update$/,
  'merge patches applied': /handlers\.\(\*jsonPatcher\)\.applyPatchToCurrentObject$/,
};

/** Starts a profile of `seconds` and resolves once it is written to `file`. */
export function captureApiserverProfile(kubeconfig: string, seconds: number, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlPath(), ['--kubeconfig', kubeconfig, 'get', '--raw', `/debug/pprof/profile?seconds=${seconds}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.pipe(createWriteStream(file));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kube-apiserver profile: kubectl exited ${code}: ${stderr.trim()}`))));
  });
}

/**
 * Each frame's inclusive share of the profile's samples, read with `go tool pprof`
 * (Go is how the control plane was built); undefined when go is not on PATH.
 */
export function summarizeApiserverProfile(file: string): Record<string, number> | undefined {
  const r = spawnSync('go', ['tool', 'pprof', '-top', '-cum', '-nodecount=400', file], { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) return undefined;
  const shares: Record<string, number> = {};
  for (const line of r.stdout.split('\n')) {
    // flat flat% sum% cum cum% name
    const m = /^\s*\S+\s+\S+%\s+\S+%\s+\S+\s+([\d.]+)%\s+(.+)$/.exec(line);
    if (!m) continue;
    for (const [label, frame] of Object.entries(FRAMES)) {
      if (frame.test(m[2]!)) shares[label] = Math.max(shares[label] ?? 0, Number(m[1]));
    }
  }
  return shares;
}
