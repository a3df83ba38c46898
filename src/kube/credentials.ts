import { readFileSync } from 'node:fs';
import type { Auth } from './context.js';
import { runExecPlugin, type ExecPlugin, type ExecResult } from './exec-plugin.js';
import { KubeconfigError } from './kubeconfig.js';

/**
 * What the next request to the API server authenticates with: an Authorization
 * header and, from an exec plugin, maybe a client certificate. Static tokens and
 * passwords never change; a token file is read again every minute (kubelet rotates
 * projected ServiceAccount tokens; client-go re-reads the file as often); an exec
 * plugin's answer is kept until it expires. A 401 makes the next request fetch
 * afresh.
 */

export interface Credential {
  authorization?: string;
  clientCert?: { cert: string; key: string };
}

export interface Credentials {
  current(): Promise<Credential>;
  /** The server refused `used` (401): forget it, so that `current` reads or runs again. */
  rejected(used: Credential): void;
}

export interface CredentialOptions {
  now?: () => number;
  runPlugin?: (plugin: ExecPlugin) => Promise<ExecResult>;
  tokenFileMaxAgeMs?: number;
}

export function credentialsFor(auth: Auth, options: CredentialOptions = {}): Credentials {
  const now = options.now ?? Date.now;
  switch (auth.kind) {
    case 'token':
      return fixed({ authorization: `Bearer ${auth.token}` });
    case 'basic':
      return fixed({ authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` });
    case 'tokenFile':
      return new TokenFile(auth.path, auth.field, now, options.tokenFileMaxAgeMs ?? 60_000);
    case 'exec':
      return new ExecPluginCredentials(auth.plugin, now, options.runPlugin ?? runExecPlugin);
    case 'none':
      return fixed({});
  }
}

/** Whether two credentials would authenticate a request the same way. */
export const sameCredential = (a: Credential, b: Credential): boolean =>
  a.authorization === b.authorization && a.clientCert?.cert === b.clientCert?.cert && a.clientCert?.key === b.clientCert?.key;

function fixed(credential: Credential): Credentials {
  return { current: () => Promise.resolve(credential), rejected: () => {} };
}

class TokenFile implements Credentials {
  private credential: Credential | undefined;
  private readAt = -Infinity;

  constructor(
    private readonly path: string,
    private readonly field: string,
    private readonly now: () => number,
    private readonly maxAgeMs: number,
  ) {}

  async current(): Promise<Credential> {
    if (!this.credential || this.now() - this.readAt >= this.maxAgeMs) this.read();
    return this.credential!;
  }

  rejected(): void {
    this.readAt = -Infinity;
  }

  private read(): void {
    let token = '';
    try {
      token = readFileSync(this.path, 'utf8').trim();
    } catch (err) {
      // A file being replaced can be missing for a moment: the last token read stays in use, as in client-go.
      if (!this.credential) throw new KubeconfigError(`${this.field}: cannot read ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    this.readAt = this.now();
    if (!token) {
      if (!this.credential) throw new KubeconfigError(`${this.field}: ${this.path} is empty`);
      return;
    }
    if (this.credential?.authorization !== `Bearer ${token}`) this.credential = { authorization: `Bearer ${token}` };
  }
}

class ExecPluginCredentials implements Credentials {
  private cached: { credential: Credential; expiresAt: number | undefined } | undefined;
  private running: Promise<Credential> | undefined;

  constructor(
    private readonly plugin: ExecPlugin,
    private readonly now: () => number,
    private readonly runPlugin: (plugin: ExecPlugin) => Promise<ExecResult>,
  ) {}

  current(): Promise<Credential> {
    const cached = this.cached;
    if (cached && (cached.expiresAt === undefined || this.now() < cached.expiresAt)) return Promise.resolve(cached.credential);
    // Requests that arrive while the plugin runs wait for that one run.
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  rejected(used: Credential): void {
    if (this.cached && sameCredential(this.cached.credential, used)) this.cached = undefined;
  }

  private async run(): Promise<Credential> {
    const result = await this.runPlugin(this.plugin);
    const credential: Credential = {};
    if (result.token) credential.authorization = `Bearer ${result.token}`;
    if (result.clientCert) credential.clientCert = result.clientCert;
    this.cached = { credential, expiresAt: result.expiresAt };
    return credential;
  }
}
