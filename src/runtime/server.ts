import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Probes {
  /** The process is alive and its loops turn. */
  healthy: () => boolean;
  /** The caches are synced: the process could do its job now. */
  ready: () => boolean;
}

/** Serves /healthz and /readyz, and /metrics when a registry is given. */
export function serveHttp(address: string, probes: Probes, registry?: Registry): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer = (ok: boolean) => {
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    };
    if (path === '/healthz') return answer(probes.healthy());
    if (path === '/readyz') return answer(probes.ready());
    if (path === '/metrics' && registry) {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return;
    }
    res.writeHead(404).end('not found\n');
  });
  const { host, port } = parseAddress(address);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** `:8080`, `127.0.0.1:8080` or `[::1]:8080`. */
export function parseAddress(address: string): { host?: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address ${JSON.stringify(address)}: expected HOST:PORT or :PORT`);
  const host = m[1] ?? (m[2] || undefined);
  return { ...(host ? { host } : {}), port: Number(m[3]) };
}
