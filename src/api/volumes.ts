import { z } from 'zod';
import { absolutePath, dnsLabel, fileMode, keyedList, nonEmpty, quantity, relativePath, repeated } from './fields.js';
import { withRules } from './rule.js';

// Init-only volumes: ConfigMaps, Secrets and projected sources that only init steps
// mount. The distroless container and the sidecars have no field to mount them, so
// a template or a key an init step reads never reaches the long-running containers.

export const SHARED_VOLUME_NAME = 'shared';
export const MAX_INIT_VOLUMES = 16;
export const MAX_VOLUME_MOUNTS = 16;
const MAX_ITEMS = 64;
const MAX_SOURCES = 16;

const keyToPath = z
  .object({
    key: nonEmpty().max(253).describe('The key to project.'),
    path: relativePath('File the key is written to, relative to the mount path, such as nginx.conf.tmpl. No .. segment.'),
    mode: fileMode('File mode of this file, such as 0400; defaultMode when unset.'),
  })
  .strict();

const items = (of: string) =>
  z
    .array(keyToPath)
    .max(MAX_ITEMS)
    .optional()
    .describe(`Keys of the ${of} to project, each to a file of its own; every key, named after itself, when unset.`);

const defaultMode = fileMode('File mode of the files, such as 0440; 0644 when unset. Written as an octal YAML number (0440) or in decimal (288).');

const configMapSource = z
  .object({
    name: nonEmpty().max(253).describe('ConfigMap name, in the app namespace.'),
    items: items('ConfigMap'),
    defaultMode,
    optional: z.boolean().optional().describe('Whether the ConfigMap (or a listed key) may be missing; the step does not start until it exists when false or unset.'),
  })
  .strict();

const secretSource = z
  .object({
    secretName: nonEmpty().max(253).describe('Secret name, in the app namespace.'),
    items: items('Secret'),
    defaultMode,
    optional: z.boolean().optional().describe('Whether the Secret (or a listed key) may be missing; the step does not start until it exists when false or unset.'),
  })
  .strict();

const projectedKeys = (kind: string) =>
  z
    .object({
      name: nonEmpty().max(253).describe(`${kind} name, in the app namespace.`),
      items: items(kind),
      optional: z.boolean().optional().describe(`Whether the ${kind} (or a listed key) may be missing.`),
    })
    .strict();

const downwardApiFile = withRules(
  z
    .object({
      path: relativePath('File the value is written to, relative to the mount path.'),
      fieldRef: z
        .object({
          apiVersion: z.string().max(64).optional().describe('Schema version of fieldPath; v1 when unset.'),
          fieldPath: nonEmpty().max(256).describe('Pod field to write: metadata.name, metadata.namespace, metadata.uid, metadata.labels or metadata.annotations (or one of them by key).'),
        })
        .strict()
        .optional()
        .describe('A field of the Pod.'),
      resourceFieldRef: z
        .object({
          containerName: nonEmpty().max(63).describe('Container whose resource to write, such as init or app.'),
          resource: nonEmpty().max(64).describe('Resource to write, such as limits.memory.'),
          divisor: quantity.optional(),
        })
        .strict()
        .optional()
        .describe('A resource limit or request of a container.'),
      mode: fileMode('File mode of this file; the projected defaultMode when unset.'),
    })
    .strict(),
  'A file holding a field of the Pod or a resource of a container.',
  [
    {
      cel: 'has(self.fieldRef) != has(self.resourceFieldRef)',
      message: 'a downwardAPI item needs exactly one of fieldRef or resourceFieldRef',
      holds: (f) => (f.fieldRef === undefined) !== (f.resourceFieldRef === undefined),
    },
  ],
);

const PROJECTIONS = ['configMap', 'secret', 'downwardAPI', 'serviceAccountToken'] as const;

