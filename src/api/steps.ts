import type { InitContainer, Spec } from './schema.js';

/** The container of spec.init, and the prefix of every init step's container. */
export const INIT_CONTAINER = 'init';

/** One init step as the Pod runs it. */
export interface InitStepOf {
  /** Its container's name: init for spec.init, init-<name> for each of spec.initSteps. */
  container: string;
  /** Where the spec holds it, as validation messages name fields: spec.init or spec.initSteps[i]. */
  path: string;
  step: InitContainer;
}

/** The container name of the init step `name` of spec.initSteps. */
export const initStepContainer = (name: string): string => `${INIT_CONTAINER}-${name}`;

/** Whether a container of the Pod is an init step (and not a sidecar): init or init-<name>. */
export const isInitStepContainer = (name: string): boolean => name === INIT_CONTAINER || name.startsWith(`${INIT_CONTAINER}-`);

/** The init steps in the order they run: spec.init alone, or each of spec.initSteps. */
export function initStepsOf(spec: Pick<Spec, 'init' | 'initSteps'>): InitStepOf[] {
  if (spec.init) return [{ container: INIT_CONTAINER, path: 'spec.init', step: spec.init }];
  return (spec.initSteps ?? []).map((step, i) => ({ container: initStepContainer(step.name), path: `spec.initSteps[${i}]`, step }));
}
