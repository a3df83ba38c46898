import type { V1Pod } from '@kubernetes/client-node';
import { choosePod, debugPlan, printablePlan } from '../../src/cli/debug-plan.js';
import { describeContainer, formatAppStatus, lastInitFailure } from '../../src/cli/status-view.js';

const pod = (name: string, phase: string, extra: Partial<V1Pod> = {}): V1Pod => ({
  metadata: { name, namespace: 'shop' },
  spec: { containers: [{ name: 'app', image: 'x', securityContext: { runAsUser: 70, runAsGroup: 71 } }] },
  status: { phase },
  ...extra,
});

const initFailed = (name: string, exitCode: number, finishedAt: string): V1Pod =>
  pod(name, 'Pending', {
    status: {
      phase: 'Pending',
      initContainerStatuses: [
        {
          name: 'init',
          image: 'alpine',
          imageID: '',
          ready: false,
          restartCount: 2,
          state: { waiting: { reason: 'CrashLoopBackOff' } },
          lastState: { terminated: { exitCode, reason: 'Error', finishedAt: new Date(finishedAt) } },
        },
      ],
    },
  });

describe('describeContainer', () => {
  it('says each state in a few words', () => {
    expect(describeContainer(undefined)).toBe('-');
    expect(describeContainer({ name: 'app', image: '', imageID: '', ready: true, restartCount: 0, state: { running: {} } })).toBe('Running, ready');
    expect(describeContainer({ name: 'init', image: '', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } })).toBe('Completed (exit 0)');
    expect(describeContainer({ name: 'init', image: '', imageID: '', ready: false, restartCount: 3, state: { waiting: { reason: 'CrashLoopBackOff' } } })).toBe('CrashLoopBackOff (restarts 3)');
  });
});

describe('lastInitFailure', () => {
  it('is the most recent non-zero init exit across the Pods', () => {
    const failure = lastInitFailure([initFailed('a-0', 3, '2030-01-01T00:00:00Z'), initFailed('a-1', 7, '2030-01-01T00:05:00Z'), pod('a-2', 'Running')]);
    expect(failure).toEqual({ pod: 'a-1', container: 'init', exitCode: 7, reason: 'Error', finishedAt: '2030-01-01T00:05:00.000Z', restarts: 2 });
  });

  it('is nothing when every init container succeeded', () => {
    expect(lastInitFailure([pod('a-0', 'Running')])).toBeUndefined();
  });
});

describe('formatAppStatus with init steps and sidecars', () => {
  const status = (name: string, state: object, restartCount = 0) => ({ name, image: 'x', imageID: '', ready: false, restartCount, state });
  const stepped = pod('a-0', 'Pending', {
    status: {
      phase: 'Pending',
      initContainerStatuses: [
        status('init-migrate', { terminated: { exitCode: 0, reason: 'Completed' } }),
        status('init-template', { waiting: { reason: 'CrashLoopBackOff' } }, 3),
        status('proxy', { waiting: { reason: 'PodInitializing' } }),
      ],
    },
  });
  stepped.status!.initContainerStatuses![1]!.lastState = { terminated: { exitCode: 4, reason: 'Error' } };

  it('names the step that has not completed, shows each sidecar, and names the failing step', () => {
    const text = formatAppStatus({ metadata: { name: 'a', namespace: 'shop', generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1 } }, [stepped]);
    expect(text).toMatch(/INIT\s+APP\s+SIDECARS/);
    expect(text).toContain('init-template: CrashLoopBackOff (restarts 3)');
    expect(text).toContain('proxy: PodInitializing');
    expect(text).toContain('Last init failure: pod a-0: init-template exited with code 4 (Error)');
  });
});

describe('formatAppStatus', () => {
  it('says when the operator has not caught up with the spec, and when there are no Pods', () => {
    const text = formatAppStatus({ metadata: { name: 'a', namespace: 'shop', generation: 3 }, spec: { replicas: 2 }, status: { observedGeneration: 2 } }, []);
    expect(text).toContain('generation 2 of 3 (the operator has not caught up)');
    expect(text).toContain('No Pods.');
    expect(text).toContain('Replicas:  0/2 ready');
  });
});

describe('debug plan', () => {
  it('picks a running Pod, ready ones first, by name', () => {
    const ready = pod('a-1', 'Running', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } });
    expect(choosePod([pod('a-0', 'Running'), ready, pod('a-2', 'Pending')])?.metadata?.name).toBe('a-1');
    expect(choosePod([pod('a-2', 'Pending')])).toBeUndefined();
  });

  it("runs the debug container as the main container's UID and GID, restricted, targeting app", () => {
    const plan = debugPlan(pod('a-0', 'Running'), { image: 'busybox:1.37', attach: false });
    expect(plan.custom).toEqual({ securityContext: { runAsUser: 70, runAsGroup: 71, runAsNonRoot: true } });
    expect(plan.args('/tmp/c.json')).toEqual(['debug', '-n', 'shop', 'pod/a-0', '--profile=restricted', '--target=app', '--image=busybox:1.37', '--custom=/tmp/c.json']);
    expect(debugPlan(pod('a-0', 'Running'), { image: 'busybox:1.37', attach: false, command: ['ls', '-la', '/shared'] }).args('/c')).toEqual(
      ['debug', '-n', 'shop', 'pod/a-0', '--profile=restricted', '--target=app', '--image=busybox:1.37', '--custom=/c', '--', 'ls', '-la', '/shared'],
    );
    expect(printablePlan(debugPlan(pod('a-0', 'Running'), { image: 'busybox:1.37', attach: true }))).toBe(
      `kubectl debug -n shop pod/a-0 --profile=restricted --target=app --image=busybox:1.37 --custom=<(echo '{"securityContext":{"runAsUser":70,"runAsGroup":71,"runAsNonRoot":true}}') -it`,
    );
  });
});
