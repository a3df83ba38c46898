import type { V1Pod } from '@kubernetes/client-node';
import { DEFAULT_UID } from '../api/schema.js';
import { isReady, isTerminating, nameOf } from '../controller/pods.js';
import { APP_CONTAINER } from '../render/pod.js';

// What `kubectl distroless debug NAME` runs: a `kubectl debug` that works on a
// distroless, non-root Pod. --profile=restricted keeps the ephemeral container
// within the restricted Pod Security profile but sets no UID, so a debug image that
// runs as root would be refused; a --custom partial spec makes it run as the main
// container's UID and GID, which also lets it read what that container can.
// --target=app shares the main container's process namespace.

export const DEFAULT_DEBUG_IMAGE = 'busybox:1.37';

export interface DebugPlan {
  pod: string;
  namespace: string;
  /** The partial container spec for --custom. */
  custom: { securityContext: { runAsUser: number; runAsGroup: number; runAsNonRoot: true } };
  /** kubectl's arguments, given where the --custom file is. */
  args: (customPath: string) => string[];
}

/** The Pod to debug: a running one, ready ones first, then by name, so the choice is stable. */
export function choosePod(pods: V1Pod[]): V1Pod | undefined {
  const running = pods.filter((p) => p.status?.phase === 'Running' && !isTerminating(p));
  return running.sort((a, b) => Number(isReady(b)) - Number(isReady(a)) || nameOf(a).localeCompare(nameOf(b)))[0];
}

/** The UID and GID the main container runs as: its own, else the Pod's, else the distroless default. */
function identityOf(pod: V1Pod): { runAsUser: number; runAsGroup: number } {
  const own = pod.spec?.containers.find((c) => c.name === APP_CONTAINER)?.securityContext ?? {};
  const podLevel = pod.spec?.securityContext ?? {};
  const runAsUser = own.runAsUser ?? podLevel.runAsUser ?? DEFAULT_UID;
  return { runAsUser, runAsGroup: own.runAsGroup ?? podLevel.runAsGroup ?? runAsUser };
}

export function debugPlan(pod: V1Pod, options: { image: string; attach: boolean; command?: string[] }): DebugPlan {
  const name = pod.metadata?.name ?? '';
  const namespace = pod.metadata?.namespace ?? 'default';
  return {
    pod: name,
    namespace,
    custom: { securityContext: { ...identityOf(pod), runAsNonRoot: true } },
    args: (customPath) => [
      'debug',
      '-n',
      namespace,
      `pod/${name}`,
      '--profile=restricted',
      `--target=${APP_CONTAINER}`,
      `--image=${options.image}`,
      `--custom=${customPath}`,
      ...(options.attach ? ['-it'] : []),
      // What the debug container runs instead of its image's default, as kubectl debug takes it.
      ...(options.command?.length ? ['--', ...options.command] : []),
    ],
  };
}

/** The plan as one line for a POSIX shell, the --custom spec inline through process substitution (bash, zsh). */
export function printablePlan(plan: DebugPlan): string {
  const custom = `<(echo '${JSON.stringify(plan.custom)}')`;
  return ['kubectl', ...plan.args('CUSTOM')].map((a) => (a === '--custom=CUSTOM' ? `--custom=${custom}` : a)).join(' ');
}
