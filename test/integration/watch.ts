import { KubeConfig, Watch } from '@kubernetes/client-node';
import { testKubeconfig } from './helpers.js';

export interface Recorded<T> {
  events: { type: string; object: T; at: number }[];
  stop: () => void;
}

/**
 * Records every watch event of a collection, so a test can check what happened
 * between two polls: every intermediate Pod and status the API server saw.
 */
export async function recordWatch<T>(path: string, query: Record<string, string> = {}): Promise<Recorded<T>> {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfig());
  const events: Recorded<T>['events'] = [];
  const watcher = new Watch(kc);
  (watcher as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 10 * 60_000;
  let stopped = false;
  const controller = await watcher.watch(
    path,
    query,
    (type, object) => events.push({ type, object: object as T, at: Date.now() }),
    (err) => {
      if (!stopped && err) events.push({ type: 'CLOSED', object: { error: String(err) } as T, at: Date.now() });
    },
  );
  return {
    events,
    stop: () => {
      stopped = true;
      controller.abort();
    },
  };
}
