import type { Readable } from 'node:stream';
import { extract, type Header as Headers } from 'tar-stream';
import { normalise } from './paths.js';
import type { ContentPolicy, EntryKind, FileEntry, ImageFiles } from './types.js';

const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';
/** BusyBox prints this banner; Syft finds BusyBox by it too. */
const BUSYBOX_BANNER = /BusyBox v(\d+\.\d+(?:\.\d+)?)/;
/** Bytes kept from one chunk to the next, so a banner split across chunks is still found. */
const BANNER_OVERLAP = 32;

const KINDS: Partial<Record<NonNullable<Headers['type']>, EntryKind>> = { file: 'file', 'contiguous-file': 'file', directory: 'dir', symlink: 'symlink', link: 'hardlink' };

/**
 * An image's filesystem built layer by layer from tar streams, as overlayfs would
 * show it: a later entry replaces an earlier one, `.wh.NAME` deletes NAME and what
 * is under it, `.wh..wh..opq` hides a directory's lower-layer children. Only the
 * index and the few files the policy asks for are kept, never a layer's bytes.
 */
export class LayeredFilesystem {
  private readonly entries = new Map<string, FileEntry>();
  private readonly contents = new Map<string, string>();
  private readonly busybox = new Map<string, string>();

  constructor(private readonly policy: ContentPolicy) {}

  /** Reads one layer, uncompressed, to its end. */
  async apply(layer: Readable): Promise<void> {
    const addedHere = new Set<string>();
    const entries = extract();
    layer.on('error', (err) => entries.destroy(err));
    layer.pipe(entries);
    for await (const entry of entries) {
      const path = normalise(entry.header.name);
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (base === OPAQUE) this.hideChildren(parentOf(path), addedHere);
      else if (base.startsWith(WHITEOUT)) this.remove(`${parentOf(path) ? `${parentOf(path)}/` : ''}${base.slice(WHITEOUT.length)}`);
      else if (path) await this.add(path, entry.header, entry as AsyncIterable<Buffer>, addedHere);
      entry.resume(); // whatever was not read is skipped, never held
    }
  }

  files(): ImageFiles {
    return { entries: this.entries, contents: this.contents, busybox: this.busybox };
  }

  private async add(path: string, header: Headers, body: AsyncIterable<Buffer>, addedHere: Set<string>): Promise<void> {
    const entry = entryOf(path, header);
    const old = this.entries.get(path);
    if (old && (old.kind !== 'dir' || entry.kind !== 'dir')) this.remove(path);
    this.entries.set(path, entry);
    addedHere.add(path);
    if (entry.kind === 'hardlink') this.copyKept(entry.linkTarget!, path);
    if (entry.kind === 'file') await this.keep(entry, body);
  }

  /** Keeps the text or the BusyBox version of a file the policy asks about, reading it as it streams past. */
  private async keep(entry: FileEntry, body: AsyncIterable<Buffer>): Promise<void> {
    const wantText = entry.size <= this.policy.maxContentBytes && this.policy.wantsContent(entry.path);
    const scan = this.policy.scanForBusybox(entry);
    if (!wantText && !scan) return;
    const chunks: Buffer[] = [];
    let tail = '';
    for await (const chunk of body) {
      if (wantText) chunks.push(chunk);
      if (!scan || this.busybox.has(entry.path)) continue;
      const text = tail + chunk.toString('latin1');
      const found = BUSYBOX_BANNER.exec(text);
      if (found) this.busybox.set(entry.path, found[1]!);
      tail = text.slice(-BANNER_OVERLAP);
    }
    if (wantText) this.contents.set(entry.path, Buffer.concat(chunks).toString('utf8'));
  }

  private copyKept(from: string, to: string): void {
    const text = this.contents.get(from);
    if (text !== undefined) this.contents.set(to, text);
    const version = this.busybox.get(from);
    if (version !== undefined) this.busybox.set(to, version);
  }

  /** Deletes a path and everything under it; only a directory (or a path a layer never listed) costs a scan. */
  private remove(path: string): void {
    const kind = this.entries.get(path)?.kind;
    if (kind !== undefined && kind !== 'dir') return this.forget(path);
    const prefix = `${path}/`;
    for (const key of [...this.entries.keys()]) {
      if (key === path || key.startsWith(prefix)) this.forget(key);
    }
  }

  /** An opaque directory: its children from lower layers go, those of this layer stay. */
  private hideChildren(dir: string, addedHere: Set<string>): void {
    const prefix = dir ? `${dir}/` : '';
    for (const key of [...this.entries.keys()]) {
      if (key.startsWith(prefix) && key !== dir && !addedHere.has(key)) this.forget(key);
    }
  }

  private forget(key: string): void {
    this.entries.delete(key);
    this.contents.delete(key);
    this.busybox.delete(key);
  }
}

function entryOf(path: string, header: Headers): FileEntry {
  const kind = KINDS[header.type ?? 'file'] ?? 'other';
  const entry: FileEntry = { path, kind, mode: zero(header.mode) & 0o7777, size: zero(header.size), uid: zero(header.uid), gid: zero(header.gid) };
  if (kind === 'symlink') entry.linkTarget = header.linkname ?? '';
  if (kind === 'hardlink') entry.linkTarget = normalise(header.linkname ?? '');
  return entry;
}

const zero = (n: number | undefined): number => n ?? 0;
const parentOf = (path: string): string => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
