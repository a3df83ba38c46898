import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, type Tags, type YAMLError } from 'yaml';

/** One YAML document of an input, numbered from 1 as people count them. */
export interface Document {
  source: string;
  index: number;
  content?: unknown;
  /** Why the document could not be read, when it could not. */
  error?: string;
}

const MANIFEST_RE = /\.(ya?ml|json)$/i;

/** Reads files, directories (their .yaml, .yml and .json files, recursively) and `-` for stdin. */
export async function readDocuments(sources: readonly string[], stdin: () => Promise<string> = readStdin): Promise<Document[]> {
  const docs: Document[] = [];
  for (const source of sources) {
    for (const file of await expand(source)) {
      let text: string;
      try {
        text = file === '-' ? await stdin() : await readFile(file, 'utf8');
      } catch (err) {
        docs.push({ source: file, index: 0, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` });
        continue;
      }
      docs.push(...parseDocuments(file === '-' ? '<stdin>' : file, text));
    }
  }
  return docs;
}

async function expand(source: string): Promise<string[]> {
  if (source === '-') return [source];
  const info = await stat(source).catch(() => undefined);
  if (!info?.isDirectory()) return [source];
  const entries = await readdir(source, { withFileTypes: true });
  const nested = await Promise.all(
    entries
      .filter((e) => e.isDirectory() || MANIFEST_RE.test(e.name))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => expand(join(source, e.name))),
  );
  return nested.flat();
}

/**
 * More aliases than this in one document is an alias bomb (a few hundred bytes
 * that expand to gigabytes), not a manifest.
 */
export const MAX_ALIASES = 100;

/**
 * Parses every document of a multi-document YAML text on its own, so one broken
 * document is reported with its number and line while the others are still read.
 * Documents holding nothing (a stray `---`, only comments) are neither kept nor
 * counted. Scalars are read as kubectl reads them (sigs.k8s.io/yaml, go-yaml v2):
 * YAML 1.1, so `on`, `yes` and `y` are booleans and `0700` is octal 448, but a date
 * stays text.
 */
const KUBECTL_YAML_OPTIONS = (lineCounter: LineCounter) =>
  ({
    prettyErrors: false,
    lineCounter,
    version: '1.1',
    customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp'),
  }) as const;

export function parseDocuments(source: string, text: string): Document[] {
  const docs: Document[] = [];
  const lines = new LineCounter();
  for (const doc of parseAllDocuments(text, KUBECTL_YAML_OPTIONS(lines))) {
    const index = docs.length + 1;
    const [error] = doc.errors;
    if (error) {
      docs.push({ source, index, error: `invalid YAML: ${error.message}${position(error, lines)}` });
      continue;
    }
    try {
      const content: unknown = doc.toJS({ maxAliasCount: MAX_ALIASES });
      if (content !== null && content !== undefined) docs.push({ source, index, content });
    } catch (err) {
      docs.push({ source, index, error: `invalid YAML: ${err instanceof Error ? err.message : String(err)}` });
    }
  }
  return docs;
}

function position(error: YAMLError, lines: LineCounter): string {
  const { line, col } = lines.linePos(error.pos[0]);
  return ` (line ${line}, column ${col})`;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
