import { Command, InvalidArgumentError, Option } from 'commander';
import { labelSelectorProblem } from '../kube/label-selector.js';
import { LOG_LEVELS } from '../runtime/log.js';

/** `30s`, `10m`, `1h` or plain seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a duration such as 30s, 10m or 1h`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'] ?? 1000;
  const ms = Number(m[1]) * unit;
  if (ms < 1000) throw new InvalidArgumentError(`${JSON.stringify(text)} is shorter than one second`);
  return ms;
}

function parseWorkers(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a worker count from 1 to 64`);
  return n;
}

function parseBool(text: string): boolean {
  if (/^(true|1|yes)$/i.test(text)) return true;
  if (/^(false|0|no)$/i.test(text)) return false;
  throw new InvalidArgumentError(`${JSON.stringify(text)} is not true or false`);
}

const parseList = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

const HOST_PORT = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:\d{1,5})?$|^\[[0-9a-f:]+\](:\d{1,5})?$/i;

/** `REGISTRY=HOST[:PORT],...`: each registry as image references name it, and where it is reached. */
export function parseRegistryEndpoints(text: string): Map<string, string> {
  const endpoints = new Map<string, string>();
  for (const entry of parseList(text)) {
    const [registry = '', endpoint = '', ...extra] = entry.split('=').map((s) => s.trim());
    if (extra.length || !HOST_PORT.test(registry) || !HOST_PORT.test(endpoint)) {
      throw new InvalidArgumentError(`${JSON.stringify(entry)} is not REGISTRY=HOST[:PORT], such as localhost:5000=10.89.0.1:5000`);
    }
    endpoints.set(registry, endpoint);
  }
  return endpoints;
}

function parseSelector(text: string): string {
  const problem = labelSelectorProblem(text);
  if (problem) throw new InvalidArgumentError(`the label selector ${problem}`);
  return text.trim();
}

export interface RunOptions {
  kubeconfig?: string;
  namespaces: string[];
  /** A label selector on DistrolessApps: this operator reconciles only the apps it matches (one shard of several). */
  selector?: string;
  workers: number;
  resync: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  metricsAddr: string;
  healthAddr: string;
  logLevel: (typeof LOG_LEVELS)[number];
  imagePlatform: string;
  registryCredentials?: string;
  insecureRegistries: string[];
  registryEndpoints: Map<string, string>;
  imageTimeout: number;
}

/** `os/architecture[/variant]`, as image indexes name platforms. */
export function parsePlatform(text: string): string {
  if (!/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/.test(text)) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a platform such as linux/amd64 or linux/arm64/v8`);
  return text;
}

export function runCommand(): Command {
  return new Command('run')
    .description('Run the operator: reconcile DistrolessApps into Pods until SIGTERM. Every flag has an environment variable twin.')
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file; in-cluster config or ~/.kube/config when unset').env('KUBECONFIG'))
    .addOption(new Option('--namespaces <list>', 'comma-separated namespaces to watch; all when empty').env('DLO_NAMESPACES').argParser(parseList).default([], 'all'))
    .addOption(
      new Option('--selector <labels>', 'reconcile only the DistrolessApps this label selector matches, so several operators can divide the apps (each with its own --lease-name)')
        .env('DLO_SELECTOR')
        .argParser(parseSelector),
    )
    .addOption(new Option('--workers <n>', 'apps reconciled at once').env('DLO_WORKERS').argParser(parseWorkers).default(4))
    .addOption(new Option('--resync <duration>', 'how often every app is looked at again').env('DLO_RESYNC').argParser(parseDuration).default(600_000, '10m'))
    .addOption(new Option('--leader-elect <bool>', 'elect a leader through a Lease; false only when one replica runs').env('DLO_LEADER_ELECT').argParser(parseBool).default(true))
    .addOption(new Option('--lease-namespace <ns>', 'namespace of the leader election Lease').env('DLO_LEASE_NAMESPACE').default(process.env.POD_NAMESPACE ?? 'default', '$POD_NAMESPACE or default'))
    .addOption(new Option('--lease-name <name>', 'name of the leader election Lease').env('DLO_LEASE_NAME').default('distroless-operator'))
    .addOption(new Option('--metrics-addr <addr>', 'address of the Prometheus /metrics endpoint').env('DLO_METRICS_ADDR').default(':8080'))
    .addOption(new Option('--health-addr <addr>', 'address of /healthz and /readyz').env('DLO_HEALTH_ADDR').default(':8081'))
    .addOption(new Option('--log-level <level>', 'log level').env('DLO_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--image-platform <os/arch>', 'the platform picked from multi-platform images when inspecting them: the nodes\' platform').env('DLO_IMAGE_PLATFORM').argParser(parsePlatform).default('linux/amd64'))
    .addOption(
      new Option('--registry-credentials <path>', 'a Docker config.json whose auths the image inspection uses for private registries (opt-in; the operator never reads Secrets)').env(
        'DLO_REGISTRY_CREDENTIALS',
      ),
    )
    .addOption(
      new Option('--insecure-registries <list>', 'comma-separated registries (host:port) reached over plain HTTP; localhost and 127.0.0.1 always are')
        .env('DLO_INSECURE_REGISTRIES')
        .argParser(parseList)
        .default([], 'none'),
    )
    .addOption(
      new Option('--registry-endpoints <list>', 'comma-separated REGISTRY=HOST[:PORT]: where image inspection reaches a registry images name (localhost:5000 seen from a Pod is the Pod)')
        .env('DLO_REGISTRY_ENDPOINTS')
        .argParser(parseRegistryEndpoints)
        .default(new Map<string, string>(), 'none'),
    )
    .addOption(new Option('--image-timeout <duration>', 'time limit of one registry request while inspecting an image').env('DLO_IMAGE_TIMEOUT').argParser(parseDuration).default(30_000, '30s'))
    .hook('preAction', (command) => {
      const problem = shardLeaseProblem(command.opts<RunOptions>(), command.getOptionValueSource('leaseName'));
      if (problem) command.error(`error: ${problem}`, { exitCode: 2, code: 'distroless.shardLease' });
    });
}

/**
 * Shards that share a Lease take turns instead of dividing the apps: only the
 * leader of the shared Lease would run, and the other shards' apps would sit
 * unreconciled. A shard must name its own Lease.
 */
function shardLeaseProblem(opts: Pick<RunOptions, 'selector' | 'leaderElect' | 'leaseName'>, leaseNameSource: string | undefined): string | undefined {
  if (!opts.selector || !opts.leaderElect || leaseNameSource !== 'default') return undefined;
  return `--selector ${JSON.stringify(opts.selector)} needs its own --lease-name (DLO_LEASE_NAME): shards sharing the Lease ${JSON.stringify(opts.leaseName)} would take turns, not divide the apps`;
}
