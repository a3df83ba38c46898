import { Informer } from '../../../src/kube/informer.js';
import type { KubeObject } from '../../../src/kube/cache.js';
import { PODS } from '../../../src/kube/resources.js';
import { waitFor } from '../../../dev/wait-for.js';
import { FakeRest, capturingLogger, serverError, type SentRequest } from './fake-rest.js';

// The informer against a scripted API server: it resumes a watch from the last
// resourceVersion it saw, relists when the server has forgotten that version, and
// retries a failed list with backoff.

const pod = (name: string, resourceVersion: string): KubeObject => ({ metadata: { name, namespace: 'shop', resourceVersion, uid: `uid-${name}` } });
const list = (resourceVersion: string, ...items: KubeObject[]) => ({ metadata: { resourceVersion }, items });
const soon = { timeoutMs: 5_000, intervalMs: 5 };

function start(answers: ((r: SentRequest) => unknown)[], transform?: (o: KubeObject) => KubeObject | undefined) {
  const rest = new FakeRest((r) => {
    const next = answers.shift();
    if (!next) throw new Error(`unexpected ${r.method} ${r.target.type.plural}`);
    return next(r);
  });
  const { log, lines } = capturingLogger();
  let lists = 0;
  const informer = new Informer<KubeObject>({ name: 'pods', rest, type: PODS, log, onList: () => lists++, ...(transform ? { transform } : {}) });
  const changes: string[] = [];
  informer.subscribe((type, o) => changes.push(`${type} ${o.metadata?.name}`));
  informer.start();
  return { rest, informer, changes, lines, lists: () => lists };
}

describe('Informer', () => {
  let stop: (() => void) | undefined;
  afterEach(() => stop?.());

  it('keeps only what its transform keeps, and forgets an object the transform stops keeping', async () => {
    type Labelled = KubeObject & { metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } };
    const labelled = (name: string, rv: string, keep: boolean): Labelled => ({
      metadata: { name, namespace: 'shop', resourceVersion: rv, labels: keep ? { keep: 'yes' } : {}, annotations: { big: 'x'.repeat(1000) } },
    });
    const trim = (o: KubeObject): KubeObject | undefined => {
      const { name, namespace, resourceVersion, labels } = (o as Labelled).metadata;
      return labels?.keep ? ({ metadata: { name, namespace, resourceVersion, labels } } as KubeObject) : undefined;
    };
    const { rest, informer, changes } = start([() => list('10', labelled('a', '9', true), labelled('b', '9', false))], trim);
    stop = () => informer.stop();
    await informer.synced;
    expect(informer.list()).toEqual([{ metadata: { name: 'a', namespace: 'shop', resourceVersion: '9', labels: { keep: 'yes' } } }]);
    const watch = await rest.watchOpened(1);
    watch.handlers.onEvent('ADDED', labelled('c', '11', false));
    watch.handlers.onEvent('DELETED', labelled('c', '12', false));
    watch.handlers.onEvent('MODIFIED', labelled('a', '13', false));
    expect(informer.list()).toEqual([]);
    expect(changes).toEqual(['ADDED a', 'DELETED a']);
  });

  it('resumes a closed watch from the last resourceVersion it saw, bookmarks included, without listing again', async () => {
    const { rest, informer, changes, lists } = start([() => list('10', pod('a', '9'))]);
    stop = () => informer.stop();
    await informer.synced;
    const first = await rest.watchOpened(1);
    expect(first.query).toMatchObject({ resourceVersion: '10', allowWatchBookmarks: true });
    first.handlers.onEvent('ADDED', pod('b', '11'));
    first.handlers.onEvent('BOOKMARK', { metadata: { resourceVersion: '15' } });
    first.close();
    const second = await rest.watchOpened(2);
    expect(second.query).toMatchObject({ resourceVersion: '15' });
    expect(lists()).toBe(1);
    expect(changes).toEqual(['ADDED a', 'ADDED b']);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(['a', 'b']);
  });

  it('relists on 410 Gone and tells handlers what changed meanwhile, deletions included', async () => {
    const { rest, informer, changes, lists } = start([
      () => list('10', pod('a', '9'), pod('b', '9')),
      () => list('30', pod('a', '25'), pod('c', '28')),
    ]);
    stop = () => informer.stop();
    await informer.synced;
    const watch = await rest.watchOpened(1);
    watch.handlers.onEvent('ERROR', { code: 410 });
    const after = await rest.watchOpened(2);
    expect(lists()).toBe(2);
    expect(after.query).toMatchObject({ resourceVersion: '30' });
    expect(changes).toEqual(['ADDED a', 'ADDED b', 'MODIFIED a', 'ADDED c', 'DELETED b']);
    expect(informer.get('shop/b')).toBeUndefined();
  });

  it('retries a failed list with backoff, logging the error, and syncs once the server answers', async () => {
    const { informer, lines, lists } = start([
      () => {
        throw serverError(500, 'InternalError', 'etcd is away');
      },
      () => list('5', pod('a', '4')),
    ]);
    stop = () => informer.stop();
    expect(informer.hasSynced).toBe(false);
    await informer.synced;
    expect(lists()).toBe(1);
    const warning = lines.find((l) => l.msg === 'list/watch failed; retrying') as { err: { message: string }; retryInMs: number };
    expect(warning.err.message).toBe('etcd is away');
    expect(warning.retryInMs).toBeGreaterThan(0);
  });

  it('says once, not per retry, that the resource is not served, and carries on when it is again', async () => {
    const notServed = () => {
      throw serverError(404, 'NotFound');
    };
    const { informer, lines } = start([notServed, notServed, () => list('1')]);
    stop = () => informer.stop();
    await waitFor(() => informer.hasSynced, { ...soon, what: 'the third list' });
    expect(lines.filter((l) => String(l.msg).startsWith('the API server does not serve this resource'))).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'the resource is served again')).toBe(true);
  });
});
