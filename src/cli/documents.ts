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

/**
 * Splits multi-document YAML and parses each document on its own, so one broken
 * document is reported with its number and line while the others are still read.
 * Documents holding nothing but comments (a stray `---`) are neither kept nor counted.
 */
export function parseDocuments(source: string, text: string): Document[] {
  const docs: Document[] = [];
  splitDocuments(text).forEach(({ body, firstLine }, i) => {
    const index = i + 1;
    try {
      const content = yaml.load(body);
      if (content !== null && content !== undefined) docs.push({ source, index, content });
    } catch (err) {
      const reason = err instanceof yaml.YAMLException ? err.reason : String(err);
      const mark = err instanceof yaml.YAMLException && err.mark ? ` (line ${firstLine + err.mark.line}, column ${err.mark.column + 1})` : '';
      docs.push({ source, index, error: `invalid YAML: ${reason}${mark}` });
    }
  });
  return docs;
}

const SEPARATOR_RE = /^---(\s|$)/;

function splitDocuments(text: string): { body: string; firstLine: number }[] {
  const parts: { body: string; firstLine: number }[] = [];
  let lines: string[] = [];
  let firstLine = 1;
  text.split('\n').forEach((line, i) => {
    if (SEPARATOR_RE.test(line)) {
      if (lines.some((l) => l.trim() && !l.trimStart().startsWith('#'))) parts.push({ body: lines.join('\n'), firstLine });
      // Content after the marker on the same line (`--- {a: 1}`) belongs to the next document.
      lines = [line.slice(3)];
      firstLine = i + 1;
    } else {
      lines.push(line);
    }
  });
  if (lines.some((l) => l.trim() && !l.trimStart().startsWith('#'))) parts.push({ body: lines.join('\n'), firstLine });
  return parts;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
