import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { createPki } from '../dev/controlplane/pki.js';

// The operator's idle RSS without a cluster: the built operator runs with
// no apps against a stand-in API server in this process (HTTP/2 over TLS, a token
// kubeconfig) that answers every list with an empty list and holds every watch
// open with a bookmark every 5 s. RSS is read from /proc once the operator has
// been ready for a while, with its anonymous and file-backed parts.
// Usage: tsx bench/idle-rss.ts [runs] [seconds] [root of a built tree, this one
// by default] [entry in it: the bundle the image ships by default,
// dist/bundle/distroless-operator.mjs, or tsc's dist/cli/bin.js]; npm run
// bench:idle-rss bundles first.

const [runs = '5', seconds = '30', root = new URL('../', import.meta.url).pathname, entry = 'dist/bundle/distroless-operator.mjs'] = process.argv.slice(2);

function answer(req: Http2ServerRequest, res: Http2ServerResponse): void {
  const url = new URL(req.url, 'https://stand-in');
  if (url.searchParams.get('watch') === 'true') {
    res.writeHead(200, { 'content-type': 'application/json' });
    const bookmark = () => res.write(`${JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '1' } } })}\n`);
    bookmark();
    const timer = setInterval(bookmark, 5_000);
    res.on('close', () => clearInterval(timer));
    return;
  }
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: [] }));
    return;
  }
  // Writes (Events, say) are accepted as sent.
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(body || '{}');
  });
}

/** RSS and its two parts, in MiB: anonymous (the process's own: V8's heap, buffers) and file-backed (mostly Node's executable, shared with every Node process on the machine). */
interface Resident {
  rss: number;
  anon: number;
  file: number;
}

function residentOf(pid: number): Resident {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024;
  return { rss: kib('VmRSS'), anon: kib('RssAnon'), file: kib('RssFile') };
}

async function once(kubeconfig: string): Promise<Resident & { ready: number | string }> {
  const child = spawn(
    process.execPath,
    [join(root, entry), 'run', '--kubeconfig', kubeconfig, '--leader-elect', 'false', '--metrics-addr', '127.0.0.1:39871', '--health-addr', '127.0.0.1:39872', '--log-level', 'warn'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    await new Promise((resolve) => setTimeout(resolve, Number(seconds) * 1000));
    const resident = residentOf(child.pid!);
    const ready = await fetch('http://127.0.0.1:39872/readyz').then((r) => r.status, () => 'unreachable');
    return { ...resident, ready };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'dlo-idle-'));
const pki = createPki(dir);
const server = createSecureServer({ key: readFileSync(pki.servingKey), cert: readFileSync(pki.servingCert), allowHTTP1: true }, answer);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(
  kubeconfig,
  dump({
    clusters: [{ name: 'stand-in', cluster: { server: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, 'certificate-authority': pki.caCert } }],
    users: [{ name: 'operator', user: { token: 'stand-in-token' } }],
    contexts: [{ name: 'stand-in', context: { cluster: 'stand-in', user: 'operator' } }],
    'current-context': 'stand-in',
  }),
);
try {
  console.log(`Node ${process.version}, ${join(root, entry)}, no apps, RSS after ${seconds} s`);
  for (let i = 1; i <= Number(runs); i++) {
    const { rss, anon, file, ready } = await once(kubeconfig);
    console.log(`run ${i}: RSS ${rss.toFixed(1)} MiB (anonymous ${anon.toFixed(1)}, file-backed ${file.toFixed(1)}), /readyz ${ready}`);
  }
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
