import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { LineSplitter, openWatch, parseEvent, type WatchEvent } from '../../../src/kube/watch.js';

// The watch stream: newline-delimited JSON events cut anywhere by the network,
// and the handler contract the informer relies on (onDone once: null at the end,
// TimeoutError when silent, AbortError when aborted, the refusal otherwise).

const bytes = (s: string) => new TextEncoder().encode(s);
const line = (type: string, name: string) => `${JSON.stringify({ type, object: { metadata: { name, resourceVersion: '1' } } })}\n`;

describe('LineSplitter', () => {
  it('joins an event split across chunks', () => {
    const split = new LineSplitter();
    const event = line('ADDED', 'a');
    expect(split.push(bytes(event.slice(0, 10)))).toEqual([]);
    expect(split.push(bytes(event.slice(10, 30)))).toEqual([]);
    expect(split.push(bytes(event.slice(30)))).toEqual([event.trimEnd()]);
  });

  it('gives several events that arrive in one chunk, keeping the partial one that follows', () => {
    const split = new LineSplitter();
    const third = line('DELETED', 'c');
    expect(split.push(bytes(line('ADDED', 'a') + line('MODIFIED', 'b') + third.slice(0, 5)))).toEqual([line('ADDED', 'a').trimEnd(), line('MODIFIED', 'b').trimEnd()]);
    expect(split.push(bytes(third.slice(5)))).toEqual([third.trimEnd()]);
  });

  it('keeps a character whose bytes two chunks share', () => {
    const split = new LineSplitter();
    const text = bytes('{"type":"ADDED","object":{"metadata":{"name":"café"}}}\n');
    const cut = text.indexOf(0xc3) + 1;
    expect(split.push(text.slice(0, cut))).toEqual([]);
    expect(JSON.parse(split.push(text.slice(cut))[0]!)).toMatchObject({ object: { metadata: { name: 'café' } } });
  });

  it('gives the trailing line at the end of the stream, and skips blank lines', () => {
    const split = new LineSplitter();
    expect(split.push(bytes(`\n\r\n${line('ADDED', 'a')}{"type":"BOOKMARK"`))).toEqual([line('ADDED', 'a').trimEnd()]);
    expect(split.end()).toEqual(['{"type":"BOOKMARK"']);
    expect(split.end()).toEqual([]);
  });
});

describe('parseEvent', () => {
  it('reads an ERROR event whose object is a Status', () => {
    const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 1 (5)', reason: 'Expired', code: 410 };
    expect(parseEvent(JSON.stringify({ type: 'ERROR', object: status }))).toEqual({ type: 'ERROR', object: status });
  });

  it.each([
    ['{"type":"ADDED","obj', 'watch: not a JSON event'],
    ['{"type":"ADDED"}', 'watch: not an event (type and object)'],
    ['[1]', 'watch: not an event'],
  ])('refuses %s', (text, message) => expect(() => parseEvent(text)).toThrow(message));
});

