import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Reads the V8 CPU profile a process wrote with --cpu-prof and says where its
// time went: by package (or our own src/, Node's internals, V8's pseudo-frames
// such as the garbage collector) and by function, as shares of all samples.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/** Who a frame belongs to: an npm package, our source, Node itself, or V8's own bookkeeping. */
export function ownerOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(src|dist)\/(.*?)\.[jt]s$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url;
}

export interface ProfileSummary {
  samples: number;
  byOwner: { owner: string; pct: number }[];
  byFunction: { fn: string; pct: number }[];
}

export function summarize(profile: { nodes: ProfileNode[] }, top = 10): ProfileSummary {
  const owners = new Map<string, number>();
  const functions = new Map<string, number>();
  let samples = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    // Shares of the time the process was busy: waiting on the network is not cost.
    if (!hits || node.callFrame.functionName === '(idle)') continue;
    samples += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const owner = ownerOf(url, functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + hits);
    const fn = `${functionName || '(anonymous)'} (${owner}${url ? `:${lineNumber + 1}` : ''})`;
    functions.set(fn, (functions.get(fn) ?? 0) + hits);
  }
  const ranked = <K extends string>(m: Map<string, number>, key: K) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, hits]) => ({ [key]: name, pct: +((100 * hits) / samples).toFixed(1) }) as { [P in K]: string } & { pct: number });
  return { samples, byOwner: ranked(owners, 'owner'), byFunction: ranked(functions, 'fn') };
}

/** The one profile a process wrote into dir. */
export function summarizeDir(dir: string, top = 10): ProfileSummary {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.length}`);
  return summarize(JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')), top);
}
