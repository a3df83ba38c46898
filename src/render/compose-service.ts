import type { V1Container, V1EnvFromSource, V1EnvVar, V1EnvVarSource, V1Probe, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import { omitUndefined } from './objects.js';
import { dockerBytes, dockerCpus } from './quantity.js';
import { SHARED_VOLUME } from './volumes.js';

// One container of the rendered Pod as a Compose service's fields, and what of it
// Compose cannot say, as notes the YAML carries as comments beside the service.

export type DependsCondition = 'service_completed_successfully' | 'service_started';

export interface ComposeMount {
  type: 'volume' | 'bind';
  source: string;
  target: string;
  read_only?: true;
}

export interface ComposeHealthcheck {
  test: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

interface ResourceAmounts {
  cpus?: number;
  memory?: string;
}

export interface ComposeService {
  image: string;
  pull_policy?: 'always' | 'missing' | 'never';
  user?: string;
  group_add?: string[];
  entrypoint?: string[];
  command?: string[];
  working_dir?: string;
  environment?: Record<string, string>;
  env_file?: { path: string; required: boolean }[];
  ports?: string[];
  volumes?: ComposeMount[];
  depends_on?: Record<string, { condition: DependsCondition }>;
  healthcheck?: ComposeHealthcheck;
  deploy?: { resources: { limits?: ResourceAmounts; reservations?: ResourceAmounts } };
  restart?: 'unless-stopped';
  stop_grace_period?: string;
  read_only?: true;
  cap_drop: ['ALL'];
  security_opt: ['no-new-privileges:true'];
}

/** Some fields of a service, and what of the container they could not say. */
export interface Part<T> {
  fields: T;
  notes: string[];
}

const PULL_POLICY = { Always: 'always', IfNotPresent: 'missing', Never: 'never' } as const;

export function pullPolicy(policy: string | undefined): ComposeService['pull_policy'] {
  return policy ? PULL_POLICY[policy as keyof typeof PULL_POLICY] : undefined;
}

/** `UID:GID` of the container's rendered securityContext; none when the platform assigns them. */
export function user(c: V1Container): string | undefined {
  const { runAsUser, runAsGroup } = c.securityContext ?? {};
  if (runAsUser === undefined) return undefined;
  return runAsGroup === undefined ? String(runAsUser) : `${runAsUser}:${runAsGroup}`;
}

/** Where a value that Compose cannot compute would have come from. */
function sourceOf(from: V1EnvVarSource): string {
  if (from.secretKeyRef) return `key ${from.secretKeyRef.key} of Secret ${from.secretKeyRef.name}`;
  if (from.configMapKeyRef) return `key ${from.configMapKeyRef.key} of ConfigMap ${from.configMapKeyRef.name}`;
  if (from.fieldRef) return `the Pod's ${from.fieldRef.fieldPath}`;
  return `the container's ${from.resourceFieldRef?.resource ?? 'resources'}`;
}

/** Literal env values; those read from the cluster (valueFrom) are left out, each with a note saying where from. */
export function environment(env: V1EnvVar[] | undefined): Part<Pick<ComposeService, 'environment'>> {
  const literal = (env ?? []).filter((e) => !e.valueFrom);
  const notes = (env ?? [])
    .filter((e) => e.valueFrom)
    .map((e) => `env ${e.name} is left out: it comes from ${sourceOf(e.valueFrom!)}, which Compose cannot read; set it under environment or in an env_file.`);
  const fields = literal.length ? { environment: Object.fromEntries(literal.map((e) => [e.name, e.value ?? ''])) } : {};
  return { fields, notes };
}

/** envFrom as env files the user supplies: ./configmap/NAME.env or ./secret/NAME.env, NAME=value lines. */
export function envFiles(envFrom: V1EnvFromSource[] | undefined): Part<Pick<ComposeService, 'env_file'>> {
  const notes: string[] = [];
  const files = (envFrom ?? []).map((source) => {
    const [kind, ref] = source.secretRef ? ['Secret', source.secretRef] : ['ConfigMap', source.configMapRef!];
    const path = `./${kind.toLowerCase()}/${ref.name}.env`;
    notes.push(`${path}: supply the keys of ${kind} ${ref.name} as NAME=value lines (Compose cannot read Kubernetes objects).`);
    if (source.prefix) notes.push(`${path}: envFrom prefix ${source.prefix} cannot be applied by Compose; write the names with it.`);
    return { path, required: ref.optional !== true };
  });
  return { fields: files.length ? { env_file: files } : {}, notes };
}

/** Each container port published on the same host port. */
export function ports(c: V1Container): string[] | undefined {
  const list = (c.ports ?? []).map((p) => `${p.containerPort}:${p.containerPort}${p.protocol && p.protocol !== 'TCP' ? `/${p.protocol.toLowerCase()}` : ''}`);
  return list.length ? list : undefined;
}

const PROBES = ['readinessProbe', 'livenessProbe', 'startupProbe'] as const;

const seconds = (n: number | undefined): string | undefined => (n === undefined ? undefined : `${n}s`);

function fromExec(probe: V1Probe): ComposeHealthcheck {
  return omitUndefined({
    test: ['CMD', ...(probe.exec?.command ?? [])],
    interval: seconds(probe.periodSeconds ?? 10),
    timeout: seconds(probe.timeoutSeconds ?? 1),
    retries: probe.failureThreshold ?? 3,
    start_period: seconds(probe.initialDelaySeconds),
  });
}

/**
 * The first exec probe (readiness, then liveness, then startup) as the healthcheck:
 * Compose has one, which runs a program in the container. The other probes are notes:
 * HTTP, TCP and gRPC probes are made by the kubelet from outside, and a distroless
 * image has no curl or shell for a healthcheck to do it from inside.
 */
export function healthcheck(c: V1Container): Part<Pick<ComposeService, 'healthcheck'>> {
  const probes = PROBES.filter((p) => c[p]).map((p) => ({ name: p, probe: c[p]! }));
  const chosen = probes.find((p) => p.probe.exec);
  const others = probes.filter((p) => p !== chosen);
  const outside = others.filter((p) => !p.probe.exec).map(({ name, probe }) => `${name} (${handler(probe)})`);
  const notes = [
    ...others.filter((p) => p.probe.exec).map(({ name }) => `${name} (exec) is left out: Compose has one healthcheck, made of the ${chosen!.name}.`),
    ...(outside.length
      ? [`${outside.join(', ')} cannot be expressed: a Compose healthcheck runs a program inside the container, and a distroless image has no curl or shell to make the request.`]
      : []),
  ];
  return { fields: chosen ? { healthcheck: fromExec(chosen.probe) } : {}, notes };
}

const handler = (p: V1Probe): string => (p.httpGet ? 'httpGet' : p.tcpSocket ? 'tcpSocket' : 'grpc');

function amounts(list: Record<string, string> | undefined): ResourceAmounts | undefined {
  if (!list || (list.cpu === undefined && list.memory === undefined)) return undefined;
  return omitUndefined({
    cpus: list.cpu === undefined ? undefined : dockerCpus(list.cpu),
    memory: list.memory === undefined ? undefined : dockerBytes(list.memory),
  });
}

/** cpu and memory limits and requests as deploy.resources limits and reservations; other resources are notes. */
export function resources(c: V1Container): Part<Pick<ComposeService, 'deploy'>> {
  const { limits, requests } = (c.resources ?? {}) as { limits?: Record<string, string>; requests?: Record<string, string> };
  const other = [...Object.keys(limits ?? {}), ...Object.keys(requests ?? {})].filter((r) => r !== 'cpu' && r !== 'memory');
  const notes = [...new Set(other)].map((r) => `resource ${r} cannot be expressed in Compose and is left out.`);
  const spec = omitUndefined({ limits: amounts(limits), reservations: amounts(requests) });
  return { fields: Object.keys(spec).length ? { deploy: { resources: spec } } : {}, notes };
}

/** Kubernetes expands $(NAME) of the container's env in command, args and env values; Compose passes it as written. */
export function expansionNotes(c: V1Container): string[] {
  const names = new Set((c.env ?? []).map((e) => e.name));
  const texts = [...(c.command ?? []), ...(c.args ?? []), ...(c.env ?? []).map((e) => e.value ?? '')];
  const used = texts.flatMap((t) => [...t.matchAll(/(?<!\$)\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!)).filter((n) => names.has(n));
  return [...new Set(used)].map((n) => `$(${n}) is expanded by Kubernetes but passed as written by Compose: write the value instead.`);
}

/** Where the user supplies what an init volume holds: a directory with one file per key, as Kubernetes mounts it. */
function placeholder(appName: string, volume: V1Volume): { dir: string; notes: string[] } {
  if (volume.configMap) {
    const dir = `./configmap/${volume.configMap.name}`;
    return { dir, notes: [`${dir}: supply the keys of ConfigMap ${volume.configMap.name}, one file per key (Compose cannot read Kubernetes objects).`] };
  }
  if (volume.secret) {
    const dir = `./secret/${volume.secret.secretName}`;
    return { dir, notes: [`${dir}: supply the keys of Secret ${volume.secret.secretName}, one file per key, and keep the directory out of version control.`] };
  }
  const dir = `./projected/${appName}-${volume.name}`;
  const sources = (volume.projected?.sources ?? []).map((s) =>
    s.configMap ? `the keys of ConfigMap ${s.configMap.name}` : s.secret ? `the keys of Secret ${s.secret.name}` : s.downwardAPI ? 'Pod fields (downwardAPI, no Compose equivalent)' : 'a ServiceAccount token (no Compose equivalent)',
  );
  return { dir, notes: [`${dir}: supply the files of projected volume ${volume.name}: ${sources.join('; ')}.`] };
}

/** The shared volume as the app's named volume; init volumes as read-only bind mounts of placeholder directories. */
export function mounts(appName: string, c: V1Container, podVolumes: V1Volume[]): Part<Pick<ComposeService, 'volumes'>> {
  const notes: string[] = [];
  const volumes = (c.volumeMounts ?? []).map((m: V1VolumeMount): ComposeMount => {
    if (m.name === SHARED_VOLUME) return omitUndefined({ type: 'volume', source: sharedVolumeName(appName), target: m.mountPath, read_only: m.readOnly ? true : undefined });
    const found = placeholder(appName, podVolumes.find((v) => v.name === m.name)!);
    notes.push(...found.notes);
    // ConfigMap, Secret and projected volumes are read-only in Kubernetes whatever the mount says.
    return { type: 'bind', source: m.subPath ? `${found.dir}/${m.subPath}` : found.dir, target: m.mountPath, read_only: true };
  });
  return { fields: volumes.length ? { volumes } : {}, notes: [...new Set(notes)] };
}

export const sharedVolumeName = (appName: string): string => `${appName}-shared`;
