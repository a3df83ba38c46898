import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asciiOnly, bundleOperator, OPERATOR_BUNDLE } from '../../../dev/bundle.js';

// The operator's bundle (dev/bundle.ts), which the image, the Dockerfile and
// `npm run build:bundle` all make: the same bytes wherever it is written, and a
// program that runs with no node_modules beside it.

const root = new URL('../../../', import.meta.url).pathname;
const sample = join(root, 'config/samples/go-static_app.yaml');
let dirs: string[] = [];
let bundle = '';

beforeAll(async () => {
  dirs = [mkdtempSync(join(tmpdir(), 'dlo-bundle-a-')), mkdtempSync(join(tmpdir(), 'dlo-bundle-b-'))];
  bundle = await bundleOperator(dirs[0]!);
}, 120_000);

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const runBundle = (...args: string[]) => spawnSync(process.execPath, [bundle, ...args], { cwd: dirs[0], encoding: 'utf8' });

describe('the operator bundle', () => {
  it('is the same bytes made again elsewhere, and names no directory of this machine', async () => {
    expect(bundle).toBe(join(dirs[0]!, OPERATOR_BUNDLE));
    const again = await bundleOperator(dirs[1]!);
    const bytes = readFileSync(bundle);
    expect(readFileSync(again).equals(bytes)).toBe(true);
    const text = bytes.toString('utf8');
    expect(text).not.toContain(root);
    expect(text).not.toContain(dirs[0]!);
  }, 120_000);

  it('is ASCII only, so V8 keeps its source one byte per character', () => {
    expect(readFileSync(bundle, 'utf8')).toMatch(/^\p{ASCII}*$/u);
  });

  it("carries the package's version in itself: version.ts's package.json is not there to read", () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(runBundle('--version')).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('renders and validates a sample offline', () => {
    const rendered = runBundle('render', '-f', sample);
    expect(rendered).toMatchObject({ status: 0, stderr: '' });
    expect(rendered.stdout).toContain('kind: Pod');
    expect(runBundle('validate', '-f', sample)).toMatchObject({ status: 0 });
  });

  it('loads the run command (imported on demand) far enough to check its flags', () => {
    const r = runBundle('run', '--workers', 'none');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--workers');
  });
});

describe('asciiOnly', () => {
  it('escapes what comments carry outside ASCII, on their own line or after code', () => {
    const source = ['// the request’s body', 'const a = 1; // a response’s status', '/* block — one line */', ' * a JSDoc line — here', 'const b = "\\u2019";', '// 🚀'].join('\n');
    expect(asciiOnly(source)).toBe(['// the request\\u2019s body', 'const a = 1; // a response\\u2019s status', '/* block \\u2014 one line */', ' * a JSDoc line \\u2014 here', 'const b = "\\u2019";', '// \\ud83d\\ude80'].join('\n'));
  });

  it('refuses a character outside ASCII in code, where escaping could change what runs, naming the line', () => {
    expect(() => asciiOnly('const ok = 1;\nconst tag = String.raw`’`;')).toThrow(/^bundle line 2: a character outside ASCII outside a comment: .*String\.raw/);
    expect(() => asciiOnly('/* closed */ const q = `’`;')).toThrow(/line 1/);
  });
});
