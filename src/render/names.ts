import { shortHash } from './hash.js';

export const MAX_POD_NAME = 63;
const NAME_DIGEST_LENGTH = 8;

/**
 * `APP-HASH-INDEX`, at most 63 characters so it is also a valid hostname. When the
 * app name is too long, it is cut and followed by a digest of the whole name, so
 * two long names that share a prefix still give different Pod names; the hash and
 * the index, which carry meaning, are never cut.
 */
export function podName(appName: string, templateHash: string, index: number): string {
  const suffix = `-${templateHash}-${index}`;
  const full = `${appName}${suffix}`;
  if (full.length <= MAX_POD_NAME) return full;
  const room = MAX_POD_NAME - suffix.length - NAME_DIGEST_LENGTH - 1;
  const prefix = appName.slice(0, room).replace(/-+$/, '');
  return `${prefix}-${shortHash(appName, NAME_DIGEST_LENGTH)}${suffix}`;
}
