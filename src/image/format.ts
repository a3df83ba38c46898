import type { ImageVerdict } from './types.js';
import { LANGUAGE_PACKAGE_MANAGERS } from './verdict.js';

// Verdicts as text: one line for an Event, a condition or a validate problem, and
// a table for the CLI. Pure.

/** One image's verdict, or why it could not be read. */
export type InspectionResult = { image: string; verdict: ImageVerdict } | { image: string; error: string };

const plural = (n: number, one: string, many: string): string => (n === 1 ? one : many);

/** What makes an image not distroless first, then what it is: `shells /bin/sh, /bin/bash; package managers apt, dpkg; dpkg (88 packages); user 0 (root); scanners: visible`. */
export function verdictSummary(v: ImageVerdict): string {
  return [shellsText(v), busyboxText(v), packageManagersText(v), metadataText(v), `user ${userText(v.user)}`, `scanners: ${scannersText(v)}`].filter(Boolean).join('; ');
}

function shellsText(v: ImageVerdict): string {
  if (v.shells.length === 0) return v.busybox ? '' : 'no shell';
  return `${plural(v.shells.length, 'shell', 'shells')} ${v.shells.join(', ')}`;
}

function busyboxText(v: ImageVerdict): string {
  if (!v.busybox) return '';
  const { path, version, applets } = v.busybox;
  return `BusyBox ${version} at /${path} (${applets} applet ${plural(applets, 'link', 'links')})`;
}

/** Language package managers are marked: they are listed, not judged. */
function packageManagersText(v: ImageVerdict): string {
  if (v.packageManagers.length === 0) return 'no package manager';
  const names = v.packageManagers.map((p) => (LANGUAGE_PACKAGE_MANAGERS.includes(p) ? `${p} (language)` : p));
  return `${plural(names.length, 'package manager', 'package managers')} ${names.join(', ')}`;
}

/** `dpkg (88 packages)`, `dpkg-status.d (9 packages)`, `rpm (var/lib/rpm/rpmdb.sqlite, not counted)`. */
export function metadataText(v: ImageVerdict): string {
  if (v.packageMetadata.length === 0) return 'no package metadata';
  return v.packageMetadata
    .map((m) => (m.packages === undefined ? `${m.format} (${m.path}, not counted)` : `${m.format} (${m.packages} ${plural(m.packages, 'package', 'packages')})`))
    .join(', ');
}

/** `0 (root)`, `0 (root: unset)`, `65532`, `65532 (nonroot)`, `app (not in /etc/passwd)`. */
export function userText(u: ImageVerdict['user']): string {
  if (u.uid === undefined) return `${u.configured} (not in /etc/passwd)`;
  const name = u.configured.split(':')[0] ?? '';
  const named = name !== '' && !/^\d+$/.test(name) && name !== 'root';
  const notes = [u.uid === 0 ? 'root' : '', named ? name : ''].filter(Boolean).join(', ');
  const unset = u.configured === '' ? ': unset' : '';
  return notes ? `${u.uid} (${notes}${unset})` : String(u.uid);
}

function scannersText(v: ImageVerdict): string {
  if (v.scannerVisibility === 'NoOS') return 'no OS to see';
  if (v.scannerVisibility === 'Visible') return 'visible';
  return `blind (${v.unaccounted.join(', ')} in no package database)`;
}

/** `sha256:` and the first 12 hex digits, as docker and crictl shorten IDs. */
export const shortDigest = (digest: string): string => digest.slice(0, 'sha256:'.length + 12);

const HEADERS = ['IMAGE', 'DIGEST', 'DISTROLESS', 'SHELLS', 'PACKAGE MANAGERS', 'METADATA', 'SCANNERS', 'USER'];

function row(r: InspectionResult): string[] {
  // Why an image could not be read is told apart (stderr): a table cell would cut it short.
  if ('error' in r) return [r.image, '-', 'unknown', '-', '-', '-', '-', '-'];
  const v = r.verdict;
  const shells = [...v.shells, ...(v.busybox ? [`busybox ${v.busybox.version}`] : [])];
  const metadata = v.packageMetadata.map((m) => (m.packages === undefined ? m.format : `${m.format} (${m.packages})`));
  return [r.image, shortDigest(v.digest), v.distroless ? 'yes' : 'no', shells.join(',') || '-', v.packageManagers.join(',') || '-', metadata.join(',') || '-', v.scannerVisibility, userText(v.user)];
}

/** The results as kubectl prints tables: upper-case headers, columns padded with spaces. */
export function verdictTable(results: InspectionResult[]): string {
  const rows = [HEADERS, ...results.map(row)];
  const widths = HEADERS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]! + 3)).join('').trimEnd()).join('\n') + '\n';
}
