import type { Rule } from './rule.js';

// Rules that relate one part of the spec to another: which init step runs, what
// init steps mount, and UIDs left to the platform. Each is a CEL rule on spec and
// its zod twin, which names the exact list item the CEL fieldPath cannot.

interface Mount {
  name: string;
  mountPath: string;
}

interface Ids {
  runAsUser?: number | undefined;
  runAsGroup?: number | undefined;
}

interface Step extends Ids {
  volumeMounts?: Mount[] | undefined;
}

/** The parts of the spec these rules read. */
export interface SpecShape {
  init?: Step | undefined;
  initSteps?: Step[] | undefined;
  initVolumes?: { name: string }[] | undefined;
  sidecars?: Ids[] | undefined;
  app: Ids;
  shared: { mountPath: string; initMountPath?: string | undefined };
  podTemplate: { platformAssignsUids?: boolean | undefined };
}

type Path = (string | number)[];

/** Every init step with where it is: spec.init, or each of spec.initSteps. */
const stepsOf = (s: SpecShape): { step: Step; at: Path }[] =>
  s.init ? [{ step: s.init, at: ['init'] }] : (s.initSteps ?? []).map((step, i) => ({ step, at: ['initSteps', i] }));

/** Every mount of every init step, with its path. */
const mountsOf = (s: SpecShape): { mount: Mount; at: Path }[] =>
  stepsOf(s).flatMap(({ step, at }) => (step.volumeMounts ?? []).map((mount, j) => ({ mount, at: [...at, 'volumeMounts', j] })));

const sharedInitPath = (s: SpecShape): string => s.shared.initMountPath ?? s.shared.mountPath;
const slashed = (p: string): string => (p.endsWith('/') ? p : `${p}/`);
/** Whether two mount paths are the same directory or one lies inside the other. */
export const nested = (a: string, b: string): boolean => slashed(a).startsWith(slashed(b)) || slashed(b).startsWith(slashed(a));

const unknownMount = (s: SpecShape) => mountsOf(s).find(({ mount }) => !(s.initVolumes ?? []).some((v) => v.name === mount.name));
const unusedVolume = (s: SpecShape) => {
  const i = (s.initVolumes ?? []).findIndex((v) => !mountsOf(s).some(({ mount }) => mount.name === v.name));
  return i < 0 ? undefined : { name: s.initVolumes![i]!.name, at: ['initVolumes', i, 'name'] };
};
const sharedClash = (s: SpecShape) => mountsOf(s).find(({ mount }) => nested(mount.mountPath, sharedInitPath(s)));

// ---- CEL ----------------------------------------------------------------------------

const CEL_SHARED_INIT_PATH = '(has(self.shared.initMountPath) ? self.shared.initMountPath : self.shared.mountPath)';
const celSlashed = (p: string): string => `(${p}.endsWith('/') ? ${p} : ${p} + '/')`;
const celNested = (a: string, b: string): string => `(${celSlashed(a)}.startsWith(${celSlashed(b)}) || ${celSlashed(b)}.startsWith(${celSlashed(a)}))`;
const CEL_PLATFORM = '(has(self.podTemplate) && has(self.podTemplate.platformAssignsUids) && self.podTemplate.platformAssignsUids)';

/** CEL: every mount of the step `step` (an expression) meets `each`, a condition over `m`. */
const celStepMounts = (step: string, each: string): string => `(!has(${step}.volumeMounts) || ${step}.volumeMounts.all(m, ${each}))`;
const CEL_KNOWN = 'has(self.initVolumes) && self.initVolumes.exists(v, v.name == m.name)';
const CEL_APART = `!${celNested('m.mountPath', CEL_SHARED_INIT_PATH)}`;
const CEL_MOUNTED_BY = (step: string): string => `(has(${step}.volumeMounts) && ${step}.volumeMounts.exists(m, m.name == v.name))`;

