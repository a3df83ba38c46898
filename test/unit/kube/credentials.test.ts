import { chmodSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsFor } from '../../../src/kube/credentials.js';
import { parseExecCredential, runExecPlugin, type ExecPlugin } from '../../../src/kube/exec-plugin.js';

// Credentials at request time: a token file read again as it rotates, and an exec
// plugin (a small shell script here) run once, kept until its credential expires,
// run again after a 401.

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'dlo-credentials-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const V1 = 'client.authentication.k8s.io/v1';

/**
 * A plugin that counts its runs in $DIR/count, keeps its arguments and
 * KUBERNETES_EXEC_INFO, and prints an ExecCredential whose token is numbered by
 * the run, expiring at $EXPIRES when set. $MODE makes it print a certificate,
 * fail, or print garbage.
 */
const PLUGIN = `#!/bin/sh
n=$(cat "$DIR/count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIR/count"
echo "$@" > "$DIR/args"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$DIR/info"
case "$MODE" in
  fail) echo "could not reach the identity provider" >&2; exit 3 ;;
  garbage) echo "Please log in"; exit 0 ;;
  cert) printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"clientCertificateData":"CERT-%s","clientKeyData":"KEY-%s"}}' $n $n; exit 0 ;;
  sleep) sleep 5 ;;
esac
expiry=""
[ -n "$EXPIRES" ] && expiry=",\\"expirationTimestamp\\":\\"$EXPIRES\\""
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"token-%s"%s}}' "\${API:-${V1}}" $n "$expiry"
`;

function plugin(env: Record<string, string> = {}, extra: Partial<ExecPlugin> = {}): ExecPlugin {
  const command = join(dir, 'plugin.sh');
  writeFileSync(command, PLUGIN);
  chmodSync(command, 0o755);
  return { command, args: ['get-token', '--for', 'me'], env: { DIR: dir, ...env }, apiVersion: V1, field: '~/.kube/config: users[name=me].user.exec', ...extra };
}

const runs = () => Number(readFileSync(join(dir, 'count'), 'utf8'));

describe('runExecPlugin', () => {
  it('runs the command with its args and env, and tells it the ExecCredential spec', async () => {
    const result = await runExecPlugin(plugin({ EXPIRES: '2030-01-01T00:00:00Z' }, { cluster: { server: 'https://c:6443' } }));
    expect(result).toEqual({ token: 'token-1', expiresAt: Date.parse('2030-01-01T00:00:00Z') });
    expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe('get-token --for me');
    expect(JSON.parse(readFileSync(join(dir, 'info'), 'utf8'))).toEqual({ apiVersion: V1, kind: 'ExecCredential', spec: { interactive: false, cluster: { server: 'https://c:6443' } } });
  });

  it('takes a client certificate and key', async () => {
    expect(await runExecPlugin(plugin({ MODE: 'cert' }))).toEqual({ clientCert: { cert: 'CERT-1', key: 'KEY-1' } });
  });

  it('names the entry and quotes stderr when the plugin fails', async () => {
    await expect(runExecPlugin(plugin({ MODE: 'fail' }))).rejects.toThrow(
      `~/.kube/config: users[name=me].user.exec: ${join(dir, 'plugin.sh')}: exited with code 3: could not reach the identity provider`,
    );
  });

  it('gives the install hint when the command is not there', async () => {
    const missing = { ...plugin(), command: 'no-such-auth-plugin', installHint: 'Install it with: apt-get install no-such-auth-plugin\n' };
    await expect(runExecPlugin(missing)).rejects.toThrow('users[name=me].user.exec: no-such-auth-plugin: not found\nInstall it with: apt-get install no-such-auth-plugin');
  });

  it('stops a plugin that hangs', async () => {
    await expect(runExecPlugin(plugin({ MODE: 'sleep' }), 200)).rejects.toThrow('plugin.sh: gave no answer within 0.2 s');
  });

  it('refuses output that is no ExecCredential, or one of another apiVersion', async () => {
    await expect(runExecPlugin(plugin({ MODE: 'garbage' }))).rejects.toThrow('printed no ExecCredential (not JSON): "Please log in\\n"');
    await expect(runExecPlugin(plugin({ API: 'client.authentication.k8s.io/v1beta1' }))).rejects.toThrow(
      'printed an ExecCredential of client.authentication.k8s.io/v1beta1, not the client.authentication.k8s.io/v1 the kubeconfig asks for',
    );
  });
});

describe('parseExecCredential', () => {
  const parse = (status: unknown) => parseExecCredential(JSON.stringify({ apiVersion: V1, kind: 'ExecCredential', status }), { apiVersion: V1, field: 'f', command: 'p' });

  it.each([
    [{}, 'f: p printed an ExecCredential with neither status.token nor a client certificate'],
    [{ clientCertificateData: 'C' }, 'only one of status.clientCertificateData and status.clientKeyData'],
    [{ token: 't', expirationTimestamp: 'tomorrow' }, 'status.expirationTimestamp "tomorrow" is not a time'],
  ])('refuses the status %j', (status, message) => expect(() => parse(status)).toThrow(message));

  it('keeps a token and a certificate both', () => {
    expect(parse({ token: 't', clientCertificateData: 'C', clientKeyData: 'K' })).toEqual({ token: 't', clientCert: { cert: 'C', key: 'K' } });
  });
});

