import { Agent, type Dispatcher } from 'undici';
import type { KubeContext } from './context.js';
import { credentialsFor, sameCredential, type Credential, type CredentialOptions, type Credentials } from './credentials.js';

/**
 * The way to one API server: undici dispatchers with the context's TLS options,
 * and the headers that authenticate the next request. Requests share one kept
 * Agent, so its keep-alive connection is reused and, with HTTP/2 (which undici
 * negotiates with kube-apiserver), one connection carries concurrent requests.
 * A long-lived stream such as a watch gets an Agent of its own, hence its own
 * connection, which its caller closes when the stream ends.
 */

export interface Prepared {
  dispatcher: Dispatcher;
  headers: Record<string, string>;
  credential: Credential;
}

export class ApiConnection {
  readonly server: string;
  private readonly credentials: Credentials;
  private kept: { agent: Agent; credential: Credential } | undefined;

  constructor(
    private readonly context: KubeContext,
    options: CredentialOptions = {},
  ) {
    this.server = context.server;
    this.credentials = credentialsFor(context.auth, options);
  }

  /** For one request: the kept Agent, and the headers that authenticate it. */
  async forRequest(): Promise<Prepared> {
    const credential = await this.credentials.current();
    return { dispatcher: this.keptAgent(credential), headers: this.headers(credential), credential };
  }

  /** For one long-lived stream: an Agent of its own, which the caller closes. */
  async forStream(): Promise<Prepared> {
    const credential = await this.credentials.current();
    return { dispatcher: this.agent(credential), headers: this.headers(credential), credential };
  }

  /**
   * The server answered 401 to what `used` carried. The credentials forget it (a
   * token file is read again, an exec plugin run again); returns what to retry
   * with, or undefined when the fresh credential is no different.
   */
  async afterUnauthorized(used: Prepared): Promise<Prepared | undefined> {
    this.credentials.rejected(used.credential);
    const fresh = await this.forRequest();
    return sameCredential(fresh.credential, used.credential) ? undefined : fresh;
  }

  async close(): Promise<void> {
    await this.kept?.agent.close();
    this.kept = undefined;
  }

  private headers(credential: Credential): Record<string, string> {
    return { ...this.context.headers, ...(credential.authorization ? { Authorization: credential.authorization } : {}) };
  }

  /** The kept Agent; a new one only when an exec plugin hands out a new client certificate. */
  private keptAgent(credential: Credential): Agent {
    if (this.kept && sameCertificate(this.kept.credential, credential)) return this.kept.agent;
    const old = this.kept?.agent;
    this.kept = { agent: this.agent(credential), credential };
    // Requests in flight on the old Agent finish; close() waits for them.
    void old?.close().catch(() => {});
    return this.kept.agent;
  }

  private agent(credential: Credential): Agent {
    const { ca, cert, key, rejectUnauthorized, servername } = this.context.tls;
    return new Agent({
      connect: {
        ca,
        cert: credential.clientCert?.cert ?? cert,
        key: credential.clientCert?.key ?? key,
        ...(rejectUnauthorized === false ? { rejectUnauthorized } : {}),
        ...(servername ? { servername } : {}),
        // undici's default keep-alive probe (60 s) can lose the race with a load
        // balancer's idle timeout; 30 s is client-go's.
        keepAlive: true,
        keepAliveInitialDelay: 30_000,
      },
    });
  }
}

const sameCertificate = (a: Credential, b: Credential): boolean => a.clientCert?.cert === b.clientCert?.cert && a.clientCert?.key === b.clientCert?.key;
