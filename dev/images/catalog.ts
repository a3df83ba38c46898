import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleOperator, OPERATOR_BUNDLE, packageVersion } from '../bundle.js';
import type { ImageSpec } from './builder.js';
import type { ImageConfig } from './crane.js';
import { debianLayer, type DebianLayerOptions } from './debian-layer.js';
import { debianMinbaseLayer } from './debootstrap.js';
import { fileLayer, filesLayer, goProgramLayer, madeLayer, type GoProgramOptions } from './files-layer.js';
import type { LayerRecipe } from './layers.js';
import { IMAGES_DIR } from './paths.js';
import { writeTreeFile } from './rootfs.js';

// The images the project builds, all from Debian 12 (bookworm) packages at the
// versions the machine's apt offers, except pause (the project's own Go program)
// and the Node runtime of distroless/nodejs (the project's own Node binary).

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NONROOT = '65532:65532';
const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/** /etc/passwd and /etc/group of the distroless bases: root, nobody and nonroot, as Google's distroless has them. */
const ACCOUNTS: DebianLayerOptions['files'] = [
  {
    path: 'etc/passwd',
    content: ['root:x:0:0:root:/root:/sbin/nologin', 'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin', 'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin', ''].join('\n'),
  },
  { path: 'etc/group', content: ['root:x:0:', 'tty:x:5:', 'staff:x:50:', 'nobody:x:65534:', 'nonroot:x:65532:', ''].join('\n') },
  // Host lookups in files, then DNS: what glibc and Go's resolver read.
  { path: 'etc/nsswitch.conf', content: 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' },
];

/**
 * ca-certificates' postinst would run update-ca-certificates to make the bundle; the
 * bundle is made here instead from the package's certificates, in name order, and
 * the package's other files (the script, the individual certificates) are dropped,
 * as Google's distroless does. Its status.d entry stays: scanners see the version.
 */
function caBundle(tree: string): void {
  const dir = join(tree, 'usr/share/ca-certificates/mozilla');
  const pems = readdirSync(dir)
    .filter((f) => f.endsWith('.crt'))
    .sort()
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`));
  writeTreeFile(tree, 'etc/ssl/certs/ca-certificates.crt', pems.join(''));
  for (const path of ['usr/share/ca-certificates', 'usr/sbin/update-ca-certificates', 'etc/ca-certificates']) rmSync(join(tree, path), { recursive: true, force: true });
}

const staticOptions = (): DebianLayerOptions => ({
  name: 'distroless-static',
  packages: ['base-files', 'netbase', 'tzdata', 'media-types', 'ca-certificates'],
  libraries: false,
  bottom: true,
  files: ACCOUNTS,
  dirs: [
    { path: 'tmp', mode: 0o1777 },
    { path: 'root', mode: 0o700 },
    { path: 'home/nonroot', mode: 0o700, uid: 65532, gid: 65532 },
  ],
  finish: caBundle,
});

const staticLayer = (): LayerRecipe => debianLayer(staticOptions());

/** distroless/base's packages, on distroless/static. */
const BASE_PACKAGES = ['libc6', 'libssl3'];

/**
 * What an image made by copying files out of packages keeps: the files, without the
 * metadata scanners read (the "cherry-picked" distroless pattern). Whatever the
 * layer's packages, their files stay and their status.d entries go.
 */
function withoutPackageMetadata(tree: string): void {
  rmSync(join(tree, 'var/lib/dpkg/status.d'), { recursive: true, force: true });
}

/** distroless/base's two layers made again without status.d: the same files, scanners blind to them. */
const blindBaseLayers = (): LayerRecipe[] => [
  debianLayer({
    ...staticOptions(),
    name: 'distroless-static-blind',
    finish: (tree) => {
      caBundle(tree);
      withoutPackageMetadata(tree);
    },
  }),
  debianLayer({ name: 'distroless-base-blind', packages: BASE_PACKAGES, finish: withoutPackageMetadata }),
];

/**
 * BusyBox as Google's :debug images add it: the binary at /busybox/busybox, a link
 * per applet beside it (/busybox/sh among them), /busybox on PATH. Debian's static
 * build (busybox-static), so it needs nothing of the base; its status.d entry stays,
 * as any package's would. The applets are the ones the binary itself lists.
 */
function busyboxDirectory(tree: string): void {
  const dir = join(tree, 'busybox');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  renameSync(join(tree, 'usr/bin/busybox'), join(dir, 'busybox'));
  rmdirSync(join(tree, 'usr/bin'));
  const applets = execFileSync(join(dir, 'busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox').sort();
  for (const applet of applets) symlinkSync('busybox', join(dir, applet));
}

const busyboxLayer = (): LayerRecipe =>
  debianLayer({
    name: 'busybox',
    packages: ['busybox-static'],
    libraries: false,
    // Its initramfs hooks serve a boot image, not a container.
    drop: ['usr/share/initramfs-tools'],
    finish: busyboxDirectory,
  });

/** postgresql-15 and its libraries, without the JIT (llvmjit.so needs the 100 MB libLLVM; the server runs without it). */
const postgresLayer = (name: string, shell: string): LayerRecipe =>
  debianLayer({
    name,
    packages: ['postgresql-15'],
    exclude: ['libllvm14'],
    drop: ['usr/lib/postgresql/15/lib/llvmjit.so', 'usr/lib/postgresql/15/lib/llvmjit_types.bc', 'usr/lib/postgresql/15/lib/bitcode'],
    users: [{ name: 'postgres', uid: 70, gid: 70, home: '/var/lib/postgresql', shell }],
    dirs: [
      { path: 'var/lib/postgresql', mode: 0o755, uid: 70, gid: 70 },
      { path: 'run/postgresql', mode: 0o2775, uid: 70, gid: 70 },
    ],
  });

/** nginx's default config for the distroless image: listens on 8080 as nonroot, writes only under /tmp. */
const NGINX_CONF = `worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr;
events { worker_connections 1024; }
http {
  access_log /dev/stdout;
  client_body_temp_path /tmp/client_body;
  proxy_temp_path /tmp/proxy;
  fastcgi_temp_path /tmp/fastcgi;
  uwsgi_temp_path /tmp/uwsgi;
  scgi_temp_path /tmp/scgi;
  server {
    listen 8080;
    location / { return 200 "nginx on distroless\\n"; }
  }
}
`;

const repository = (path: string): string => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** The Node major the project runs on: its `node` devDependency, whose binary distroless/nodejs carries. */
function projectNodeMajor(): string {
  const pkg = JSON.parse(readFileSync(repository('package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const major = /(\d+)/.exec(pkg.devDependencies.node ?? '')?.[1];
  if (!major) throw new Error('package.json has no `node` devDependency with a major version');
  return major;
}

/** Where Google's distroless nodejs images keep Node, and so where this one does. */
export const NODE_PATH = '/nodejs/bin/node';
/** The shared libraries Node needs beyond distroless/base's libc (`ldd node`): Google's cc image's, and libatomic since Node 26. */
const NODEJS_PACKAGES = ['libstdc++6', 'libgcc-s1', 'libatomic1'];

/**
 * The project's own Node (the `node` npm package's binary, as the tests and the
 * plugin's single executable run it), not Debian's nodejs package: bookworm's is
 * Node 18. So no status.d entry names it; scanners find it through the binary, as
 * with Google's distroless nodejs images, whose Node is nodejs.org's build.
 */
const nodeBinaryLayer = (): LayerRecipe => fileLayer({ name: 'nodejs', file: repository('node_modules/node/bin/node'), path: NODE_PATH.slice(1), mode: 0o755 });

/** Where the operator's image holds its bundle; the Dockerfile's run stage copies it to the same path (test/unit/dockerfile.test.ts). */
export const OPERATOR_BUNDLE_PATH = `/app/${OPERATOR_BUNDLE}`;

/** The operator's CLI bundled (dev/bundle.ts: as `npm run build:bundle` makes it) into the image cache, then put at OPERATOR_BUNDLE_PATH. */
const operatorLayer = (): LayerRecipe =>
  madeLayer('distroless-operator', async () =>
    fileLayer({ name: 'distroless-operator', file: await bundleOperator(join(IMAGES_DIR, 'programs', 'distroless-operator')), path: OPERATOR_BUNDLE_PATH.slice(1) }),
  );

export interface DistrolessAppOptions {
  name: string;
  tag: string;
  description: string;
  /** distroless/static for static programs (default), distroless/base for those that need libc and libssl. */
  base?: 'distroless/static' | 'distroless/base';
  /** A directory of files, copied to `at` (default /). */
  files?: { dir: string; at?: string };
  /** A static Go program built from the repository's source. */
  program?: GoProgramOptions;
  entrypoint: string[];
  cmd?: string[];
  /** Default nonroot, 65532:65532. */
  user?: string;
  env?: Record<string, string>;
}

/** An application image: a distroless base, a directory of files and/or a Go program, an entrypoint and a user. */
export function distrolessApp(o: DistrolessAppOptions): ImageSpec {
  return {
    name: o.name,
    tag: o.tag,
    description: o.description,
    kind: 'distroless',
    base: o.base ?? 'distroless/static',
    layers: () => [
      ...(o.program ? [goProgramLayer(o.program)] : []),
      ...(o.files ? [filesLayer({ name: `${o.name}-files`, dir: o.files.dir, at: o.files.at })] : []),
    ],
    config: { entrypoint: o.entrypoint, cmd: o.cmd, user: o.user ?? NONROOT, env: o.env },
  };
}

const nonrootConfig: ImageConfig = { user: NONROOT, workdir: '/home/nonroot', env: { PATH, SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' } };

export const catalog: ImageSpec[] = [
  {
    name: 'pause',
    kind: 'distroless',
    tag: '3.10',
    description: 'the Pod sandbox: the project\'s static pause program on an empty base',
    layers: () => [goProgramLayer({ name: 'pause', moduleDir: fileURLToPath(new URL('./pause', import.meta.url)), binary: 'pause' })],
    config: { entrypoint: ['/pause'], user: '65535:65535' },
  },
  {
    name: 'distroless/static',
    kind: 'distroless',
    tag: 'nonroot',
    description: 'base-files, netbase, tzdata, media-types, the CA bundle; accounts root, nobody, nonroot',
    layers: () => [staticLayer()],
    config: nonrootConfig,
  },
  {
    name: 'distroless/base',
    kind: 'distroless',
    tag: 'nonroot',
    description: 'distroless/static with libc6, libssl3 and their libraries',
    base: 'distroless/static',
    layers: () => [debianLayer({ name: 'distroless-base', packages: BASE_PACKAGES })],
    config: nonrootConfig,
  },
  {
    name: 'debian-init',
    kind: 'full-distro',
    tag: '12',
    description: 'Debian 12 minbase (debootstrap): shell, apt, dpkg, full dpkg status',
    layers: () => [debianMinbaseLayer()],
    config: { cmd: ['/bin/bash'], env: { PATH } },
  },
  {
    name: 'postgres-init',
    kind: 'full-distro',
    tag: '15',
    description: 'debian-init with postgresql-15 (initdb) and its libraries, user postgres (70)',
    base: 'debian-init',
    layers: () => [postgresLayer('postgres-init', '/bin/bash')],
    config: { user: '70:70', env: { PATH: `${POSTGRES_BIN}:${PATH}` } },
  },
  {
    name: 'postgres',
    kind: 'distroless',
    tag: '15',
    description: 'distroless/base with postgresql-15\'s server and its libraries, user postgres (70), no shell',
    base: 'distroless/base',
    layers: () => [postgresLayer('postgres', '/sbin/nologin')],
    config: { entrypoint: [`${POSTGRES_BIN}/postgres`], user: '70:70', workdir: '/var/lib/postgresql', env: { PATH: `${POSTGRES_BIN}:${PATH}` } },
  },
  {
    name: 'nginx-init',
    kind: 'full-distro',
    tag: '1',
    description: 'debian-init with gettext-base (envsubst)',
    base: 'debian-init',
    layers: () => [debianLayer({ name: 'nginx-init', packages: ['gettext-base'] })],
    config: { user: NONROOT },
  },
  {
    name: 'nginx',
    kind: 'distroless',
    tag: '1',
    description: 'distroless/base with nginx\'s binary and its libraries, nonroot, no shell',
    base: 'distroless/base',
    layers: () => [debianLayer({ name: 'nginx', packages: ['nginx'], files: [{ path: 'etc/nginx/nginx.conf', content: NGINX_CONF }] })],
    config: { entrypoint: ['/usr/sbin/nginx'], cmd: ['-g', 'daemon off;'], user: NONROOT },
  },
  {
    name: 'distroless/nodejs',
    kind: 'distroless',
    // Google's images name the major in the repository (nodejs26-debian13:nonroot); here one repository, a tag per major.
    tag: `${projectNodeMajor()}-nonroot`,
    description: "distroless/base with libstdc++6, libgcc-s1, libatomic1 and the project's Node binary at /nodejs/bin/node (no Debian package: no status.d entry)",
    base: 'distroless/base',
    layers: () => [debianLayer({ name: 'distroless-nodejs', packages: NODEJS_PACKAGES }), nodeBinaryLayer()],
    config: { ...nonrootConfig, entrypoint: [NODE_PATH] },
  },
  {
    name: 'distroless-operator',
    kind: 'distroless',
    tag: packageVersion(),
    description: 'the operator: its CLI as one esbuild bundle at /app/distroless-operator.mjs on distroless/nodejs, `run` by default',
    base: 'distroless/nodejs',
    layers: () => [operatorLayer()],
    config: { ...nonrootConfig, entrypoint: [NODE_PATH, OPERATOR_BUNDLE_PATH], cmd: ['run'], workdir: '/app' },
  },
  // Variants of distroless/base that image inspection is tested on (test/image/):
  // built only when named, never by default.
  {
    name: 'distroless/base-blind',
    kind: 'variant',
    onDemand: true,
    tag: 'nonroot',
    description: 'distroless/base\'s files without /var/lib/dpkg/status.d: the cherry-picked pattern, scanners blind',
    layers: blindBaseLayers,
    config: nonrootConfig,
  },
  {
    name: 'distroless/base-busybox',
    kind: 'variant',
    onDemand: true,
    tag: 'nonroot',
    description: 'distroless/base with Debian\'s busybox-static at /busybox/busybox and its applet links, as :debug images',
    base: 'distroless/base',
    layers: () => [busyboxLayer()],
    config: { ...nonrootConfig, entrypoint: ['/busybox/sh'], env: { ...nonrootConfig.env, PATH: `${PATH}:/busybox` } },
  },
  // The examples' own programs, built from the source they ship (examples/*/), as
  // their Dockerfiles build them, and the migrate example's full-distro init step.
  distrolessApp({
    name: 'examples/go-static',
    tag: '1.0.0',
    description: "the go-static example's server (examples/go-static/server) on distroless/static",
    program: { name: 'go-static', moduleDir: fileURLToPath(new URL('../../examples/go-static/server', import.meta.url)), binary: 'server', at: '/app' },
    entrypoint: ['/app/server'],
  }),
  distrolessApp({
    name: 'examples/shop',
    tag: '1.4.0',
    description: "the migrate example's application (examples/migrate/shop) on distroless/static",
    program: { name: 'shop', moduleDir: fileURLToPath(new URL('../../examples/migrate/shop', import.meta.url)), binary: 'shop', at: '/app' },
    entrypoint: ['/app/shop'],
  }),
  {
    name: 'examples/shop-migrations',
    tag: '1.4.0',
    kind: 'full-distro',
    description: "debian-init with psql and the migrate example's SQL files in /migrations",
    base: 'debian-init',
    layers: () => [
      debianLayer({ name: 'shop-migrations', packages: ['postgresql-client-15'] }),
      filesLayer({ name: 'shop-migrations-files', dir: fileURLToPath(new URL('../../examples/migrate/migrations', import.meta.url)), at: '/migrations' }),
    ],
    // Debian's /usr/bin/psql is pg_wrapper, a Perl script of another package: psql itself lives here.
    config: { user: NONROOT, env: { PATH: `${POSTGRES_BIN}:${PATH}` } },
  },
];

/**
 * Images that must hold the same Debian package: built together, so both resolve it
 * in one run (an initdb writes a data directory only its own server build reads).
 */
export const SAME_PACKAGE: { images: [string, string]; package: string }[] = [{ images: ['postgres-init', 'postgres'], package: 'postgresql-15' }];
