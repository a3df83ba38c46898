import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The Go programs under test/ that the tests run (kstatus, compose-check, promtool, helm), built
// and cached by dev/build-go-test-tool.sh on first use.

const script = fileURLToPath(new URL('../dev/build-go-test-tool.sh', import.meta.url));
const built = new Map<string, string>();

/** The path of test/NAME's binary, built once per process. */
export function goTestTool(name: string): string {
  const known = built.get(name);
  if (known) return known;
  const r = spawnSync('bash', [script, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`building ${name} failed (exit ${r.status ?? r.error?.message}); see the output above`);
  const binary = r.stdout.trim().split('\n').pop()!;
  built.set(name, binary);
  return binary;
}