/** The same condition on spec.init and on each of spec.initSteps, as two rules naming each field. */
function onEveryStep(each: string, message: string, find: (s: SpecShape) => { at: Path } | undefined, explain: (s: SpecShape) => string, leaf: string): Rule<SpecShape>[] {
  const at = (s: SpecShape): Path => [...(find(s)?.at ?? []), leaf];
  return [
    { cel: `!has(self.init) || ${celStepMounts('self.init', each)}`, message, fieldPath: '.init.volumeMounts', holds: (s) => !s.init || !find(s), explain, at },
    { cel: `!has(self.initSteps) || self.initSteps.all(s, ${celStepMounts('s', each)})`, message, fieldPath: '.initSteps', holds: (s) => !s.initSteps || !find(s), explain, at },
  ];
}

const uidFields = ['runAsUser', 'runAsGroup'] as const;

/** runAsUser and runAsGroup of the app and of spec.init, one rule per field. */
const singleUidRules = (): Rule<SpecShape>[] =>
  (['app', 'init'] as const).flatMap((container) =>
    uidFields.map(
      (field): Rule<SpecShape> => ({
        cel: `!${CEL_PLATFORM} || ${container === 'init' ? '!has(self.init) || ' : ''}!has(self.${container}.${field})`,
        message: `${field} must be left unset when podTemplate.platformAssignsUids is true: the platform assigns it`,
        fieldPath: `.${container}.${field}`,
        holds: (s) => !s.podTemplate.platformAssignsUids || s[container]?.[field] === undefined,
      }),
    ),
  );

/** runAsUser and runAsGroup of each init step and sidecar: one rule per list, naming the item. */
const listUidRules = (): Rule<SpecShape>[] =>
  (['initSteps', 'sidecars'] as const).map((list): Rule<SpecShape> => {
    const found = (s: SpecShape): Path | undefined => {
      const items: Ids[] = s[list] ?? [];
      for (const [i, item] of items.entries()) for (const field of uidFields) if (item[field] !== undefined) return [list, i, field];
      return undefined;
    };
    return {
      cel: `!${CEL_PLATFORM} || !has(self.${list}) || self.${list}.all(c, !has(c.runAsUser) && !has(c.runAsGroup))`,
      message: `runAsUser and runAsGroup of ${list} must be left unset when podTemplate.platformAssignsUids is true: the platform assigns them`,
      fieldPath: `.${list}`,
      holds: (s) => !s.podTemplate.platformAssignsUids || found(s) === undefined,
      explain: (s) => `${String(found(s)?.[2])} must be left unset when podTemplate.platformAssignsUids is true: the platform assigns it`,
      at: (s) => found(s) ?? [list],
    };
  });

export const specRules: Rule<SpecShape>[] = [
  {
    cel: 'has(self.init) != has(self.initSteps)',
    message: 'set exactly one of init (one init step) or initSteps (several, in order)',
    holds: (s) => (s.init === undefined) !== (s.initSteps === undefined),
    explain: (s) => (s.init ? 'set init or initSteps, not both: init is one step, initSteps several in order' : 'set init (one init step) or initSteps (several, in order)'),
    at: (s) => [s.init ? 'initSteps' : 'init'],
  },
  ...onEveryStep(
    CEL_KNOWN,
    'every volumeMounts name must be one of spec.initVolumes',
    unknownMount,
    (s) => `${JSON.stringify(unknownMount(s)?.mount.name)} is not one of spec.initVolumes`,
    'name',
  ),
  ...onEveryStep(
    CEL_APART,
    "an init volume's mountPath must not be the shared volume's mount path, nor a directory above or below it",
    sharedClash,
    (s) => `${sharedClash(s)?.mount.mountPath} would overlap the shared volume, mounted at ${sharedInitPath(s)} in every init step; mount it elsewhere`,
    'mountPath',
  ),
  {
    cel: `!has(self.initVolumes) || self.initVolumes.all(v, (has(self.init) && ${CEL_MOUNTED_BY('self.init')}) || (has(self.initSteps) && self.initSteps.exists(s, ${CEL_MOUNTED_BY('s')})))`,
    message: 'every init volume must be mounted by an init step (volumeMounts); one that none mounts is likely a misspelt name',
    fieldPath: '.initVolumes',
    holds: (s) => unusedVolume(s) === undefined,
    explain: (s) => `${JSON.stringify(unusedVolume(s)?.name)} is mounted by no init step; is a volumeMounts name misspelt?`,
    at: (s) => unusedVolume(s)?.at ?? ['initVolumes'],
  },
  ...singleUidRules(),
  ...listUidRules(),
];
