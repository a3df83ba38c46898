import type { ImageRef } from './types.js';

export interface Credentials {
  username: string;
  password: string;
}

interface AuthOptions {
  credentials?: ((registry: string) => Credentials | undefined) | undefined;
  fetch: (url: string, init: RequestInit) => Promise<Response>;
}

interface Token {
  header: string;
  expiresAt: number;
}

/**
 * The distribution API's auth dance: ask anonymously; on 401 read the
 * `WWW-Authenticate` challenge and either get a bearer token from its realm (with
 * basic credentials when there are some) or send basic credentials; ask again.
 * Tokens are kept per registry and repository until they expire.
 */
export class RegistryAuth {
  private readonly tokens = new Map<string, Token>();

  constructor(private readonly options: AuthOptions) {}

  async fetch(ref: ImageRef, url: string, init: RequestInit): Promise<Response> {
    const key = `${ref.registry}/${ref.repository}`;
    const cached = this.tokens.get(key);
    const first = await this.options.fetch(url, withAuth(init, cached && cached.expiresAt > Date.now() ? cached.header : undefined));
    if (first.status !== 401) return first;
    const header = await this.authorise(ref, first.headers.get('www-authenticate') ?? '');
    if (!header) return first; // no way in: the caller reports the 401 and what the registry said
    await first.body?.cancel();
    return this.options.fetch(url, withAuth(init, header));
  }

  private async authorise(ref: ImageRef, challenge: string): Promise<string | undefined> {
    const creds = this.options.credentials?.(ref.registry);
    const [scheme = '', ...rest] = challenge.trim().split(/\s+/);
    const params = parseParams(rest.join(' '));
    if (scheme.toLowerCase() === 'basic') return creds ? basic(creds) : undefined;
    if (scheme.toLowerCase() !== 'bearer' || !params.realm) return undefined;
    const token = await this.token(ref, params, creds);
    return token ? `Bearer ${token}` : undefined;
  }

  /** A token from the challenge's realm, for pulling the repository, kept until it expires. */
  private async token(ref: ImageRef, params: Record<string, string>, creds: Credentials | undefined): Promise<string | undefined> {
    const url = new URL(params.realm!);
    if (params.service) url.searchParams.set('service', params.service);
    url.searchParams.set('scope', params.scope ?? `repository:${ref.repository}:pull`);
    const response = await this.options.fetch(url.toString(), { headers: creds ? { authorization: basic(creds) } : {} });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const body = (await response.json()) as { token?: string; access_token?: string; expires_in?: number };
    const token = body.token ?? body.access_token;
    // Expire a little early: a token that dies in flight costs a 401 and a retry.
    if (token) this.tokens.set(`${ref.registry}/${ref.repository}`, { header: `Bearer ${token}`, expiresAt: Date.now() + Math.max(0, (body.expires_in ?? 60) - 10) * 1000 });
    return token;
  }
}

const basic = (c: Credentials): string => `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

function withAuth(init: RequestInit, header: string | undefined): RequestInit {
  if (!header) return init;
  return { ...init, headers: { ...(init.headers as Record<string, string>), authorization: header } };
}

/** `realm="https://auth.example/token",service="registry",scope="repository:a:pull"` → its parts. */
function parseParams(text: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const m of text.matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!.toLowerCase()] = m[2]!;
  return params;
}
