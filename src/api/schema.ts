import { z } from 'zod';
import { MAX_INT32, absolutePath, dnsLabel, keyedList, nonEmpty, quantity, repeated } from './fields.js';
import { withRules, type Rule } from './rule.js';
import { DNS1123_LABEL_RE, ENV_NAME_RE, PORT_NAME_RE, argvOf, celContainerNoShell, celNoShell, shellIn } from './rules.js';
import { specRules } from './spec-rules.js';
import { topologySpreadConstraints } from './topology.js';
import { initVolumes, volumeMounts } from './volumes.js';
import { disruptionBudget, rollingUpdate, service } from './workload.js';

// The DistrolessApp v1alpha1 API. This file is the single source of truth: the CRD
// in crds/ is generated from it, and the operator and the CLI validate with it.
// Every field carries a description because `kubectl explain` shows them.

export const GROUP = 'distroless.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'DistrolessApp';
export const PLURAL = 'distrolessapps';

export const DEFAULT_UID = 65532;
export const DEFAULT_MOUNT_PATH = '/shared';
export const MAX_REPLICAS = 1000;
/** The longest message a condition may hold; a longer one makes the status write fail. */
export const MAX_CONDITION_MESSAGE = 32_768;
export const IMAGE_POLICIES = ['Enforce', 'Warn', 'Off'] as const;

/** Init steps an app may have in spec.initSteps. */
export const MAX_INIT_STEPS = 16;
/** Sidecars an app may have. */
export const MAX_SIDECARS = 8;

const intOrString = z
  .union([z.int().min(1).max(65535), z.string().min(1)])
  .meta({ description: 'A port number (1-65535) or the name of a container port.', 'x-kubernetes-int-or-string': true });

const stringList = (description: string, maxItems = 256) =>
  z.array(z.string().max(32_768)).max(maxItems).describe(description);

const stringMap = (description: string) => z.record(z.string(), z.string()).describe(description);

const uid = (description: string) => z.int().min(1, 'must be a non-root UID of 1 or more').max(MAX_INT32).describe(description);
const gid = (description: string) => z.int().min(0).max(MAX_INT32).describe(description);

// ---- environment ----------------------------------------------------------------

const keyRef = (kind: string) =>
  z
    .object({
      name: nonEmpty().describe(`Name of the ${kind}.`),
      key: nonEmpty().describe(`Key within the ${kind}.`),
      optional: z.boolean().optional().describe(`Whether the ${kind} or its key may be missing.`),
    })
    .strict();

const envVarSource = z
  .object({
    secretKeyRef: keyRef('Secret').optional().describe('A key of a Secret in the app namespace.'),
    configMapKeyRef: keyRef('ConfigMap').optional().describe('A key of a ConfigMap in the app namespace.'),
    fieldRef: z
      .object({
        apiVersion: z.string().optional().describe('Schema version of fieldPath; v1 when unset.'),
        fieldPath: nonEmpty().describe('Pod field to read, such as metadata.name or status.podIP.'),
      })
      .strict()
      .optional()
      .describe('A field of the Pod.'),
    resourceFieldRef: z
      .object({
        containerName: z.string().optional().describe('Container whose resource to read.'),
        resource: nonEmpty().describe('Resource to read, such as limits.memory.'),
        divisor: quantity.optional(),
      })
      .strict()
      .optional()
      .describe('A resource limit or request of a container.'),
  })
  .strict();

const envVar = withRules(
  z
    .object({
      name: z.string().min(1).max(1024).regex(new RegExp(ENV_NAME_RE), 'must be a valid environment variable name').describe('Variable name.'),
      value: z.string().optional().describe('Literal value.'),
      valueFrom: withRules(envVarSource, 'Where the value comes from, instead of value.', [
        {
          cel: '[has(self.secretKeyRef), has(self.configMapKeyRef), has(self.fieldRef), has(self.resourceFieldRef)].filter(x, x).size() == 1',
          message: 'valueFrom needs exactly one of secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef',
          holds: (s) => [s.secretKeyRef, s.configMapKeyRef, s.fieldRef, s.resourceFieldRef].filter(Boolean).length === 1,
        },
      ]).optional(),
    })
    .strict(),
  'An environment variable.',
  [
    {
      cel: '!(has(self.value) && has(self.valueFrom))',
      message: 'set value or valueFrom, not both',
      holds: (e) => !(e.value !== undefined && e.valueFrom !== undefined),
    },
  ],
);

