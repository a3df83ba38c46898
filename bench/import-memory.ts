import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// What loading the operator costs before it does anything: RSS and heap after
// importing the built entry (dist/cli/main.js, then the run module it imports for
// `run`) without starting it, in fresh processes of the Node running this script,
// after full garbage collections. Then each dependency's share, imported one
// after another into one process: approximate, and the first line also pays for
// the module loader itself (3-5 MiB). npm run bench:import-memory builds first.

const root = new URL('../', import.meta.url).pathname;
const dist = join(root, 'dist');
const RUNS = 5;
const PIECES = ['commander', 'js-yaml', 'yaml', 'zod', 'pino', 'prom-client', 'undici', 'tar-stream', 'dist/api/schema.js', 'dist/cli/main.js', 'dist/kube/rest.js', 'dist/cli/run.js'];

/** Imports `specs` in order; prints RSS and heapUsed in bytes after each, after GC. */
const MEASURE = `
const { createRequire } = await import('node:module');
const { pathToFileURL } = await import('node:url');
const req = createRequire(${JSON.stringify(join(root, 'package.json'))});
const settle = async () => { for (let i = 0; i < 3; i++) { gc(); await new Promise((r) => setTimeout(r, 30)); } };
const rows = [];
const note = (name) => { const m = process.memoryUsage(); rows.push([name, m.rss, m.heapUsed]); };
await settle();
note('(bare)');
for (const spec of JSON.parse(process.env.SPECS)) {
  const path = spec.startsWith('dist/') ? ${JSON.stringify(root)} + spec : req.resolve(spec);
  await import(pathToFileURL(path).href);
  await settle();
  note(spec);
}
process.stdout.write(JSON.stringify(rows));
`;

type Row = [string, number, number];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function measure(specs: string[]): Row[] {
  const out = execFileSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', MEASURE], { env: { ...process.env, SPECS: JSON.stringify(specs) }, encoding: 'utf8' });
  return JSON.parse(out) as Row[];
}

if (!existsSync(join(dist, 'cli/run.js'))) throw new Error('dist/ is missing: run npx tsc -p tsconfig.build.json first');
console.log(`Node ${process.version}, ${RUNS} fresh processes each`);
const runs = Array.from({ length: RUNS }, () => measure(['dist/cli/main.js', 'dist/cli/run.js']));
for (const [i, label] of ['bare Node', 'after dist/cli/main.js', 'after dist/cli/run.js'].entries()) {
  const rss = runs.map((r) => mib(r[i]![1])).join(' ');
  const heap = runs.map((r) => mib(r[i]![2])).join(' ');
  console.log(`${label.padEnd(24)} RSS MiB ${rss} | heapUsed MiB ${heap}`);
}
console.log('\nimported one after another into one process (each line: what it added):');
const pieces = measure(PIECES);
pieces.forEach(([name, rss, heap], i) => {
  const [, prevRss, prevHeap] = pieces[i - 1] ?? [name, 0, 0];
  console.log(`${name.padEnd(24)} RSS +${mib(rss - prevRss).padStart(5)} MiB  heap +${mib(heap - prevHeap).padStart(5)} MiB  (RSS ${mib(rss)})`);
});
