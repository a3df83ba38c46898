import type { FileEntry } from './types.js';

/** Links followed before giving up, as Linux's own limit on symlink chains. */
const MAX_LINKS = 40;

/** `a/b/../c` → `a/c`, relative, no leading or trailing slash; `..` never climbs above the root. */
export function normalise(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

/**
 * The entry a path leads to in an image's filesystem, following symlinks (in the
 * path's directories too, as the kernel does) and hard links; undefined when it
 * leads nowhere (a dangling link, a loop).
 */
export function resolvePath(entries: ReadonlyMap<string, FileEntry>, path: string): FileEntry | undefined {
  const walk = { pending: parts(path), resolved: '', links: 0 };
  while (walk.pending.length > 0) if (!step(entries, walk)) return undefined;
  const found = entries.get(walk.resolved);
  return found?.kind === 'hardlink' ? entries.get(found.linkTarget ?? '') : found;
}

/** One path part further: into a directory or file, or through a symlink; false when the path leads nowhere. */
function step(entries: ReadonlyMap<string, FileEntry>, walk: { pending: string[]; resolved: string; links: number }): boolean {
  const [head, ...tail] = walk.pending;
  const next = walk.resolved ? `${walk.resolved}/${head}` : head!;
  const entry = entries.get(next);
  // A layer need not list a file's directories: a missing one on the way is implied by what lies under it.
  if (!entry && tail.length === 0) return false;
  if (entry?.kind !== 'symlink') {
    Object.assign(walk, { pending: tail, resolved: next });
    return true;
  }
  walk.links += 1;
  Object.assign(walk, { pending: [...linkParts(walk.resolved, entry.linkTarget ?? ''), ...tail], resolved: '' });
  return walk.links <= MAX_LINKS;
}

/** A symlink's target as path parts from the root: absolute, or relative to the link's directory. */
const linkParts = (dir: string, target: string): string[] => parts(target.startsWith('/') ? target : `${dir}/${target}`);
const parts = (path: string): string[] => normalise(path).split('/').filter(Boolean);