const envList = (who: string) =>
  z
    .array(envVar)
    .max(1024)
    .superRefine((list, ctx) => {
      const first = new Map<string, number>();
      list.forEach((e, i) => {
        const seen = first.get(e.name);
        if (seen === undefined) first.set(e.name, i);
        else ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `${e.name} is already set by env[${seen}]` });
      });
    })
    .meta({
      description: `Environment variables of the ${who} container. Names must be unique.`,
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });

const envFromSource = withRules(
  z
    .object({
      prefix: z.string().optional().describe('Prefix added to every variable name.'),
      configMapRef: z
        .object({ name: nonEmpty().describe('ConfigMap name.'), optional: z.boolean().optional().describe('Whether the ConfigMap may be missing.') })
        .strict()
        .optional()
        .describe('Every key of a ConfigMap.'),
      secretRef: z
        .object({ name: nonEmpty().describe('Secret name.'), optional: z.boolean().optional().describe('Whether the Secret may be missing.') })
        .strict()
        .optional()
        .describe('Every key of a Secret.'),
    })
    .strict(),
  'A ConfigMap or Secret whose keys all become variables.',
  [
    {
      cel: 'has(self.configMapRef) != has(self.secretRef)',
      message: 'envFrom needs exactly one of configMapRef or secretRef',
      holds: (s) => (s.configMapRef === undefined) !== (s.secretRef === undefined),
    },
  ],
);

const envFromList = (who: string) =>
  z.array(envFromSource).max(64).describe(`ConfigMaps and Secrets whose keys become variables of the ${who} container.`);

// ---- container pieces -------------------------------------------------------------

const resources = z
  .object({
    requests: z.record(z.string(), quantity).optional().describe('Minimum resources, such as cpu: 100m, memory: 64Mi and ephemeral-storage: 1Gi.'),
    limits: z.record(z.string(), quantity).optional().describe('Maximum resources, such as memory: 128Mi and ephemeral-storage: 2Gi (the shared volume on node disk counts toward it).'),
  })
  .strict()
  .describe('Compute resources of the container: cpu, memory, ephemeral-storage and any other resource name.');

const containerPort = z
  .object({
    name: z.string().max(15, 'must be at most 15 characters').regex(new RegExp(PORT_NAME_RE), 'must be an IANA service name: lowercase letters, digits and dashes, starting and ending alphanumeric').optional().describe('Port name, usable by probes.'),
    containerPort: z.int().min(1).max(65535).describe('Port number the application listens on.'),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP').describe('TCP (the default), UDP or SCTP.'),
  })
  .strict();

/** Who a field belongs to, as descriptions and messages name it. */
const APP = 'the distroless container';
const SIDECAR = 'a sidecar';

const portList = (who: string) =>
  withRules(z.array(containerPort).max(64), `Ports ${who} listens on. Names and number/protocol pairs must be unique.`, [
    {
      cel: 'self.all(p, !has(p.name) || self.exists_one(q, has(q.name) && q.name == p.name))',
      message: 'port names must be unique',
      holds: (ports) => repeated(ports.flatMap((p) => (p.name ? [p.name] : []))) === undefined,
      explain: (ports) => `port name ${repeated(ports.flatMap((p) => (p.name ? [p.name] : [])))} is used twice; port names must be unique`,
    },
    {
      cel: 'self.all(p, self.exists_one(q, q.containerPort == p.containerPort && q.protocol == p.protocol))',
      message: 'containerPort and protocol pairs must be unique',
      holds: (ports) => repeated(ports.map((p) => `${p.containerPort}/${p.protocol}`)) === undefined,
      explain: (ports) => `port ${repeated(ports.map((p) => `${p.containerPort}/${p.protocol}`))} is listed twice`,
    },
  ]);

const PROBE_HANDLERS = ['httpGet', 'tcpSocket', 'grpc', 'exec'] as const;
const PROBE_TIMINGS = ['initialDelaySeconds', 'periodSeconds', 'timeoutSeconds', 'successThreshold', 'failureThreshold', 'terminationGracePeriodSeconds'] as const;