describe('credentialsFor', () => {
  it('sends a static token as a bearer token, and a username and password as basic auth', async () => {
    expect(await credentialsFor({ kind: 'token', token: 'abc' }).current()).toEqual({ authorization: 'Bearer abc' });
    expect(await credentialsFor({ kind: 'basic', username: 'admin', password: 'pw' }).current()).toEqual({ authorization: `Basic ${Buffer.from('admin:pw').toString('base64')}` });
    expect(await credentialsFor({ kind: 'none' }).current()).toEqual({});
  });

  describe('a token file', () => {
    let now = 0;
    const tokenPath = () => join(dir, 'token');
    const credentials = () => credentialsFor({ kind: 'tokenFile', path: tokenPath(), field: 'in-cluster config: users[name=in-cluster].user.tokenFile' }, { now: () => now });

    it('is read again once a minute has passed, and at once after a 401', async () => {
      now = 0;
      writeFileSync(tokenPath(), 'first\n');
      const creds = credentials();
      const first = await creds.current();
      expect(first).toEqual({ authorization: 'Bearer first' });
      writeFileSync(tokenPath(), 'second');
      now = 59_000;
      expect(await creds.current()).toBe(first);
      now = 60_000;
      expect(await creds.current()).toEqual({ authorization: 'Bearer second' });
      writeFileSync(tokenPath(), 'third');
      creds.rejected(await creds.current());
      expect(await creds.current()).toEqual({ authorization: 'Bearer third' });
    });

    it('keeps the last token while the file is missing or empty, as it is for a moment when kubelet replaces it', async () => {
      now = 0;
      writeFileSync(tokenPath(), 'kept');
      const creds = credentials();
      await creds.current();
      unlinkSync(tokenPath());
      now = 120_000;
      expect(await creds.current()).toEqual({ authorization: 'Bearer kept' });
      writeFileSync(tokenPath(), '');
      now = 240_000;
      expect(await creds.current()).toEqual({ authorization: 'Bearer kept' });
    });

    it('names the field when the file cannot be read at first', async () => {
      await expect(credentials().current()).rejects.toThrow(`in-cluster config: users[name=in-cluster].user.tokenFile: cannot read ${tokenPath()}: ENOENT`);
      writeFileSync(tokenPath(), ' \n');
      await expect(credentials().current()).rejects.toThrow(`users[name=in-cluster].user.tokenFile: ${tokenPath()} is empty`);
    });
  });

  describe('an exec plugin', () => {
    let now = 0;
    const execCredentials = (env: Record<string, string> = {}) => credentialsFor({ kind: 'exec', plugin: plugin(env) }, { now: () => now });

    it('is run once, its token kept until it expires, then run again', async () => {
      now = Date.parse('2029-12-31T23:00:00Z');
      const creds = execCredentials({ EXPIRES: '2030-01-01T00:00:00Z' });
      expect(await creds.current()).toEqual({ authorization: 'Bearer token-1' });
      now = Date.parse('2029-12-31T23:59:59Z');
      expect(await creds.current()).toEqual({ authorization: 'Bearer token-1' });
      expect(runs()).toBe(1);
      now = Date.parse('2030-01-01T00:00:00Z');
      expect(await creds.current()).toEqual({ authorization: 'Bearer token-2' });
      expect(runs()).toBe(2);
    });

    it('runs once for requests that arrive together', async () => {
      const creds = execCredentials();
      const all = await Promise.all([creds.current(), creds.current(), creds.current()]);
      expect(all.map((c) => c.authorization)).toEqual(['Bearer token-1', 'Bearer token-1', 'Bearer token-1']);
      expect(runs()).toBe(1);
    });

    it('keeps a credential without expiry until the server refuses it, then runs again; a stale refusal changes nothing', async () => {
      const creds = execCredentials();
      const first = await creds.current();
      expect(await creds.current()).toBe(first);
      creds.rejected(first);
      const second = await creds.current();
      expect(second).toEqual({ authorization: 'Bearer token-2' });
      creds.rejected(first);
      expect(await creds.current()).toBe(second);
      expect(runs()).toBe(2);
    });

    it('hands out the client certificate a plugin prints', async () => {
      expect(await execCredentials({ MODE: 'cert' }).current()).toEqual({ clientCert: { cert: 'CERT-1', key: 'KEY-1' } });
    });

    it('runs again after a failed run', async () => {
      const creds = execCredentials({ MODE: 'fail' });
      await expect(creds.current()).rejects.toThrow('exited with code 3');
      await expect(creds.current()).rejects.toThrow('exited with code 3');
      expect(runs()).toBe(2);
    });
  });
});
