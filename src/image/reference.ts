import { ImageError, type ImageRef } from './types.js';

const DOCKER_HUB = 'registry-1.docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', DOCKER_HUB]);
const REPOSITORY_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/**
 * Splits an image reference as the container runtimes do: the first component is
 * a registry when it has a dot or a port or is `localhost`; otherwise the image is
 * on Docker Hub, where one-word names live under `library/`. No tag means `latest`.
 */
export function parseReference(original: string): ImageRef {
  const check = (ok: boolean, why: () => string): void => {
    if (!ok) throw new ImageError('InvalidReference', original, `not an image reference: ${why()}`);
  };
  const [rest = '', digest, ...more] = original.split('@');
  check(more.length === 0 && (digest === undefined || DIGEST_RE.test(digest)), () => `${JSON.stringify(digest)} is not one sha256 digest`);
  const { registry, path } = splitRegistry(rest);
  const [name, tag] = splitTag(path);
  check(tag === undefined || TAG_RE.test(tag), () => `${JSON.stringify(tag)} is not a tag`);
  const repository = registry === DOCKER_HUB && !name.includes('/') ? `library/${name}` : name;
  check(REPOSITORY_RE.test(repository), () => `${JSON.stringify(name)} is not a repository name`);
  return { registry, repository, tag: tag ?? (digest ? undefined : 'latest'), digest, original };
}

function splitTag(path: string): [string, string | undefined] {
  const colon = path.lastIndexOf(':');
  return colon < 0 ? [path, undefined] : [path.slice(0, colon), path.slice(colon + 1)];
}

/** The registry host, when the first component names one (a dot, a port, or localhost), and the rest. */
function splitRegistry(text: string): { registry: string; path: string } {
  const slash = text.indexOf('/');
  const first = slash < 0 ? '' : text.slice(0, slash);
  if (!(first.includes('.') || first.includes(':') || first === 'localhost')) return { registry: DOCKER_HUB, path: text };
  return { registry: DOCKER_HUB_ALIASES.has(first) ? DOCKER_HUB : first, path: text.slice(slash + 1) };
}

/** What the manifest request names: the digest when pinned, else the tag. */
export const manifestTarget = (ref: ImageRef): string => ref.digest ?? ref.tag ?? 'latest';
