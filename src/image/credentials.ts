import type { Credentials } from './auth.js';

const DOCKER_HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

/**
 * Registry credentials from a Docker `config.json` (`auths`, each with `auth` =
 * base64 `user:password`, or `username` and `password`), keyed by host as
 * `docker login` writes them: a host, a host:port, or a URL.
 */
export function credentialsFromDockerConfig(json: string): (registry: string) => Credentials | undefined {
  let parsed: { auths?: Record<string, { auth?: string; username?: string; password?: string }> };
  try {
    parsed = JSON.parse(json) as typeof parsed;
  } catch (err) {
    throw new Error(`registry credentials: not a Docker config.json: ${(err as Error).message}`, { cause: err });
  }
  const byHost = new Map<string, Credentials>();
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    const creds = entry.username !== undefined ? { username: entry.username, password: entry.password ?? '' } : decode(entry.auth);
    if (!creds) continue;
    const host = hostOf(key);
    for (const name of DOCKER_HUB_KEYS.includes(key) || DOCKER_HUB_KEYS.includes(host) ? DOCKER_HUB_KEYS : [host]) byHost.set(name, creds);
  }
  return (registry) => byHost.get(registry);
}

function decode(auth: string | undefined): Credentials | undefined {
  if (!auth) return undefined;
  const text = Buffer.from(auth, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** `https://registry.example:5000/v2/` → `registry.example:5000`. */
function hostOf(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? key;
}
