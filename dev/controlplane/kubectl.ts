import { existsSync, realpathSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { readVersions } from './versions.js';

let found: string | undefined;

/**
 * The kubectl matching the pinned Kubernetes minor, so the end-to-end checks see
 * what a user of that version sees (kubectl's output and validation change between
 * minors). Machines here carry several side by side (kubectl.1.27 ... kubectl.1.33)
 * next to the default one. Order: $DLO_KUBECTL; kubectl.<minor> beside the kubectl
 * on PATH; the kubectl on PATH if it is that minor. Anything else is an error, not
 * a silent fallback to another version.
 */
export function kubectlPath(): string {
  if (found) return found;
  const minor = readVersions().kubernetes.split('.').slice(0, 2).join('.');
  const override = process.env.DLO_KUBECTL;
  found = override ? existingOverride(override) : kubectlOfMinor(minor);
  return found;
}

function existingOverride(path: string): string {
  if (!existsSync(path)) throw new Error(`DLO_KUBECTL=${path} does not exist`);
  return path;
}

/** kubectl.<minor> beside the kubectl on PATH, or that kubectl itself when it is that minor. */
function kubectlOfMinor(minor: string): string {
  const which = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error(`kubectl is not on PATH; the end-to-end checks need kubectl ${minor} (or set DLO_KUBECTL)`);
  const matching = join(dirname(realpathSync(which)), `kubectl.${minor}`);
  if (existsSync(matching)) return matching;
  const client = clientVersion(which);
  // A minor such as "33+" (some vendors' builds) is still 33.
  if (client && `${client.major}.${client.minor?.replace(/\D+$/, '')}` === minor) return which;
  throw new Error(
    `no kubectl ${minor}: neither ${matching} exists nor is ${which} version ${minor} ` +
      `(it is ${client ? `${client.major}.${client.minor}` : 'unknown'}); install kubectl ${minor} or set DLO_KUBECTL`,
  );
}

/** What `kubectl version --client` says of itself; undefined when it cannot say. */
function clientVersion(kubectl: string): { major?: string; minor?: string } | undefined {
  const version = spawnSync(kubectl, ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (version.status !== 0) return undefined;
  return (JSON.parse(version.stdout) as { clientVersion?: { major?: string; minor?: string } }).clientVersion;
}
