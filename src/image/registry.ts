import { createHash } from 'node:crypto';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip, createZstdDecompress } from 'node:zlib';
import { RegistryAuth, type Credentials } from './auth.js';
import { LayeredFilesystem } from './layers.js';
import { manifestTarget, parseReference } from './reference.js';
import { ImageError, type ContentPolicy, type ImageConfig, type ImageRef, type InspectedImage, type Platform } from './types.js';

export interface RegistryOptions {
  /** The platform picked from an image index; linux/amd64 by default. */
  platform?: Platform;
  /** Time limit of a request, and of a silence while a layer streams; 30 s by default. */
  timeoutMs?: number;
  /** The largest image read, as the sum of its compressed layers; 2 GiB by default. */
  maxImageBytes?: number;
  /** Registries reached over plain HTTP; localhost and 127.0.0.1 by default. */
  plainHttp?: (registry: string) => boolean;
  /** Where a registry named in image references is reached (host[:port]); the name itself by default. */
  endpoint?: (registry: string) => string;
  credentials?: (registry: string) => Credentials | undefined;
  /** Every request made, for counting. */
  onRequest?: (method: string, url: string) => void;
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform;
}

interface Manifest {
  mediaType?: string;
  manifests?: Descriptor[];
  config?: Descriptor;
  layers?: Descriptor[];
}

/** A reference resolved to the manifest of one platform's image. */
export interface ResolvedImage {
  reference: string;
  ref: ImageRef;
  digest: string;
  indexDigest?: string;
  manifest: Manifest;
}

const INDEX_TYPES = ['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json'];
const MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];
const LOCAL = /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/;

/** A registry on this machine, reached over plain HTTP as container runtimes do by default. */
export const isLocalRegistry = (host: string): boolean => LOCAL.test(host);

/** Plain HTTP for local registries and the ones named. */
export function plainHttpFor(insecure: Iterable<string>): (host: string) => boolean {
  const named = new Set(insecure);
  return (host) => isLocalRegistry(host) || named.has(host);
}

/**
 * Registries reached at another address than their name: the images say
 * localhost:5000 because the nodes' container runtime pulls from there, while inside a
 * Pod localhost is the Pod itself (KEP-1755's hostFromClusterNetwork; containerd's
 * hosts.toml server).
 */
export function endpointFor(endpoints: ReadonlyMap<string, string>): (registry: string) => string {
  return (registry) => endpoints.get(registry) ?? registry;
}

/**
 * Reads images from registries with the OCI distribution API: manifests (an index
 * resolved to the wanted platform), the config, and the layers, streamed through
 * the decompressor and the tar reader into a LayeredFilesystem.
 */
export class RegistryReader {
  private readonly auth: RegistryAuth;
  private readonly timeoutMs: number;

  constructor(private readonly options: RegistryOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.auth = new RegistryAuth({ credentials: options.credentials, fetch: (url, init) => this.send(url, init) });
  }

  async resolve(reference: string): Promise<ResolvedImage> {
    const ref = parseReference(reference);
    const first = await this.manifest(ref, manifestTarget(ref));
    if (ref.digest && first.digest !== ref.digest) throw new ImageError('InvalidImage', reference, `the registry sent a manifest of digest ${first.digest}, not the ${ref.digest} asked for`);
    if (!isIndex(first.manifest)) return { reference, ref, digest: first.digest, manifest: first.manifest };
    const chosen = pickPlatform(reference, first.manifest, this.platform);
    const image = await this.manifest(ref, chosen.digest);
    return { reference, ref, digest: image.digest, indexDigest: first.digest, manifest: image.manifest };
  }

  async read(resolved: ResolvedImage, policy: ContentPolicy): Promise<InspectedImage> {
    const { ref, reference, manifest } = resolved;
    const layers = manifest.layers ?? [];
    const compressedBytes = layers.reduce((n, l) => n + l.size, 0);
    const limit = this.options.maxImageBytes ?? 2 * 1024 ** 3;
    if (compressedBytes > limit) throw new ImageError('TooLarge', reference, `its layers are ${compressedBytes} bytes compressed, over the limit of ${limit}`);
    if (!manifest.config) throw new ImageError('InvalidImage', reference, 'the manifest has no config');
    const config = JSON.parse((await this.blob(ref, manifest.config.digest)).toString('utf8')) as RawConfig;
    const fs = new LayeredFilesystem(policy);
    for (const layer of layers) await this.readLayer(ref, layer, fs);
    const platform = { os: config.os ?? '', architecture: config.architecture ?? '', ...(config.variant ? { variant: config.variant } : {}) };
    return { reference, digest: resolved.digest, ...(resolved.indexDigest ? { indexDigest: resolved.indexDigest } : {}), platform, config: imageConfig(config), compressedBytes, files: fs.files() };
  }

  private get platform(): Platform {
    return this.options.platform ?? { os: 'linux', architecture: 'amd64' };
  }

  private async manifest(ref: ImageRef, target: string): Promise<{ digest: string; manifest: Manifest }> {
    const response = await this.get(ref, `manifests/${target}`, [...INDEX_TYPES, ...MANIFEST_TYPES].join(', '));
    const body = Buffer.from(await response.arrayBuffer());
    let manifest: Manifest;
    try {
      manifest = JSON.parse(body.toString('utf8')) as Manifest;
    } catch {
      throw new ImageError('InvalidImage', ref.original, `the manifest ${target} is not JSON`);
    }
    manifest.mediaType ??= response.headers.get('content-type') ?? undefined;
    if (!isIndex(manifest) && !manifest.layers) throw new ImageError('InvalidImage', ref.original, `unsupported manifest type ${manifest.mediaType ?? '(none)'}`);
    return { digest: `sha256:${createHash('sha256').update(body).digest('hex')}`, manifest };
  }

