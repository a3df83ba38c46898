import { Command, InvalidArgumentError, Option } from 'commander';
import type { ImageVerdict, Platform } from '../image/types.js';
import { parsePlatform } from './run-options.js';

// `distroless-operator inspect IMAGE...`, `validate --inspect`, and the plugin's
// `inspect APP` share these: the options that reach a registry, the reading, and
// the table.

export interface RegistryFlags {
  platform: string;
  timeout: number;
  insecureRegistry: string[];
}

/** One image's verdict, or why it could not be read. */
export type Inspected = { image: string; verdict: ImageVerdict } | { image: string; error: string };

export function withRegistryFlags(command: Command): Command {
  return command
    .addOption(new Option('--platform <os/arch>', 'the platform picked from a multi-platform image').default('linux/amd64').argParser(parsePlatform))
    .addOption(new Option('--timeout <seconds>', 'time limit of one registry request').default(30_000, '30').argParser(secondsArg))
    .addOption(new Option('--insecure-registry <host>', 'a registry reached over plain HTTP (localhost is); repeatable').default([]).argParser((v: string, all: string[]) => [...all, v]));
}

/** `linux/arm64/v8` as a Platform. */
export function platformOf(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function secondsArg(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a number of seconds`);
  return n * 1000;
}

/** Reads and judges each image, a few at a time; the reader loads only when an image is inspected. */
export async function inspectImages(images: string[], flags: RegistryFlags): Promise<Inspected[]> {
  const [{ RegistryReader, plainHttpFor }, { CONTENT_POLICY, judge }] = await Promise.all([import('../image/registry.js'), import('../image/verdict.js')]);
  const reader = new RegistryReader({ platform: platformOf(flags.platform), timeoutMs: flags.timeout, plainHttp: plainHttpFor(flags.insecureRegistry) });
  const inspectOne = async (image: string): Promise<Inspected> => {
    try {
      return { image, verdict: judge(await reader.read(await reader.resolve(image), CONTENT_POLICY)) };
    } catch (err) {
      return { image, error: err instanceof Error ? err.message : String(err) };
    }
  };
  const results: Inspected[] = [];
  for (let i = 0; i < images.length; i += 4) results.push(...(await Promise.all(images.slice(i, i + 4).map(inspectOne))));
  return results;
}

/** What was found, in one line: what makes the image not distroless first. */
export function summary(v: ImageVerdict): string {
  const parts = [
    v.shells.length ? `shells ${v.shells.join(', ')}` : 'no shell',
    v.busybox ? `BusyBox ${v.busybox.version} at /${v.busybox.path} (${v.busybox.applets} applet links)` : '',
    v.packageManagers.length ? `package managers ${v.packageManagers.join(', ')}` : 'no package manager',
    metadataText(v),
    `scanners: ${v.scannerVisibility}${v.unaccounted.length ? ` (${v.unaccounted.join(', ')} in no package database)` : ''}`,
  ];
  return parts.filter(Boolean).join('; ');
}

const metadataText = (v: ImageVerdict): string =>
  v.packageMetadata.length ? v.packageMetadata.map((m) => `${m.format} ${m.packages === undefined ? '' : `(${m.packages} packages)`}`.trim()).join(', ') : 'no package metadata';

const userText = (u: ImageVerdict['user']): string => `${u.configured || '(unset)'}${u.uid === undefined ? '' : ` uid ${u.uid}`}${u.nonRoot === false ? ' root' : ''}`;

/** The verdicts as a table, as kubectl prints: IMAGE DIGEST DISTROLESS SHELLS PACKAGE-MANAGERS METADATA SCANNERS USER. */
export function inspectTable(results: Inspected[]): string {
  const rows = [['IMAGE', 'DIGEST', 'DISTROLESS', 'SHELLS', 'PACKAGE-MANAGERS', 'METADATA', 'SCANNERS', 'USER']];
  for (const r of results) {
    if ('error' in r) {
      rows.push([r.image, '-', 'unknown', '-', '-', '-', '-', '-']); // why goes to stderr
      continue;
    }
    const v = r.verdict;
    const shells = [...v.shells, ...(v.busybox ? [`busybox ${v.busybox.version}`] : [])];
    rows.push([r.image, v.digest.slice(0, 19), v.distroless ? 'yes' : 'no', shells.join(',') || '-', v.packageManagers.join(',') || '-', metadataText(v), v.scannerVisibility, userText(v.user)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => c.padEnd(widths[i]! + 2)).join('').trimEnd()).join('\n')}\n`;
}
