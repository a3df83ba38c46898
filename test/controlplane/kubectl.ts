import { existsSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { readVersions } from './versions.js';

/**
 * The kubectl matching the pinned Kubernetes minor. Machines here carry several
 * side by side (kubectl.1.27 ... kubectl.1.33) next to the default one; use the
 * matching one when present, otherwise the default kubectl.
 */
export function kubectlPath(): string {
  const which = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('kubectl is not on PATH; the end-to-end checks use the real kubectl');
  const minor = readVersions().kubernetes.split('.').slice(0, 2).join('.');
  const matching = join(dirname(realpathSync(which)), `kubectl.${minor}`);
  return existsSync(matching) ? matching : which;
}
