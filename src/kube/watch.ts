import { fetch, type Dispatcher } from 'undici';

/**
 * A watch: one streaming GET with watch=true, whose body is newline-delimited
 * JSON, one event per line ({type, object}; an ERROR event's object is a Status).
 * The handlers have client-node's Watch contract, which the informer was written
 * against: events in order, then onDone exactly once, with null when the server
 * ended the stream, a TimeoutError when it fell silent for `inactivityMs` (before
 * the response too), an AbortError when the caller aborted, or the failure.
 */

export interface WatchEvent {
  type: string;
  object: Record<string, unknown>;
}

export interface WatchStream {
  url: URL;
  headers: Record<string, string>;
  /** The stream's own; closed when the watch ends. */
  dispatcher: Dispatcher;
  inactivityMs: number;
  onEvent: (event: WatchEvent) => void;
  onDone: (err: unknown) => void;
  /** The error for a refusal (any status but 200), from the status and the body the server sent. */
  refused: (status: number, body: string) => unknown;
}

/** Splits a byte stream into lines: a line may arrive in pieces, several in one chunk, and a character across two chunks. */
export class LineSplitter {
  private readonly decoder = new TextDecoder();
  private partial = '';

  push(chunk: Uint8Array): string[] {
    const lines = (this.partial + this.decoder.decode(chunk, { stream: true })).split('\n');
    this.partial = lines.pop()!;
    return lines.filter((l) => l.trim());
  }

  /** What followed the last newline, when the stream has ended. */
  end(): string[] {
    const rest = this.partial + this.decoder.decode();
    this.partial = '';
    return rest.trim() ? [rest] : [];
  }
}

export function parseEvent(line: string): WatchEvent {
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    throw new Error(`watch: not a JSON event: ${JSON.stringify(line.slice(0, 200))}`);
  }
  const { type, object } = (event ?? {}) as Partial<WatchEvent>;
  if (typeof type !== 'string' || typeof object !== 'object' || object === null) throw new Error(`watch: not an event (type and object): ${line.slice(0, 200)}`);
  return { type, object };
}

const timeoutError = () => new DOMException('The watch sent nothing for too long', 'TimeoutError');

/** Opens the watch; resolves, once the server answered or the attempt failed, with what aborts it. */
export async function openWatch(stream: WatchStream): Promise<AbortController> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  let done = false;
  const quiet = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(timeoutError());
    }, stream.inactivityMs);
    timer.unref();
  };
  const finish = (err: unknown) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    controller.abort();
    void stream.dispatcher.destroy().catch(() => {});
    stream.onDone(err && timedOut ? timeoutError() : err);
  };
  try {
    quiet();
    const response = await fetch(stream.url, { headers: stream.headers, dispatcher: stream.dispatcher, signal: controller.signal });
    if (response.status !== 200) {
      finish(stream.refused(response.status, await response.text()));
      return controller;
    }
    quiet();
    const body = response.body!;
    // The caller holds the controller before the first event: an ERROR event's handler may abort with it.
    setImmediate(() => void readEvents(body, stream, quiet, controller.signal).then(() => finish(null), finish));
  } catch (err) {
    finish(err);
  }
  return controller;
}

async function readEvents(body: AsyncIterable<Uint8Array>, stream: WatchStream, activity: () => void, signal: AbortSignal): Promise<void> {
  const lines = new LineSplitter();
  const deliver = (line: string) => {
    // Nothing after an abort, not even the rest of the chunk: an ERROR event's handler aborts.
    signal.throwIfAborted();
    stream.onEvent(parseEvent(line));
  };
  for await (const chunk of body) {
    activity();
    lines.push(chunk).forEach(deliver);
  }
  // A last event with no newline after it is still an event; half of one is an error.
  lines.end().forEach(deliver);
}
