import { output, run } from './run.js';

// go-containerregistry's crane, the one tool that writes images: it appends layer
// tarballs to a base (or to an empty image), sets the config, pushes, tags and reads
// manifests. crane leaves the config's `created` time and the history's times at the
// empty image's zero value and compresses layers with Go's gzip (no name, no time in
// its header), so the same tarballs and config always give the same digest.

export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  /** USER: "UID:GID" (numeric, so runAsNonRoot can check it). */
  user?: string;
  env?: Record<string, string>;
  workdir?: string;
}

export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
}

export interface Manifest {
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** A slice flag's value: crane splits it at commas (as CSV), so an element may not hold one. */
function sliceFlag(flag: string, values: string[]): string[] {
  const bad = values.find((v) => v.includes(',') || v.includes('"'));
  if (bad !== undefined) throw new Error(`${flag} element ${JSON.stringify(bad)}: crane reads the flag as comma-separated values`);
  return [`${flag}=${values.join(',')}`];
}

function configFlags(config: ImageConfig): string[] {
  return [
    ...(config.entrypoint ? sliceFlag('--entrypoint', config.entrypoint) : []),
    ...(config.cmd ? sliceFlag('--cmd', config.cmd) : []),
    ...(config.user ? [`--user=${config.user}`] : []),
    ...(config.workdir ? [`--workdir=${config.workdir}`] : []),
    ...Object.entries(config.env ?? {}).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
  ];
}

export class Crane {
  constructor(private readonly bin: string) {}

  /** The digest `ref` names in its registry, or undefined when the registry has no such manifest. */
  async digest(ref: string): Promise<string | undefined> {
    const r = await run(this.bin, ['digest', ref], { okCodes: [1] });
    if (r.code === 0) return r.stdout.trim();
    if (/MANIFEST_UNKNOWN|NAME_UNKNOWN|404/.test(r.stderr)) return undefined;
    throw new Error(`crane digest ${ref} failed: ${r.stderr.trim()}`);
  }

  /**
   * Pushes `layers` on top of `base` (an image reference) or of an empty OCI image,
   * tagged `tag`; resolves with the pushed image's reference by digest.
   */
  async append(base: string | undefined, layers: string[], tag: string): Promise<string> {
    const from = base ? ['--base', base] : ['--oci-empty-base'];
    // Compressing the layers is the build's heaviest step.
    return output(this.bin, ['append', ...from, ...layers.flatMap((l) => ['--new_layer', l]), '--new_tag', tag], { nice: true });
  }

  /** Sets the config of the image `ref` (platform linux/amd64 always) and pushes the result by digest to `repository`; resolves with its reference by digest. */
  async mutate(ref: string, config: ImageConfig, repository: string): Promise<string> {
    return output(this.bin, ['mutate', ref, '--set-platform=linux/amd64', ...configFlags(config), '--repo', repository]);
  }

  /** Points `tag` (a tag name in the image's repository) at the image `ref`. */
  async tag(ref: string, tag: string): Promise<void> {
    await run(this.bin, ['tag', ref, tag]);
  }

  /** Deletes the manifest `ref` (by digest) and the tags that point at it. */
  async delete(ref: string): Promise<void> {
    await run(this.bin, ['delete', ref]);
  }

  async manifest(ref: string): Promise<Manifest> {
    return JSON.parse(await output(this.bin, ['manifest', ref])) as Manifest;
  }

  async config(ref: string): Promise<unknown> {
    return JSON.parse(await output(this.bin, ['config', ref])) as unknown;
  }
}
