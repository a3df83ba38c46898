import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { DistrolessApp } from '../api/schema.js';
import { isInitStepContainer } from '../api/steps.js';
import {
  environment,
  envFiles,
  expansionNotes,
  healthcheck,
  mounts,
  ports,
  pullPolicy,
  resources,
  sharedVolumeName,
  user,
  type ComposeService,
  type DependsCondition,
} from './compose-service.js';
import { templateHash } from './hash.js';
import { omitUndefined } from './objects.js';
import { renderPod } from './pod.js';
import { SHARED_VOLUME } from './volumes.js';

export type { ComposeService } from './compose-service.js';

// DistrolessApps as one Docker Compose file, for running them where there is no
// cluster: a pure function of validated apps, read off the Pod `render` makes, so
// the export and the operator agree on env, mounts, UIDs and hardening.
//
// Per app A: A-shared-permissions (makes the shared volume writable, as an emptyDir
// is), then each init step (A-init, or A-init-NAME in order), each waiting for the
// one before to complete successfully; the sidecars (A-NAME) once the last step has
// completed; and A, the distroless container, once the sidecars have started. What
// Compose cannot say is kept as notes, which the YAML writes as comments.

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, Record<string, never>>;
}

/** A comment beside a service or a volume of the file. */
export interface ComposeNote {
  path: ['services' | 'volumes', string];
  lines: string[];
}

export interface RenderedCompose {
  file: ComposeFile;
  notes: ComposeNote[];
  /** Names two apps would both use (services or volumes): the file would be wrong, so it is not to be printed. */
  problems: string[];
}

const HARDENING = { cap_drop: ['ALL'], security_opt: ['no-new-privileges:true'] } as Pick<ComposeService, 'cap_drop' | 'security_opt'>;
const COMPLETED: DependsCondition = 'service_completed_successfully';

/** The permission step's name: a sidecar cannot be named init-*, nor can this clash with an init step's. */
export const permissionsService = (appName: string): string => `${appName}-shared-permissions`;

/** The service name of a container of the Pod: app is the app's name, the others are prefixed with it. */
export const serviceName = (appName: string, container: string): string => (container === 'app' ? appName : `${appName}-${container}`);

/** Every string the file holds with $ doubled: Compose would otherwise fill $NAME in from the environment it runs in. */
function escapeDollars<T>(value: T): T {
  if (typeof value === 'string') return value.replace(/\$/g, '$$$$') as T;
  if (Array.isArray(value)) return value.map(escapeDollars) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, escapeDollars(v)])) as T;
  return value;
}

interface Built {
  name: string;
  service: ComposeService;
  notes: string[];
}

interface AppContext {
  app: DistrolessApp;
  pod: V1Pod;
}

/** What a long-running container (the app, a sidecar) has that a step does not: it restarts, stops gracefully, and its root is read-only. */
function servingFields(ctx: AppContext): Pick<ComposeService, 'restart' | 'stop_grace_period' | 'read_only'> {
  return { restart: 'unless-stopped', stop_grace_period: `${ctx.pod.spec?.terminationGracePeriodSeconds ?? 30}s`, read_only: true };
}

const dependsOnFields = (dependsOn: Record<string, DependsCondition>): ComposeService['depends_on'] =>
  Object.keys(dependsOn).length ? Object.fromEntries(Object.entries(dependsOn).map(([s, condition]) => [s, { condition }])) : undefined;

/** One container as a service: a step (runs to completion, writable root) or serving (restarts, read-only root). */
function containerService(ctx: AppContext, c: V1Container, serving: boolean, dependsOn: Record<string, DependsCondition>): Built {
  const name = ctx.app.metadata.name;
  const parts = [environment(c.env), envFiles(c.envFrom), mounts(name, c, ctx.pod.spec?.volumes ?? []), healthcheck(c), resources(c)];
  const [env, envFile, volumes, health, deploy] = parts;
  const fsGroup = ctx.pod.spec?.securityContext?.fsGroup;
  const service = omitUndefined<ComposeService>({
    image: c.image!,
    pull_policy: pullPolicy(c.imagePullPolicy),
    user: user(c),
    // fsGroup is a supplementary group of every container of the Pod; group_add says the same.
    group_add: fsGroup === undefined ? undefined : [String(fsGroup)],
    entrypoint: c.command,
    command: c.args,
    working_dir: c.workingDir,
    ...env!.fields,
    ...envFile!.fields,
    ports: ports(c),
    ...volumes!.fields,
    depends_on: dependsOnFields(dependsOn),
    ...health!.fields,
    ...deploy!.fields,
    ...(serving ? servingFields(ctx) : {}),
    ...HARDENING,
  });
  return { name: serviceName(name, c.name), service: escapeDollars(service), notes: [...parts.flatMap((p) => p.notes), ...expansionNotes(c)] };
}

/**
 * Docker makes a new named volume root's, mode 0755, where the kubelet makes an
 * emptyDir 0777: without this, a step running as its own UID could not write it. As
 * root with no capability at all, it can change the mode of the directory it owns,
 * and nothing else. It runs the first step's image, a full distro with chmod.
 */
