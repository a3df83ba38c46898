import { homedir } from 'node:os';
import { join } from 'node:path';

// Where the image tooling keeps what it builds and serves. Everything is a cache:
// removing a directory costs a rebuild, never correctness.

export const CACHE_DIR = process.env.DISTROLESS_CACHE_DIR ?? join(homedir(), '.cache', 'distroless-operator');

/** Downloaded .debs, layer tarballs and records of pushed images. */
export const IMAGES_DIR = join(CACHE_DIR, 'images');
/** .deb files as apt-get download fetched them, named NAME_VERSION_ARCH.deb (the epoch's colon as %3a). */
export const DEBS_DIR = join(IMAGES_DIR, 'debs');
/** One reproducible layer tarball per input fingerprint: KEY.tar beside KEY.json (its digest, size, packages). */
export const LAYERS_DIR = join(IMAGES_DIR, 'layers');
/** Per image: the inputs' fingerprint and the digest they gave, so an unchanged image is not reassembled. */
export const RECORDS_DIR = join(IMAGES_DIR, 'records');
/** File trees being assembled; each build removes its own. */
export const WORK_DIR = join(IMAGES_DIR, 'work');
/** Logs of the long steps (debootstrap), kept for a failed build's reader. */
export const LOGS_DIR = join(IMAGES_DIR, 'logs');

/** The registry's config, log and storage (pushed images survive restarts). */
export const REGISTRY_DIR = join(CACHE_DIR, 'registry');

/** The name images are pushed and pulled by; containerd's hosts.toml maps it to REGISTRY_URL. */
export const REGISTRY_HOST = 'localhost:5000';
/** Fixed, one registry per machine: the real node's containerd is configured with it. */
export const REGISTRY_ADDR = '127.0.0.1:5000';
export const REGISTRY_URL = `http://${REGISTRY_ADDR}`;
/**
 * Where it listens: every address, so the real node's Pods reach it too, through
 * their bridge's gateway (an operator in a Pod inspects the images the node pulls).
 * No authentication: a registry for a test machine, not for a shared network.
 */
export const REGISTRY_LISTEN = `:${REGISTRY_ADDR.split(':')[1]}`;

/**
 * Every file of every layer gets this modification time: the day Debian 12 (bookworm)
 * was released, 2023-06-10. A fixed time makes layer tarballs, and so digests,
 * depend on content only.
 */
export const SOURCE_DATE_EPOCH = 1686355200;