const execProbe = (who: string) =>
  withRules(
    z.object({ command: stringList(`Program and arguments, run directly in ${who} (no shell).`).min(1) }).strict(),
    'Probe by running a program inside the container. The image has no shell, so the command must not start one.',
    [
      {
        cel: celNoShell('self.command'),
        message: `an exec probe of ${who} must not start a shell; use httpGet, tcpSocket or grpc, or run a program the image ships`,
        fieldPath: '.command',
        holds: (e) => shellIn(e.command) === undefined,
        explain: (e) => `exec probe starts the shell ${JSON.stringify(shellIn(e.command))}; ${who} has none. Use httpGet, tcpSocket or grpc, or run a program the image ships`,
      },
    ],
  ).optional();

const probeObject = (who: string) =>
  z
    .object({
      httpGet: z
        .object({
          path: z.string().optional().describe('HTTP path to request, such as /healthz.'),
          port: intOrString,
          scheme: z.enum(['HTTP', 'HTTPS']).optional().describe('HTTP (the default) or HTTPS.'),
          httpHeaders: z
            .array(z.object({ name: nonEmpty().describe('Header name.'), value: z.string().describe('Header value.') }).strict())
            .max(32)
            .optional()
            .describe('Extra request headers.'),
        })
        .strict()
        .optional()
        .describe('Probe with an HTTP GET; healthy on a 2xx or 3xx answer.'),
      tcpSocket: z.object({ port: intOrString }).strict().optional().describe('Probe by opening a TCP connection.'),
      grpc: z
        .object({
          port: z.int().min(1).max(65535).describe('gRPC port number.'),
          service: z.string().optional().describe('Service name for the gRPC health check.'),
        })
        .strict()
        .optional()
        .describe('Probe with the gRPC health checking protocol.'),
      exec: execProbe(who),
      initialDelaySeconds: z.int().min(0).max(MAX_INT32).optional().describe('Seconds after start before the first probe.'),
      periodSeconds: z.int().min(1).max(MAX_INT32).optional().describe('Seconds between probes.'),
      timeoutSeconds: z.int().min(1).max(MAX_INT32).optional().describe('Seconds before a probe times out.'),
      successThreshold: z.int().min(1).max(MAX_INT32).optional().describe('Consecutive successes to count as healthy.'),
      failureThreshold: z.int().min(1).max(MAX_INT32).optional().describe('Consecutive failures to count as unhealthy.'),
      terminationGracePeriodSeconds: z.int().min(1).max(MAX_INT32).optional().describe('Grace period when this probe kills the container.'),
    })
    .strict();

type ProbeInput = z.output<ReturnType<typeof probeObject>>;
const handlerCount = (p: ProbeInput): number => PROBE_HANDLERS.filter((h) => p[h] !== undefined).length;
const isEmptyProbe = (p: ProbeInput): boolean => handlerCount(p) === 0 && PROBE_TIMINGS.every((t) => p[t] === undefined);

const probe = (which: string, who: string) =>
  withRules(
    probeObject(who),
    `${which} probe of ${who}: exactly one of httpGet, tcpSocket, grpc or exec, plus optional timings. An empty object means no probe.`,
    [
      {
        cel:
          `[${PROBE_HANDLERS.map((h) => `has(self.${h})`).join(', ')}].filter(x, x).size() == 1 || ` +
          `[${[...PROBE_HANDLERS, ...PROBE_TIMINGS].map((h) => `has(self.${h})`).join(', ')}].filter(x, x).size() == 0`,
        message: 'a probe needs exactly one of httpGet, tcpSocket, grpc or exec',
        holds: (p) => handlerCount(p) === 1 || isEmptyProbe(p),
      },
    ],
  ).optional();

export { isEmptyProbe };

// ---- the containers -----------------------------------------------------------------

const containerBase = {
  image: nonEmpty()
    .max(1024)
    // Image references are ASCII; this one pattern means the same to JavaScript and to
    // the API server's RE2, where \S would let a non-breaking space through.
    .regex(/^[!-~]*$/, 'must be printable ASCII and must not contain whitespace')
    .describe('Container image reference, such as postgres:16-alpine or a digest.'),
  imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional().describe('When to pull the image; the Kubernetes default when unset.'),
  args: stringList('Arguments to the command (or to the image entrypoint when command is unset).', 1024).optional(),
  workingDir: absolutePath('Working directory; the image default when unset.').optional(),
  resources: resources.optional(),
};

const PLATFORM_UIDS = 'must be left unset with podTemplate.platformAssignsUids';

