import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Runs the Argo CD health check with a real Lua interpreter. Lua 5.1, because Argo
// CD runs health checks in gopher-lua, which implements Lua 5.1.

const root = new URL('../../', import.meta.url).pathname;
export const HEALTH_DIR = join(root, 'gitops/argocd/distroless.dev/DistrolessApp');
const LUA = process.env.DLO_LUA ?? 'lua5.1';

export interface HealthStatus {
  status: string;
  message: string;
}

/** A JSON value as a Lua table constructor; null members are left out, as Argo CD's conversion leaves them nil. */
export function toLua(value: unknown): string {
  if (value === null || value === undefined) return 'nil';
  if (typeof value === 'string') return JSON.stringify(value).replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => `\\${parseInt(hex, 16)}`);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `{${value.map(toLua).join(', ')}}`;
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `[${toLua(k)}] = ${toLua(v)}`);
  return `{${members.join(', ')}}`;
}

/** health.lua's verdict on an object, with `obj` set as Argo CD sets it: a global. */
export function argoHealth(object: unknown): HealthStatus {
  const program = [
    `obj = ${toLua(object)}`,
    `local hs = dofile(${toLua(join(HEALTH_DIR, 'health.lua'))})`,
    // One line each; a message with a newline would be a bug of its own.
    'io.write(tostring(hs.status), "\\n", tostring(hs.message), "\\n")',
  ].join('\n');
  const r = spawnSync(LUA, ['-'], { input: program, encoding: 'utf8' });
  if (r.error) throw new Error(`cannot run ${LUA} (install Debian's lua5.1 package, or set DLO_LUA): ${r.error.message}`);
  if (r.status !== 0) throw new Error(`health.lua failed: ${r.stderr}`);
  const [status = '', message = ''] = r.stdout.split('\n');
  return { status, message };
}