describe('openWatch', () => {
  let server: Server;
  let handle: (req: IncomingMessage, res: ServerResponse) => void;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Writes each piece after a pause, so they arrive as separate chunks; ends the response unless told to hang. */
  const stream =
    (pieces: string[], end = true) =>
    async (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      for (const piece of pieces) {
        await new Promise((r) => setTimeout(r, 15));
        res.write(piece);
      }
      if (end) res.end();
    };

  function watch(inactivityMs = 2_000) {
    const events: WatchEvent[] = [];
    const seen: { url?: string; headers?: IncomingMessage['headers'] } = {};
    const wrapped = handle;
    handle = (req, res) => {
      seen.url = req.url;
      seen.headers = req.headers;
      wrapped(req, res);
    };
    let resolveDone: (err: unknown) => void = () => {};
    const done = new Promise<unknown>((resolve) => (resolveDone = resolve));
    let doneCalls = 0;
    const controller = openWatch({
      url: new URL(`${base}/api/v1/pods?watch=true`),
      headers: { Authorization: 'Bearer t' },
      dispatcher: new Agent(),
      inactivityMs,
      onEvent: (e) => events.push(e),
      onDone: (err) => {
        doneCalls++;
        resolveDone(err);
      },
      refused: (status, body) => Object.assign(new Error(`refused ${status}: ${body}`), { status }),
    });
    return { events, done, controller, seen, doneCalls: () => doneCalls };
  }

  it('delivers events cut across chunks and several in one chunk, then ends with null', async () => {
    const all = line('ADDED', 'a') + line('MODIFIED', 'a') + line('BOOKMARK', 'b') + line('DELETED', 'a');
    handle = stream([all.slice(0, 7), all.slice(7, 90), all.slice(90, 200), all.slice(200)]);
    const w = watch();
    expect(await w.done).toBeNull();
    expect(w.events.map((e) => `${e.type} ${String((e.object.metadata as { name: string }).name)}`)).toEqual(['ADDED a', 'MODIFIED a', 'BOOKMARK b', 'DELETED a']);
    expect(w.seen.headers?.authorization).toBe('Bearer t');
    expect(w.doneCalls()).toBe(1);
  });

  it('delivers an ERROR event with its Status, and nothing after the handler aborts', async () => {
    const status = { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410 };
    handle = stream([JSON.stringify({ type: 'ERROR', object: status }) + '\n' + line('ADDED', 'late')], false);
    const events: WatchEvent[] = [];
    let controller: AbortController | undefined;
    const done = new Promise<unknown>((resolve) => {
      void openWatch({
        url: new URL(`${base}/api/v1/pods?watch=true`),
        headers: {},
        dispatcher: new Agent(),
        inactivityMs: 2_000,
        onEvent: (e) => {
          events.push(e);
          controller!.abort();
        },
        onDone: resolve,
        refused: () => new Error('refused'),
      }).then((c) => (controller = c));
    });
    expect(((await done) as Error).name).toBe('AbortError');
    expect(events).toEqual([{ type: 'ERROR', object: status }]);
  });

  it('gives a last event that ends without a newline, and fails on half an event', async () => {
    handle = stream([line('ADDED', 'a') + line('ADDED', 'b').trimEnd()]);
    const whole = watch();
    expect(await whole.done).toBeNull();
    expect(whole.events).toHaveLength(2);

    handle = stream([line('ADDED', 'a') + line('ADDED', 'b').slice(0, 20)]);
    const cut = watch();
    expect(String(await cut.done)).toMatch(/watch: not a JSON event/);
    expect(cut.events).toHaveLength(1);
  });

  it('ends with a TimeoutError when the stream falls silent, and when the server never answers', async () => {
    handle = stream([line('ADDED', 'a')], false);
    const silent = watch(300);
    expect(((await silent.done) as Error).name).toBe('TimeoutError');
    expect(silent.events).toHaveLength(1);

    handle = () => {};
    const mute = watch(300);
    expect(((await mute.done) as Error).name).toBe('TimeoutError');
  });

  it('stays open while events keep coming, however long the whole stream lasts', async () => {
    handle = stream(Array.from({ length: 8 }, (_, i) => line('BOOKMARK', `b${i}`)).map((l) => l), true);
    const w = watch(100);
    expect(await w.done).toBeNull();
    expect(w.events).toHaveLength(8);
  });

  it("makes the caller's error of a refusal, from its status and body", async () => {
    handle = (_req, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end('{"kind":"Status","reason":"Expired","code":410}');
    };
    const w = watch();
    expect(await w.done).toMatchObject({ status: 410, message: 'refused 410: {"kind":"Status","reason":"Expired","code":410}' });
  });

  it('ends with an AbortError when the caller aborts', async () => {
    handle = stream([line('ADDED', 'a')], false);
    const w = watch();
    (await w.controller).abort();
    expect(((await w.done) as Error).name).toBe('AbortError');
    expect(w.doneCalls()).toBe(1);
  });

  it('passes a connection failure on', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const err = await new Promise<unknown>((resolve) => {
      void openWatch({ url: new URL(`http://127.0.0.1:${port}/`), headers: {}, dispatcher: new Agent(), inactivityMs: 2_000, onEvent: () => {}, onDone: resolve, refused: () => undefined });
    });
    expect((err as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
  });
});