/** What every init step has: spec.init, and each of spec.initSteps. */
const initFields = {
  ...containerBase,
  command: stringList('Entrypoint of the init container; the image entrypoint when unset. A shell is fine here.').optional(),
  env: envList('init').optional(),
  envFrom: envFromList('init').optional(),
  runAsUser: uid(`UID the init container runs as; ${DEFAULT_UID} when unset (${PLATFORM_UIDS}).`).optional(),
  runAsGroup: gid(`GID the init container runs as; ${DEFAULT_UID} when unset (${PLATFORM_UIDS}).`).optional(),
  volumeMounts,
};

const initContainer = z
  .object(initFields)
  .strict()
  .describe(
    'The initialiser: a full-distro image that runs to completion before the distroless container starts, and writes its results into the shared volume. Its env and envFrom (Secrets included) never reach the distroless container. ' +
      'Set this (one step, the Pod\'s init container "init") or initSteps (several), not both.',
  );

const initStep = z
  .object({
    name: dnsLabel('Step name: the Pod runs the step as the init container init-<name>. A DNS-1123 label of at most 58 characters, unique among the steps.', 58),
    ...initFields,
  })
  .strict();

/**
 * Several init steps, run in order. A list beside `init` rather than more steps
 * after it: every step is then alike (a name, the same fields), and steps are
 * reordered by moving list items. `init` stays for the one-step app, unchanged.
 */
const initSteps = keyedList(initStep, 'name', {
  name: 'initSteps',
  max: MAX_INIT_STEPS,
  min: 1,
  description:
    'Init steps, run one after another in this order, each to completion, before the sidecars and the distroless container start: each a full-distro image with its own command, env (Secrets included), ' +
    'UIDs and init volumes, all mounting the shared volume. Instead of init, for an app that needs several steps. Their env, envFrom and volumes never reach the distroless container or the sidecars.',
});

/** The no-shell lint of a long-running container: the program it starts, from its command or, with none, its args. */
const noShell = <T extends { command?: string[] | undefined; args?: string[] | undefined }>(who: string, why: string): Rule<T> => ({
  cel: celContainerNoShell(),
  message: `${who} must not start a shell: give the program itself in exec form, such as ["/app/server"]`,
  fieldPath: '.command',
  holds: (a) => shellIn(argvOf(a)) === undefined,
  explain: (a) => `${JSON.stringify(shellIn(argvOf(a)))}${a.command?.length ? '' : ' (in args, with no command)'} starts a shell, ${why}: give the program itself in exec form, such as ["/app/server"]`,
});

/** The fields of a long-running, hardened container: the distroless one and each sidecar. */
const serving = (who: string, envWho: string, uidNote: string) => ({
  ...containerBase,
  command: stringList(`Entrypoint of ${who} in exec form; never wrapped in a shell, and must not start one.`).optional(),
  env: envList(envWho).optional(),
  envFrom: envFromList(envWho).optional(),
  ports: portList(who).optional(),
  livenessProbe: probe('Liveness', who),
  readinessProbe: probe('Readiness', who),
  startupProbe: probe('Startup', who),
  runAsUser: uid(`UID ${who} runs as; ${DEFAULT_UID}${uidNote} when unset (${PLATFORM_UIDS}).`).optional(),
  runAsGroup: gid(`GID ${who} runs as; ${DEFAULT_UID} when unset (${PLATFORM_UIDS}).`).optional(),
});

const appContainer = withRules(
  z.object(serving(APP, 'distroless', ' (the distroless nonroot user)')).strict(),
  'The distroless main container: no shell, no package manager, non-root, read-only root filesystem.',
  [noShell(APP, 'which a distroless image does not have')],
);

const RESERVED_CONTAINER_NAMES = ['app', 'init'];

const sidecar = withRules(
  z
    .object({
      name: dnsLabel("Container name: unique among the sidecars; not app or init, nor starting with init- (the init steps' names)."),
      ...serving(SIDECAR, 'sidecar', ''),
    })
    .strict(),
  "A native sidecar: an init container with restartPolicy Always, started after the init steps and before the distroless container, running for the Pod's life. " +
    'Hardened and linted as the distroless container is (non-root, read-only root filesystem, no capabilities, no shell in its command or exec probes); ' +
    'mounts the shared volume where and as the distroless container does; has its own env and envFrom, never the init steps\' nor their volumes.',
  [
    noShell(SIDECAR, 'and a sidecar is held to the distroless container\'s rules'),
    {
      cel: `!(self.name in [${RESERVED_CONTAINER_NAMES.map((n) => `'${n}'`).join(', ')}]) && !self.name.startsWith('init-')`,
      message: "a sidecar must not be named app or init, nor init-*: those are the distroless container's and the init steps' names",
      fieldPath: '.name',
      holds: (c) => !RESERVED_CONTAINER_NAMES.includes(c.name) && !c.name.startsWith('init-'),
      explain: (c) => `${JSON.stringify(c.name)} is taken: app is the distroless container, init and init-* the init steps; choose another name`,
    },
  ],
);