function permissions(ctx: AppContext, first: V1Container): Built {
  const shared = first.volumeMounts!.find((m) => m.name === SHARED_VOLUME)!;
  const service = omitUndefined<ComposeService>({
    image: first.image!,
    pull_policy: pullPolicy(first.imagePullPolicy),
    user: '0:0',
    entrypoint: ['chmod', '0777', shared.mountPath],
    volumes: [{ type: 'volume', source: sharedVolumeName(ctx.app.metadata.name), target: shared.mountPath }],
    read_only: true,
    ...HARDENING,
  });
  const why = 'Makes the shared volume writable by every UID, as Kubernetes makes an emptyDir (Docker makes a new volume root-owned, mode 0755): root with no capabilities, in the first init step\'s image.';
  return { name: permissionsService(ctx.app.metadata.name), service: escapeDollars(service), notes: [why] };
}

/** What the app asks of Kubernetes that one Compose file does not do, said once, beside its main service. */
function appNotes(app: DistrolessApp): string[] {
  const { spec } = app;
  return [
    ...(spec.replicas !== 1 ? [`spec.replicas is ${spec.replicas}: this file runs one copy; each copy would need its own init steps and volume, which docker compose --scale does not give.`] : []),
    ...(spec.service ? ['spec.service: Compose publishes the container ports on the host instead (ports).'] : []),
    ...(spec.podTemplate.imagePullSecrets?.length ? ['podTemplate.imagePullSecrets: Compose cannot read them; docker login to the registry instead.'] : []),
  ];
}

function volumeNotes(app: DistrolessApp): string[] {
  const { shared } = app.spec;
  return [
    'The shared volume. A Pod starts with an empty emptyDir; this volume outlives the containers: docker compose down -v removes it, so the init steps start from empty again.',
    ...(shared.medium === 'Memory' ? ['medium Memory is not kept: Docker unmounts a tmpfs volume when the last container using it stops, so the files of an init step would be gone before the app starts.'] : []),
    ...(shared.sizeLimit !== undefined ? [`sizeLimit ${shared.sizeLimit} cannot be expressed: Docker's local volumes have no size limit.`] : []),
  ];
}

/** The services of one app, in the order they run, and its volume. */
function appServices(app: DistrolessApp): { services: Built[]; volume: string; volumeNotes: string[] } {
  const name = app.metadata.name;
  const pod = renderPod(app, templateHash(app), 0);
  const ctx = { app, pod };
  const inits = pod.spec?.initContainers ?? [];
  const steps = inits.filter((c) => isInitStepContainer(c.name));
  const sidecars = inits.filter((c) => !isInitStepContainer(c.name));
  const built = [permissions(ctx, steps[0]!)];
  for (const step of steps) built.push(containerService(ctx, step, false, { [built.at(-1)!.name]: COMPLETED }));
  const last = built.at(-1)!.name;
  const sidecarServices = sidecars.map((c) => {
    const sidecar = containerService(ctx, c, true, { [last]: COMPLETED });
    sidecar.notes.push(`In the Pod this sidecar and the app share localhost; here each service has its own, and they reach each other by service name (${name}, ${sidecar.name}).`);
    return sidecar;
  });
  const main = containerService(ctx, pod.spec!.containers[0]!, true, {
    [last]: COMPLETED,
    ...Object.fromEntries(sidecarServices.map((s): [string, DependsCondition] => [s.name, 'service_started'])),
  });
  main.notes.unshift(...appNotes(app));
  return { services: [...built, ...sidecarServices, main], volume: sharedVolumeName(name), volumeNotes: volumeNotes(app) };
}

/** Adds `name` for `app`, or says which app holds it already. */
function claim(owners: Map<string, string>, name: string, app: string, what: string): string[] {
  const holder = owners.get(name);
  if (holder !== undefined) return [`${what} ${name} of app ${app} is also one of app ${holder}: rename one of them`];
  owners.set(name, app);
  return [];
}

/**
 * Host ports are the machine's, where a Pod's are its own: a port another service of
 * the file publishes already is left to Docker to choose, and said so.
 */
function publishOnce(taken: Map<string, string>, s: Built): void {
  s.service.ports = s.service.ports?.map((mapping) => {
    const [host, container] = mapping.split(':') as [string, string];
    const port = `${host}${container.includes('/') ? container.slice(container.indexOf('/')) : ''}`;
    const holder = taken.get(port);
    if (holder === undefined) {
      taken.set(port, s.name);
      return mapping;
    }
    s.notes.push(`host port ${port} is published by ${holder} already: Docker picks a free one for container port ${container} (docker compose port ${s.name} ${container.split('/')[0]}).`);
    return container;
  });
}

/** Several apps as one Compose file: every app's services and volume, names prefixed by the app's. */
export function renderCompose(apps: readonly DistrolessApp[]): RenderedCompose {
  const file: ComposeFile = { services: {}, volumes: {} };
  const notes: ComposeNote[] = [];
  const problems: string[] = [];
  const owners = { services: new Map<string, string>(), volumes: new Map<string, string>() };
  const hostPorts = new Map<string, string>();
  for (const app of apps) {
    const { services, volume, volumeNotes: vNotes } = appServices(app);
    for (const s of services) {
      problems.push(...claim(owners.services, s.name, app.metadata.name, 'service'));
      publishOnce(hostPorts, s);
      file.services[s.name] = s.service;
      if (s.notes.length) notes.push({ path: ['services', s.name], lines: s.notes });
    }
    problems.push(...claim(owners.volumes, volume, app.metadata.name, 'volume'));
    file.volumes[volume] = {};
    notes.push({ path: ['volumes', volume], lines: vNotes });
  }
  return { file, notes, problems };
}
