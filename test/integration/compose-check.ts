import { spawnSync } from 'node:child_process';
import { goTestTool } from '../go-test-tool.js';

// The Compose specification's own loader (github.com/compose-spec/compose-go/v2, the
// library behind `docker compose`), built from the Go module proxy by
// dev/build-go-test-tool.sh: the rules Compose reads files by, not our reading of them.

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
  const r = spawnSync(goTestTool('compose-check'), [path], { encoding: 'utf8' });
  if (r.error) throw r.error;
  return { ok: r.status === 0, services: r.status === 0 ? r.stdout.trim().split('\n').filter(Boolean) : [], error: r.stderr.trim() };
}