const sidecars = keyedList(sidecar, 'name', {
  name: 'sidecars',
  max: MAX_SIDECARS,
  description:
    'Native sidecars (Kubernetes 1.29 and later): containers that start once the init steps are done, before the distroless container, and run beside it, such as a log shipper or a proxy. ' +
    'Each is hardened and linted as the distroless container, and mounts the shared volume as it does.',
});

const shared = z
  .object({
    mountPath: absolutePath(`Where every container mounts the shared volume; ${DEFAULT_MOUNT_PATH} by default.`).default(DEFAULT_MOUNT_PATH),
    initMountPath: absolutePath('Mount path in the init steps, overriding mountPath.').optional(),
    appMountPath: absolutePath('Mount path in the distroless container and the sidecars, overriding mountPath.').optional(),
    medium: z.enum(['', 'Memory']).default('').describe('"" for node disk (the default) or Memory for tmpfs, which counts against the memory limit.'),
    sizeLimit: quantity
      .optional()
      .describe(
        'Upper bound on the volume size, such as 256Mi. On node disk the volume counts toward the Pod\'s ephemeral storage and the kubelet evicts a Pod whose volume outgrows this; ' +
          'set it, and give the containers resources.limits ephemeral-storage with room for it, so one Pod cannot fill the node\'s disk. With Memory, the memory limits bound it as well.',
      ),
    readOnlyInApp: z.boolean().default(false).describe('Mount the volume read-only in the distroless container (and in the sidecars).'),
  })
  .strict()
  .describe('The emptyDir volume the init container writes and the distroless container reads.');

const toleration = z
  .object({
    key: z.string().optional().describe('Taint key; empty with operator Exists matches every taint.'),
    operator: z.enum(['Exists', 'Equal']).optional().describe('Equal (the default) or Exists.'),
    value: z.string().optional().describe('Taint value to match with operator Equal.'),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional().describe('Taint effect to match; all when empty.'),
    tolerationSeconds: z.int().optional().describe('How long a NoExecute taint is tolerated.'),
  })
  .strict();

const RESERVED_LABEL_PREFIXES = ['distroless.dev/', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/name'];
const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

// Label syntax and reserved keys are checked by the operator (InvalidSpec), not by CEL:
// the API server already refuses malformed labels on the Pod, and saying why earlier,
// in the app's own status, is kinder than a PodRejected.
const podLabels = stringMap('Labels added to every Pod. Keys under distroless.dev/ and app.kubernetes.io/{name,managed-by} are reserved.').superRefine(
  (labels, ctx) => {
    for (const [key, value] of Object.entries(labels)) {
      if (RESERVED_LABEL_PREFIXES.some((p) => key.startsWith(p))) {
        ctx.addIssue({ code: 'custom', path: [key], message: `label ${key} is reserved for the operator's own use` });
      } else if (key.length > 253 + 1 + 63 || !LABEL_KEY_RE.test(key)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(key)} is not a valid label key` });
      } else if (value.length > 63 || !LABEL_VALUE_RE.test(value)) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(value)} is not a valid label value (at most 63 letters, digits, -, _ and ., starting and ending alphanumeric)` });
      }
    }
  },
);

const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const SECCOMP_ANNOTATIONS = ['seccomp.security.alpha.kubernetes.io/', 'container.seccomp.security.alpha.kubernetes.io/'];

// The restricted profile forbids AppArmor `unconfined` and a seccomp profile other than
// RuntimeDefault or Localhost; the legacy annotations could say otherwise for the
// Pod the operator makes, and pass wherever the profile is not enforced (and in
// `render` output). The Pod's securityContext sets seccomp; the annotations may not.
const MAX_ANNOTATIONS = 128;
const annotationMap = z
  .record(z.string().max(317), z.string().max(65_536))
  .refine((a) => Object.keys(a).length <= MAX_ANNOTATIONS, { message: `at most ${MAX_ANNOTATIONS} annotations` })
  .meta({ maxProperties: MAX_ANNOTATIONS });