const projection = withRules(
  z
    .object({
      configMap: projectedKeys('ConfigMap').optional().describe('Keys of a ConfigMap.'),
      secret: projectedKeys('Secret').optional().describe('Keys of a Secret.'),
      downwardAPI: z
        .object({ items: z.array(downwardApiFile).max(32).optional().describe('The files to write.') })
        .strict()
        .optional()
        .describe('Fields of the Pod and resources of its containers, as files.'),
      serviceAccountToken: z
        .object({
          audience: z.string().max(253).optional().describe('Who the token is for; the API server itself when unset.'),
          expirationSeconds: z.int().min(600).max(4_294_967_296).optional().describe('Requested lifetime of the token in seconds, at least 600; 3600 when unset.'),
          path: relativePath('File the token is written to, relative to the mount path.'),
        })
        .strict()
        .optional()
        .describe('A token of the Pod\'s ServiceAccount, bound to the Pod. An init step can use it whatever podTemplate.automountServiceAccountToken says.'),
    })
    .strict(),
  'One source of a projected volume: exactly one of configMap, secret, downwardAPI or serviceAccountToken.',
  [
    {
      cel: `[${PROJECTIONS.map((p) => `has(self.${p})`).join(', ')}].filter(x, x).size() == 1`,
      message: 'a projected source needs exactly one of configMap, secret, downwardAPI or serviceAccountToken',
      holds: (s) => PROJECTIONS.filter((p) => s[p] !== undefined).length === 1,
    },
  ],
);

const projectedSource = z
  .object({
    sources: z.array(projection).min(1).max(MAX_SOURCES).describe('What the volume holds, merged into one directory.'),
    defaultMode,
  })
  .strict();

const SOURCES = ['configMap', 'secret', 'projected'] as const;

const initVolume = withRules(
  z
    .object({
      name: dnsLabel('Volume name, as init steps\' volumeMounts name it. A DNS-1123 label, not "shared" (the shared volume\'s).'),
      configMap: configMapSource.optional().describe('The keys of a ConfigMap, as files.'),
      secret: secretSource.optional().describe('The keys of a Secret, as files. Only the init steps that mount it can read them.'),
      projected: projectedSource.optional().describe('ConfigMaps, Secrets, Pod fields and a ServiceAccount token in one directory.'),
    })
    .strict(),
  'A volume only init steps mount: exactly one of configMap, secret or projected.',
  [
    {
      cel: `[${SOURCES.map((s) => `has(self.${s})`).join(', ')}].filter(x, x).size() == 1`,
      message: 'an init volume needs exactly one of configMap, secret or projected',
      holds: (v) => SOURCES.filter((s) => v[s] !== undefined).length === 1,
    },
    {
      cel: `self.name != '${SHARED_VOLUME_NAME}'`,
      message: `"${SHARED_VOLUME_NAME}" is the shared volume's name; choose another`,
      fieldPath: '.name',
      holds: (v) => v.name !== SHARED_VOLUME_NAME,
    },
  ],
);

export const initVolumes = keyedList(initVolume, 'name', {
  name: 'initVolumes',
  max: MAX_INIT_VOLUMES,
  description:
    'Volumes that only init steps mount (ConfigMaps, Secrets, projected sources), never the distroless container or a sidecar: ' +
    'a template, a key or a certificate an init step reads stays out of the long-running containers. Names must be unique, and every volume must be mounted by some step.',
});

const volumeMount = z
  .object({
    name: dnsLabel('The init volume to mount (an initVolumes name).'),
    mountPath: absolutePath('Where the volume appears in the step; not the shared volume\'s mount path, nor a directory above or below it.'),
    subPath: relativePath('A file or directory of the volume to mount instead of its root.').optional(),
    readOnly: z.boolean().default(true).describe('Mount read-only (the default; ConfigMap, Secret and projected volumes are read-only whatever this says).'),
  })
  .strict();

export const volumeMounts = withRules(
  z.array(volumeMount).max(MAX_VOLUME_MOUNTS),
  'Init volumes this step mounts, by name. The shared volume is mounted too, always.',
  [
    {
      cel: 'self.all(m, self.exists_one(n, n.mountPath == m.mountPath))',
      message: 'mountPath must be unique within a step',
      holds: (mounts) => repeated(mounts.map((m) => m.mountPath)) === undefined,
      explain: (mounts) => `mountPath ${repeated(mounts.map((m) => m.mountPath))} is used twice; each mount needs its own`,
    },
  ],
).optional();

export type InitVolume = z.output<typeof initVolume>;
export type VolumeMount = z.output<typeof volumeMount>;
