import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { dump } from 'js-yaml';
import { createPki, type Pki } from '../../../dev/controlplane/pki.js';
import { loadContext } from '../../../src/kube/context.js';
import type { ResourceType } from '../../../src/kube/resources.js';
import { KubeError, restClient, type RestClient, type WatchedObject } from '../../../src/kube/rest.js';

// The REST client against an API server played in-process over TLS (HTTP/2, as
// kube-apiserver speaks): the kubeconfig's CA, client certificate, server name and
// credentials applied, one kept connection, a 401 answered by fresh credentials,
// and a watch.

const NAMESPACES: ResourceType = { group: '', version: 'v1', plural: 'namespaces' };
const V1 = 'client.authentication.k8s.io/v1';

let dir: string;
let pki: Pki;
let server: Http2SecureServer;
let url: string;
let connections = 0;

interface Seen {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** The CN of the client certificate presented, if any. */
  client: string | undefined;
  version: string;
}
let seen: Seen[] = [];
let respond: (req: Http2ServerRequest, res: Http2ServerResponse) => void;

const json = (res: Http2ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};
const unauthorized = (res: Http2ServerResponse) => json(res, 401, { kind: 'Status', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dlo-rest-'));
  pki = createPki(dir);
  server = createSecureServer({
    key: readFileSync(pki.servingKey),
    cert: readFileSync(pki.servingCert),
    ca: readFileSync(pki.caCert),
    requestCert: true,
    rejectUnauthorized: false,
    allowHTTP1: true,
  });
  server.on('secureConnection', () => connections++);
  server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const socket = (req.stream?.session?.socket ?? req.socket) as TLSSocket;
    const peer = socket.getPeerCertificate();
    seen.push({ path: req.url, headers: req.headers, version: req.httpVersion, client: socket.authorized && peer.subject ? String(peer.subject.CN) : undefined });
    respond(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

let clients: RestClient[] = [];
beforeEach(() => {
  seen = [];
  connections = 0;
  respond = (req, res) => json(res, 200, { kind: 'Namespace', metadata: { name: 'default' }, client: req.url });
});
afterEach(async () => {
  await Promise.all(clients.map((c) => c.close()));
  clients = [];
});

/** A client for a kubeconfig written next to the PKI, with paths relative to it. */
function client(cluster: Record<string, unknown>, user: Record<string, unknown> = {}): RestClient {
  const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(
    path,
    dump({
      clusters: [{ name: 'local', cluster: { server: url, ...cluster } }],
      users: [{ name: 'me', user }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'me' } }],
      'current-context': 'local',
    }),
  );
  const rest = restClient(loadContext({ file: path }), 'rest-unit-test');
  clients.push(rest);
  return rest;
}

const get = (rest: RestClient) => rest.request('GET', { type: NAMESPACES, name: 'default' });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
const relative = (path: string) => path.slice(dir.length + 1);
const admin = () => ({ 'client-certificate': relative(pki.clients.admin.cert), 'client-key': relative(pki.clients.admin.key) });

describe('restClient over TLS', () => {
  it("verifies the server with the kubeconfig's CA, presents its client certificate, and names itself", async () => {
    const rest = client({ 'certificate-authority': relative(pki.caCert) }, admin());
    expect(await get(rest)).toMatchObject({ metadata: { name: 'default' } });
    expect(seen).toEqual([expect.objectContaining({ path: '/api/v1/namespaces/default', client: 'admin' })]);
    expect(seen[0]!.headers).toMatchObject({ 'user-agent': 'rest-unit-test', accept: 'application/json' });
    expect(seen[0]!.headers.authorization).toBeUndefined();
  });

  it('takes inline certificate data as it takes files', async () => {
    const b64 = (p: string) => readFileSync(p).toString('base64');
    const rest = client({ 'certificate-authority-data': b64(pki.caCert) }, { 'client-certificate-data': b64(pki.clients.kwok.cert), 'client-key-data': b64(pki.clients.kwok.key) });
    await get(rest);
    expect(seen[0]!.client).toBe('kwok');
  });

  it('refuses a server its CA did not sign, unless told to skip the check', async () => {
    const err = await failure(get(client({})));
    expect(err).toBeInstanceOf(KubeError);
    expect(err).toMatchObject({ status: 0, reason: 'ConnectionFailed' });
    expect((err as Error).message).toMatch(/^GET \/api\/v1\/namespaces\/default: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/);
    expect(await get(client({ 'insecure-skip-tls-verify': true }))).toBeDefined();
  });

  it('checks the certificate against tls-server-name rather than the host it connects to', async () => {
    expect(await get(client({ 'certificate-authority': pki.caCert, 'tls-server-name': 'kubernetes.default.svc' }))).toBeDefined();
    const err = await failure(get(client({ 'certificate-authority': pki.caCert, 'tls-server-name': 'elsewhere.example' })));
    expect((err as Error).message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
  });

  it('keeps one HTTP/2 connection for every request, sequential or concurrent, and reports it once', async () => {
    const rest = client({ 'certificate-authority': pki.caCert }, admin());
    let reported = 0;
    rest.onConnect = () => reported++;
    for (let i = 0; i < 20; i++) await get(rest);
    await Promise.all(Array.from({ length: 10 }, () => get(rest)));
    expect(connections).toBe(1);
    expect(reported).toBe(1);
    expect(new Set(seen.map((s) => s.version))).toEqual(new Set(['2.0']));
  });

  it('sends a bearer token, basic auth, and impersonation headers', async () => {
    await get(client({ 'certificate-authority': pki.caCert }, { token: 'secret-token', as: 'jane', 'as-uid': '1000' }));
    await get(client({ 'certificate-authority': pki.caCert }, { username: 'admin', password: 'pw' }));
    expect(seen.map((s) => [s.headers.authorization, s.headers['impersonate-user'], s.headers['impersonate-uid']])).toEqual([
      ['Bearer secret-token', 'jane', '1000'],
      [`Basic ${Buffer.from('admin:pw').toString('base64')}`, undefined, undefined],
    ]);
  });

  it('sends the token file as it is now, read again after a 401', async () => {
    const tokenFile = join(dir, 'sa-token');
    writeFileSync(tokenFile, 'old-token');
    const rest = client({ 'certificate-authority': pki.caCert }, { tokenFile: 'sa-token' });
    await get(rest);
    writeFileSync(tokenFile, 'new-token');
    respond = (req, res) => (req.headers.authorization === 'Bearer new-token' ? json(res, 200, {}) : unauthorized(res));
    await get(rest);
    expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer old-token', 'Bearer old-token', 'Bearer new-token']);
  });

  it('turns a 401 with credentials that cannot change into a KubeError, sent once', async () => {
    respond = (_req, res) => unauthorized(res);
    const err = await failure(get(client({ 'certificate-authority': pki.caCert }, { token: 'revoked' })));
    expect(err).toMatchObject({ status: 401, reason: 'Unauthorized', message: 'Unauthorized' });
    expect(seen).toHaveLength(1);
  });

  describe('with an exec plugin', () => {
    /** Prints token-N for its Nth run, or with MODE=cert the admin client certificate; counts runs in $DIR/runs. */
    function plugin(): string {
      const path = join(dir, 'plugin.sh');
      writeFileSync(
        path,
        `#!/bin/sh
n=$(cat "$DIR/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/runs"
if [ "$MODE" = cert ]; then
  pem() { awk '{printf "%s\\\\n", $0}' "$1"; }
  printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}' "$(pem "$CERT")" "$(pem "$KEY")"
else
  printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"token-%s"}}' $n
fi
`,
      );
      chmodSync(path, 0o755);
      rmSync(join(dir, 'runs'), { force: true });
      return path;
    }
    const exec = (env: Record<string, string> = {}) => ({
      exec: { apiVersion: V1, command: `./${relative(plugin())}`, interactiveMode: 'Never', env: Object.entries({ DIR: dir, ...env }).map(([name, value]) => ({ name, value })) },
    });
    const runs = () => Number(readFileSync(join(dir, 'runs'), 'utf8'));

    it("keeps the plugin's token, and on a 401 runs it again and sends the request once more", async () => {
      const rest = client({ 'certificate-authority': pki.caCert }, exec());
      await get(rest);
      await get(rest);
      expect(runs()).toBe(1);
      respond = (req, res) => (req.headers.authorization === 'Bearer token-2' ? json(res, 200, { ok: true }) : unauthorized(res));
      expect(await get(rest)).toEqual({ ok: true });
      expect(runs()).toBe(2);
      expect(seen.map((s) => s.headers.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-1', 'Bearer token-2']);
    });

    it('presents the client certificate the plugin hands out', async () => {
      const rest = client({ 'certificate-authority': pki.caCert }, exec({ MODE: 'cert', CERT: pki.clients.scheduler.cert, KEY: pki.clients.scheduler.key }));
      await get(rest);
      await get(rest);
      expect(seen.map((s) => s.client)).toEqual(['system:kube-scheduler', 'system:kube-scheduler']);
      expect(connections).toBe(1);
    });
  });

  describe('watch', () => {
    it('streams events over a connection of its own, with watch=true and the query, until the server ends it', async () => {
      const rest = client({ 'certificate-authority': pki.caCert }, { token: 't' });
      await get(rest);
      respond = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a', resourceVersion: '5' } } }) + '\n{"type":"BOOK');
        setTimeout(() => res.end('MARK","object":{"metadata":{"resourceVersion":"6"}}}\n'), 20);
      };
      const events: [string, WatchedObject][] = [];
      const done = await new Promise<unknown>((resolve) => {
        void rest.watch({ type: NAMESPACES }, { resourceVersion: '4', allowWatchBookmarks: true, labelSelector: undefined }, { onEvent: (t, o) => events.push([t, o]), onDone: resolve }, 5_000);
      });
      expect(done).toBeNull();
      expect(events).toEqual([
        ['ADDED', { metadata: { name: 'a', resourceVersion: '5' } }],
        ['BOOKMARK', { metadata: { resourceVersion: '6' } }],
      ]);
      expect(seen[1]!.path).toBe('/api/v1/namespaces?watch=true&resourceVersion=4&allowWatchBookmarks=true');
      expect(seen[1]!.headers.authorization).toBe('Bearer t');
      expect(connections).toBe(2);
    });

    it('ends with a KubeError carrying the Status when the server refuses', async () => {
      respond = (_req, res) => json(res, 410, { kind: 'Status', message: 'too old resource version', reason: 'Expired', code: 410 });
      const rest = client({ 'certificate-authority': pki.caCert });
      const done = await new Promise<unknown>((resolve) => {
        void rest.watch({ type: NAMESPACES }, {}, { onEvent: () => {}, onDone: resolve }, 5_000);
      });
      expect(done).toBeInstanceOf(KubeError);
      expect(done).toMatchObject({ status: 410, reason: 'Expired', message: 'too old resource version' });
    });
  });
});