const podAnnotations = withRules(annotationMap.optional(), 'Annotations added to every Pod. AppArmor annotations may name runtime/default or localhost/ profiles only; seccomp annotations are refused (the Pod sets RuntimeDefault).', [
  {
    cel: `self.all(k, !k.startsWith('${APPARMOR_ANNOTATION}') || self[k] == 'runtime/default' || self[k].startsWith('localhost/'))`,
    message: `AppArmor annotations (${APPARMOR_ANNOTATION}*) may only be runtime/default or localhost/<profile>: the restricted Pod Security profile forbids unconfined`,
    holds: (a) => Object.entries(a ?? {}).every(([k, v]) => !k.startsWith(APPARMOR_ANNOTATION) || v === 'runtime/default' || v.startsWith('localhost/')),
    explain: (a) => {
      const [key, value] = Object.entries(a ?? {}).find(([k, v]) => k.startsWith(APPARMOR_ANNOTATION) && v !== 'runtime/default' && !v.startsWith('localhost/'))!;
      return `${key}: ${JSON.stringify(value)} is not allowed: AppArmor annotations may only be runtime/default or localhost/<profile> (the restricted Pod Security profile forbids unconfined)`;
    },
  },
  {
    cel: `self.all(k, ${SECCOMP_ANNOTATIONS.map((p) => `!k.startsWith('${p}')`).join(' && ')})`,
    message: 'seccomp annotations are not allowed: the Pod sets seccompProfile RuntimeDefault in its securityContext',
    holds: (a) => Object.keys(a ?? {}).every((k) => !SECCOMP_ANNOTATIONS.some((p) => k.startsWith(p))),
    explain: (a) => `${Object.keys(a ?? {}).find((k) => SECCOMP_ANNOTATIONS.some((p) => k.startsWith(p)))}: seccomp annotations are not allowed: the Pod sets seccompProfile RuntimeDefault in its securityContext`,
  },
]);

const podTemplateFields = z
  .object({
    labels: podLabels.optional(),
    annotations: podAnnotations,
    serviceAccountName: z.string().regex(new RegExp(DNS1123_LABEL_RE.replace('$', '') + '(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'), 'must be a DNS-1123 subdomain').max(253).optional().describe('ServiceAccount the Pods run as; the namespace default when unset.'),
    automountServiceAccountToken: z.boolean().default(false).describe('Mount an API token into the Pods. Off by default: a distroless server rarely needs the Kubernetes API.'),
    nodeSelector: stringMap('Node labels the Pods must be scheduled on.').optional(),
    tolerations: z.array(toleration).max(64).optional().describe('Taints the Pods tolerate.'),
    affinity: z
      .record(z.string(), z.unknown())
      .optional()
      .meta({ description: 'Node and pod affinity, as in a Pod spec (passed through unchanged).', 'x-kubernetes-preserve-unknown-fields': true }),
    imagePullSecrets: z
      .array(z.object({ name: nonEmpty().describe('Secret name.') }).strict())
      .max(16)
      .optional()
      .describe('Secrets for pulling the images (referenced by name; the operator does not read them).'),
    priorityClassName: z.string().max(253).optional().describe('PriorityClass of the Pods.'),
    terminationGracePeriodSeconds: z.int().min(0).max(MAX_INT32).default(30).describe('Seconds a Pod gets to stop; 30 by default.'),
    // No schema default: the API server would write it into every app, and CEL could
    // not tell it from one the user set beside platformAssignsUids. The renderer (and
    // the template hash) take DEFAULT_UID for it instead.
    fsGroup: gid(`Group that owns the shared volume, so every container can write it; ${DEFAULT_UID} when unset (${PLATFORM_UIDS}).`).optional(),
    platformAssignsUids: z
      .boolean()
      .optional()
      .describe(
        'Leave runAsUser, runAsGroup and fsGroup unset everywhere, for platforms that assign them (OpenShift\'s restricted SCC gives each namespace a UID range and sets them itself); runAsNonRoot stays true. ' +
          'Every container, init steps included, then runs as the one UID the platform picks, with group 0 (root\'s group, no privilege) and the assigned fsGroup: the images\' files must be readable, ' +
          'and what the app writes writable, by an arbitrary UID in group 0. Refused beside an explicit runAsUser, runAsGroup or fsGroup.',
      ),
    topologySpreadConstraints,
  })
  .strict();

