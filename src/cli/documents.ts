import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as yaml from 'js-yaml';

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

/** Splits multi-document YAML; empty documents (a stray `---`) are skipped but still counted. */
export function parseDocuments(source: string, text: string): Document[] {
  const docs: Document[] = [];
  try {
    yaml.loadAll(text, (content) => {
      const index = docs.length + 1;
      docs.push(content === null || content === undefined ? { source, index } : { source, index, content });
    });
  } catch (err) {
    const reason = err instanceof yaml.YAMLException ? err.reason : String(err);
    const mark = err instanceof yaml.YAMLException && err.mark ? ` (line ${err.mark.line + 1}, column ${err.mark.column + 1})` : '';
    docs.push({ source, index: docs.length + 1, error: `invalid YAML: ${reason}${mark}` });
  }
  return docs.filter((d) => d.content !== undefined || d.error !== undefined);
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