  private async blob(ref: ImageRef, digest: string): Promise<Buffer> {
    return Buffer.from(await (await this.get(ref, `blobs/${digest}`)).arrayBuffer());
  }

  private async readLayer(ref: ImageRef, layer: Descriptor, fs: LayeredFilesystem): Promise<void> {
    const abort = new AbortController();
    const response = await this.get(ref, `blobs/${layer.digest}`, undefined, abort.signal);
    if (!response.body) throw new ImageError('InvalidImage', ref.original, `layer ${layer.digest} has no body`);
    // A layer may take long; a layer that stops flowing may not.
    const idle = new IdleTimeout(this.timeoutMs, () => abort.abort(new ImageError('Timeout', ref.original, `layer ${layer.digest} stalled for ${this.timeoutMs} ms`)));
    const source = Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>).pipe(idle);
    const stream = source.pipe(decompressor(layer.mediaType ?? ''));
    source.on('error', (err) => stream.destroy(err));
    try {
      await fs.apply(stream);
    } catch (err) {
      throw abort.signal.reason instanceof ImageError ? abort.signal.reason : new ImageError('InvalidImage', ref.original, `layer ${layer.digest}: ${(err as Error).message}`);
    } finally {
      idle.stop();
      abort.abort();
    }
  }

  /** A GET of `/v2/<repository>/<path>`, authenticated as the registry asks; errors named by what the registry answered. */
  private async get(ref: ImageRef, path: string, accept?: string, signal?: AbortSignal): Promise<Response> {
    const url = `${this.scheme(ref.registry)}://${this.options.endpoint?.(ref.registry) ?? ref.registry}/v2/${ref.repository}/${path}`;
    const response = await this.auth.fetch(ref, url, { headers: accept ? { accept } : {}, signal });
    if (response.ok) return response;
    throw await answerError(ref, path, response);
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    this.options.onRequest?.('GET', url);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await fetch(url, { ...init, signal });
    } catch (err) {
      throw networkError(url, err, this.timeoutMs);
    }
  }

  private scheme(registry: string): 'http' | 'https' {
    return (this.options.plainHttp ?? isLocalRegistry)(registry) ? 'http' : 'https';
  }
}

interface RawConfig {
  os?: string;
  architecture?: string;
  variant?: string;
  config?: { User?: string; Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string };
}

function imageConfig(raw: RawConfig): ImageConfig {
  const c = raw.config ?? {};
  return { user: c.User ?? '', entrypoint: c.Entrypoint ?? [], cmd: c.Cmd ?? [], env: c.Env ?? [], workingDir: c.WorkingDir ?? '' };
}

const isIndex = (m: Manifest): boolean => Array.isArray(m.manifests) || INDEX_TYPES.includes(m.mediaType ?? '');

function pickPlatform(reference: string, index: Manifest, want: Platform): Descriptor {
  const offered = (index.manifests ?? []).filter((m) => m.platform && m.platform.os !== 'unknown');
  const found = offered.find((m) => m.platform!.os === want.os && m.platform!.architecture === want.architecture && (!want.variant || m.platform!.variant === want.variant));
  if (found) return found;
  const names = offered.map((m) => [m.platform!.os, m.platform!.architecture, m.platform!.variant].filter(Boolean).join('/'));
  throw new ImageError('NoMatchingPlatform', reference, `no ${[want.os, want.architecture, want.variant].filter(Boolean).join('/')} image in its index, which offers ${names.join(', ') || 'none'}`);
}

function decompressor(mediaType: string): Transform {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return createZstdDecompress();
  if (mediaType.endsWith('.tar') || mediaType.endsWith('tar')) return new Transform({ transform: (chunk, _, done) => done(null, chunk) });
  return createGunzip();
}

async function answerError(ref: ImageRef, path: string, response: Response): Promise<ImageError> {
  const text = await response.text().catch(() => '');
  let said = text.slice(0, 300);
  try {
    const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (first) said = [first.code, first.message].filter(Boolean).join(': ');
  } catch {
    // not JSON: the text itself says it
  }
  const answer = `${ref.registry} answered ${response.status} to ${path}${said ? `: ${said}` : ''}`;
  const code = response.status === 404 ? 'NotFound' : response.status === 401 || response.status === 403 ? 'Unauthorized' : 'RegistryError';
  return new ImageError(code, ref.original, answer, response.status);
}

function networkError(url: string, err: unknown, timeoutMs: number): ImageError {
  const host = new URL(url).host;
  const name = (err as { name?: string }).name;
  if (err instanceof ImageError) return err;
  if (name === 'TimeoutError') return new ImageError('Timeout', host, `no answer from ${host} within ${timeoutMs} ms`);
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return new ImageError('Unreachable', host, `cannot reach ${host}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
}

/** Passes bytes through, and calls `onIdle` when none came for `ms`. */
class IdleTimeout extends Transform {
  private timer: NodeJS.Timeout;

  constructor(
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {
    super();
    this.timer = setTimeout(onIdle, ms);
  }

  override _transform(chunk: Buffer, _: BufferEncoding, done: TransformCallback): void {
    this.timer.refresh();
    done(null, chunk);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