const podTemplate = withRules(podTemplateFields, 'Pod-level settings passed through to every Pod.', [
  {
    cel: '!(has(self.platformAssignsUids) && self.platformAssignsUids) || !has(self.fsGroup)',
    message: `fsGroup ${PLATFORM_UIDS}: the platform assigns it`,
    fieldPath: '.fsGroup',
    holds: (p) => !p.platformAssignsUids || p.fsGroup === undefined,
  },
]);

const specFields = z
  .object({
    replicas: z.int().min(0).max(MAX_REPLICAS).default(1).describe(`Number of Pods; 1 by default, 0 scales the app down, at most ${MAX_REPLICAS}.`),
    init: initContainer.optional(),
    initSteps: initSteps.optional(),
    initVolumes: initVolumes.optional(),
    app: appContainer,
    sidecars: sidecars.optional(),
    shared: shared.default({ mountPath: DEFAULT_MOUNT_PATH, medium: '', readOnlyInApp: false }),
    podTemplate: podTemplate.default({ automountServiceAccountToken: false, terminationGracePeriodSeconds: 30 }),
    updateStrategy: z
      .enum(['RollingUpdate', 'Recreate'])
      .default('RollingUpdate')
      .describe('RollingUpdate (the default) replaces Pods at the pace rollingUpdate sets, by default one new Pod available before an old one goes; Recreate removes the old Pods first.'),
    rollingUpdate: rollingUpdate.default({ maxSurge: 1, maxUnavailable: 0 }),
    minReadySeconds: z
      .int()
      .min(0)
      .max(MAX_INT32)
      .default(0)
      .describe('Seconds a Pod must have been Ready before it counts as available: to the rollout, the Ready condition and availableReplicas. 0 by default.'),
    progressDeadlineSeconds: z
      .int()
      .min(1)
      .max(MAX_INT32)
      .optional()
      .describe(
        'Seconds a rollout may go without progress (a Pod created, becoming available or removed) before the app is Stalled with reason ProgressDeadlineExceeded; progress clears it. Unset: no deadline. Must exceed minReadySeconds.',
      ),
    disruptionBudget: disruptionBudget.optional(),
    service: service.optional(),
    imagePolicy: z
      .enum(IMAGE_POLICIES)
      .default('Warn')
      .describe(
        'What the operator does with what it finds inside the main image (a shell, BusyBox, a package manager). ' +
          'Warn (the default): run it, and say so once in a Warning Event and the Distroless condition. ' +
          'Enforce: no Pod of an image that is not distroless, nor of one not inspected yet (Stalled, reason ImageNotDistroless). ' +
          'Off: the image is not inspected. The init image is reported in status, never judged.',
      ),
  })
  .strict();

export const specSchema = withRules(specFields, 'Desired state of the app.', [
  {
    cel: '!has(self.progressDeadlineSeconds) || self.progressDeadlineSeconds > self.minReadySeconds',
    message: 'progressDeadlineSeconds must be more than minReadySeconds',
    fieldPath: '.progressDeadlineSeconds',
    holds: (s) => s.progressDeadlineSeconds === undefined || s.progressDeadlineSeconds > s.minReadySeconds,
    explain: (s) => `${s.progressDeadlineSeconds} must be more than minReadySeconds (${s.minReadySeconds}): a Pod could not even become available in time`,
  },
  {
    cel: '!has(self.service) || has(self.service.ports) || (has(self.app.ports) && size(self.app.ports) > 0)',
    message: 'service needs ports: set service.ports, or app.ports for the Service to take them from',
    fieldPath: '.service',
    holds: (s) => !s.service || s.service.ports !== undefined || (s.app.ports?.length ?? 0) > 0,
  },
  ...specRules,
]);

