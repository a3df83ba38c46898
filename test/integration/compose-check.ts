import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// The Compose specification's own loader (github.com/compose-spec/compose-go/v2, the
// library behind `docker compose`), built from the Go module proxy by
// dev/build-compose-check.sh: the rules Compose reads files by, not our reading of them.

const script = fileURLToPath(new URL('../../dev/build-compose-check.sh', import.meta.url));
let binary: string | undefined;

function composeCheckBinary(): string {
  if (binary) return binary;
  const r = spawnSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`building compose-check failed (exit ${r.status ?? r.error?.message}); see the output above`);
  return (binary = r.stdout.trim().split('\n').pop()!);
}

export interface ComposeVerdict {
  /** The loader accepted the file (strictly: no warning either). */
  ok: boolean;
  /** The services it loaded, sorted, when it accepted the file. */
  services: string[];
  /** Why it refused the file. */
  error: string;
}

/** Loads the Compose file at `path` (relative paths in it resolve from its directory). */
export function composeCheck(path: string): ComposeVerdict {
  const r = spawnSync(composeCheckBinary(), [path], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, services: r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean) : [], error: r.stderr.trim() };
}
