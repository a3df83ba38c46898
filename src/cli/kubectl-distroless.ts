#!/usr/bin/env node
import './require-node.js';
import type { V1Pod } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import { isOwnedBy } from '../controller/pods.js';
import { DISTROLESS_APPS } from '../controller/resources.js';
import { loadContext } from '../kube/context.js';
import { PODS } from '../kube/resources.js';
import { isNotFound, restClient, type Rest } from '../kube/rest.js';
import { LABEL_APP } from '../render/pod.js';
import { DEFAULT_DEBUG_IMAGE, choosePod, debugPlan, printablePlan } from './debug-plan.js';
import { EXIT_INVALID, adopt, baseProgram, offlineCommands, processIo, runProgram, type Io } from './main.js';
import { inspectImages, inspectTable, withRegistryFlags, type RegistryFlags } from './inspect.js';
import { formatAppStatus, type AppView } from './status-view.js';

// `kubectl distroless ...`: kubectl runs this as a plugin (any executable named
// kubectl-distroless on PATH), passing the words after `distroless` unchanged.

interface ClusterOptions {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
}

function withClusterOptions(command: Command): Command {
  return command
    .addOption(new Option('-n, --namespace <ns>', "the app's namespace; the kubeconfig context's when unset"))
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file; $KUBECONFIG or ~/.kube/config when unset'))
    .addOption(new Option('--context <name>', 'kubeconfig context'));
}

function connect(opts: ClusterOptions): { rest: Rest; namespace: string } {
  // kubectl's order: a ServiceAccount's in-cluster config only when no kubeconfig file is found.
  const context = loadContext({ file: opts.kubeconfig, context: opts.context, inCluster: 'after-home' });
  return { rest: restClient(context, 'kubectl-distroless'), namespace: opts.namespace ?? context.namespace ?? 'default' };
}

/** The app and the Pods it controls; a missing app is an error naming it. */
async function readApp(rest: Rest, namespace: string, name: string): Promise<{ app: AppView & { metadata: { uid: string } }; pods: V1Pod[] }> {
  let app;
  try {
    app = await rest.request<AppView & { metadata: { uid: string } }>('GET', { type: DISTROLESS_APPS, namespace, name });
  } catch (err) {
    if (isNotFound(err)) throw new Error(`distrolessapp "${name}" not found in namespace "${namespace}"`, { cause: err });
    throw err;
  }
  const list = await rest.request<{ items: V1Pod[] }>('GET', { type: PODS, namespace }, { query: { labelSelector: `${LABEL_APP}=${name}` } });
  // Only the Pods this app controls: a foreign Pod with the same label is not its.
  const pods = list.items.filter((p) => isOwnedBy(p, app));
  return { app, pods };
}

/** What each container runs: the image a running Pod reports by digest, else the spec's reference. */
function imagesRun(app: { spec?: { app?: { image?: string }; init?: { image?: string } } }, pods: V1Pod[]): Record<'app' | 'init', string> {
  const statuses = pods.flatMap((p) => [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]);
  const byDigest = (container: string): string | undefined => {
    const id = statuses.find((s) => s.name === container && s.imageID?.includes('@sha256:'))?.imageID;
    return id?.replace(/^[a-z-]+:\/\//, '');
  };
  return { app: byDigest('app') ?? app.spec?.app?.image ?? '', init: byDigest('init') ?? app.spec?.init?.image ?? '' };
}

export function buildPlugin(io: Io, setExit: (code: number) => void): Command {
  const program = baseProgram('kubectl-distroless', 'Inspect and debug DistrolessApps; render, validate and export them to Docker Compose offline.', io);
  for (const command of offlineCommands(io, setExit)) adopt(program, command);

  adopt(
    program,
    withClusterOptions(
      new Command('status')
        .description("Show an app's conditions, each Pod's init and main container state, and the last init failure.")
        .argument('<name>', 'the DistrolessApp')
        .action(async (name: string, opts: ClusterOptions) => {
          const { rest, namespace } = connect(opts);
          const { app, pods } = await readApp(rest, namespace, name);
          io.out(formatAppStatus(app, pods));
        }),
    ),
  );

  adopt(
    program,
    withClusterOptions(
      withRegistryFlags(
        new Command('inspect')
          .description("Read the images a live app runs (by the digests its Pods report, else as its spec names them) and say whether each is distroless.")
          .argument('<name>', 'the DistrolessApp')
          .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table')),
      ),
    ).action(async (name: string, opts: ClusterOptions & RegistryFlags & { output: 'table' | 'json' }) => {
      const { rest, namespace } = connect(opts);
      const { app, pods } = await readApp(rest, namespace, name);
      const images = imagesRun(app as AppView & { spec?: { app?: { image?: string }; init?: { image?: string } } }, pods);
      const results = await inspectImages([...new Set(Object.values(images))], opts);
      if (opts.output === 'json') return io.out(`${JSON.stringify({ images, results }, null, 2)}\n`);
      for (const [container, image] of Object.entries(images)) io.out(`${container}: ${image}${container === 'init' ? ' (reported, not judged)' : ''}\n`);
      io.out(inspectTable(results));
      for (const r of results) if ('error' in r) io.err(`${r.image}: could not inspect: ${r.error}\n`);
      if (results.some((r) => 'error' in r)) setExit(EXIT_INVALID);
    }),
  );

  adopt(
    program,
    withClusterOptions(
      new Command('debug')
        .description(
          'Attach a debug container to a running Pod of the app: kubectl debug with --profile=restricted, --target=app, ' +
            "and the main container's UID, so it is admitted where the restricted Pod Security profile is enforced.",
        )
        .argument('<name>', 'the DistrolessApp')
        .argument('[command...]', "what the debug container runs (after --), instead of its image's default")
        .option('--pod <pod>', 'which Pod; a running one of the app when unset')
        .option('--image <image>', 'debug image; it must run as a non-root UID', DEFAULT_DEBUG_IMAGE)
        .option('--print', 'print the kubectl command instead of running it')
        .option('--no-attach', 'add the debug container without attaching a terminal to it')
        .action(async (name: string, command: string[], opts: ClusterOptions & { pod?: string; image: string; print?: boolean; attach: boolean }) => {
          const { rest, namespace } = connect(opts);
          const { pods } = await readApp(rest, namespace, name);
          const pod = opts.pod ? pods.find((p) => p.metadata?.name === opts.pod) : choosePod(pods);
          if (!pod) {
            io.err(opts.pod ? `pod "${opts.pod}" is not a Pod of distrolessapp "${name}"\n` : `distrolessapp "${name}" has no running Pod to debug\n`);
            return setExit(EXIT_INVALID);
          }
          const plan = debugPlan(pod, { image: opts.image, attach: opts.attach, command });
          if (opts.print) return io.out(`${printablePlan(plan)}\n`);
          const dir = mkdtempSync(join(tmpdir(), 'kubectl-distroless-'));
          try {
            const custom = join(dir, 'custom.json');
            writeFileSync(custom, JSON.stringify(plan.custom));
            const kubectlArgs = [...(opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : []), ...(opts.context ? ['--context', opts.context] : []), ...plan.args(custom)];
            io.err(`kubectl ${kubectlArgs.join(' ')}\n`);
            const r = spawnSync('kubectl', kubectlArgs, { stdio: 'inherit' });
            if (r.error) throw new Error(`could not run kubectl: ${r.error.message}`);
            setExit(r.status ?? 1);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        }),
    ),
  );
  return program;
}

process.exitCode = await runProgram(buildPlugin, process.argv.slice(2), processIo);