const inspectedImage = z
  .object({
    container: z.string().max(63).describe('The container: app (the distroless main container), init, an init step (init-<name>), or a sidecar (its name).'),
    image: z.string().max(1024).describe('The image as the spec names it.'),
    digest: z.string().max(100).optional().describe('The manifest digest inspected (the platform image).'),
    distroless: z.boolean().optional().describe('True when no shell, BusyBox or OS package manager was found.'),
    shells: z.array(z.string().max(256)).max(16).optional().describe('Shells found, as absolute paths.'),
    packageManagers: z.array(z.string().max(64)).max(16).optional().describe('Package managers found.'),
    packageMetadata: z.array(z.string().max(256)).max(8).optional().describe('Package databases scanners read, with their package counts.'),
    scannerVisibility: z
      .enum(['Visible', 'Blind', 'NoOS'])
      .optional()
      .describe('Visible: package metadata accounts for the OS files. Blind: OS files no package database lists, so scanners miss them. NoOS: no OS files.'),
    user: z.string().max(256).optional().describe('The user the image runs as, and whether it is root.'),
    error: z.string().max(4096).optional().describe('Why the image could not be inspected.'),
  })
  .strict();

const condition = z
  .object({
    type: z.string().max(316).describe('Ready, Reconciling or Stalled.'),
    status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
    observedGeneration: z.int().min(0).optional().describe('The .metadata.generation the condition was set for.'),
    lastTransitionTime: z.string().describe('When the status last changed.'),
    reason: z.string().max(1024).describe('A CamelCase reason, such as InvalidSpec or PodRejected.'),
    message: z.string().max(MAX_CONDITION_MESSAGE).describe('Details for a human.'),
  })
  .strict();

export const statusSchema = z
  .object({
    observedGeneration: z.int().min(0).optional().describe('The .metadata.generation this status describes.'),
    replicas: z.int().min(0).optional().describe('Pods that exist.'),
    readyReplicas: z.int().min(0).optional().describe('Pods that are Ready.'),
    updatedReplicas: z.int().min(0).optional().describe('Pods of the current template.'),
    availableReplicas: z.int().min(0).optional().describe('Pods that have been Ready for at least spec.minReadySeconds.'),
    selector: z.string().max(1024).optional().describe("The label selector of the app's Pods, serialized: what the scale subresource gives a HorizontalPodAutoscaler."),
    lastProgressTime: z.string().optional().describe('When the rollout last made progress (a Pod created, becoming available or removed): what spec.progressDeadlineSeconds is measured from.'),
    templateHash: z.string().optional().describe('Hash of the current Pod template, as in the distroless.dev/template-hash label.'),
    replicaSummary: z.string().optional().describe('Ready and desired Pods as ready/desired, such as 2/3, for kubectl get.'),
    conditions: z
      .array(condition)
      .max(8)
      .optional()
      .meta({
        description: 'Ready, Reconciling and Stalled, kstatus-compatible; and Distroless, what the inspection of the main image found (absent when spec.imagePolicy is Off).',
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      }),
    images: z
      .array(inspectedImage)
      .max(1 + MAX_INIT_STEPS + MAX_SIDECARS)
      .optional()
      .describe('What the inspection of each image found (absent when spec.imagePolicy is Off); the main image is the one judged, the others are reported.'),
  })
  .strict()
  .describe('Observed state of the app, written by the operator.');

export const metadataSchema = z
  .object({
    name: z
      .string()
      .max(63, 'must be at most 63 characters: it becomes a label value and the prefix of Pod names')
      .regex(new RegExp(DNS1123_LABEL_RE), 'must be a DNS-1123 label: lowercase letters, digits and -, starting and ending alphanumeric')
      .describe('App name.'),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    generation: z.int().optional(),
    resourceVersion: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

export const distrolessAppSchema = z
  .object({
    apiVersion: z.literal(API_VERSION, { error: (i) => `must be ${API_VERSION}, got ${JSON.stringify(i.input)}` }),
    kind: z.literal(KIND, { error: (i) => `must be ${KIND}, got ${JSON.stringify(i.input)}` }),
    metadata: metadataSchema,
    spec: specSchema,
    status: statusSchema.optional(),
  })
  .strict();

export type DistrolessApp = z.output<typeof distrolessAppSchema>;
export type DistrolessAppStatus = z.output<typeof statusSchema>;
export type Condition = z.output<typeof condition>;
export type ImagePolicy = (typeof IMAGE_POLICIES)[number];
export type InspectedImageStatus = z.output<typeof inspectedImage>;
export type Probe = ProbeInput;
export type InitContainer = z.output<typeof initContainer>;
export type InitStep = z.output<typeof initStep>;
export type Sidecar = z.output<typeof sidecar>;
export type AppContainer = z.output<typeof appContainer>;
export type PodTemplate = z.output<typeof podTemplate>;
export type Spec = z.output<typeof specSchema>;
