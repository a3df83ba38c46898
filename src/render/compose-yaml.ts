import { Document, isMap, isScalar, isSeq, type Pair, type YAMLMap } from 'yaml';
import type { RenderedCompose } from './compose.js';

// The Compose file as YAML, with its notes as comments above the service or volume
// they are about. Written as YAML 1.1, so a string a YAML 1.1 reader would take for a
// boolean or a number ("on", "0700", "22:22") is quoted: it reads the same in every
// Compose implementation.

const WIDTH = 100;

/** Words joined into lines of at most `width` characters (a longer word gets a line of its own). */
export function wrap(text: string, width = WIDTH): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 1 + word.length <= width) lines[lines.length - 1] = `${last} ${word}`;
    else lines.push(word);
  }
  return lines;
}

const comment = (lines: string[]): string => lines.flatMap((l) => wrap(l)).map((l) => ` ${l}`).join('\n');

function pairOf(map: unknown, key: string): Pair | undefined {
  return isMap(map) ? (map as YAMLMap).items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
}

/** Ports and users double-quoted, as Compose's own documentation writes them ("8080:8080", "70:70"). */
function quoteColonStrings(services: unknown): void {
  if (!isMap(services)) return;
  for (const { value: service } of (services as YAMLMap).items) {
    const user = pairOf(service, 'user')?.value;
    if (isScalar(user)) user.type = 'QUOTE_DOUBLE';
    const list = pairOf(service, 'ports')?.value;
    const items = isSeq(list) ? list.items : [];
    for (const item of items.filter(isScalar)) item.type = 'QUOTE_DOUBLE';
  }
}

/** The file as YAML: `header` lines first, each note above what it is about. */
export function composeYaml(rendered: RenderedCompose, header: string[]): string {
  const doc = new Document(rendered.file, { version: '1.1' });
  for (const note of rendered.notes) {
    const [section, name] = note.path;
    const pair = pairOf(doc.get(section, true), name);
    if (pair && isScalar(pair.key)) pair.key.commentBefore = comment(note.lines);
  }
  quoteColonStrings(doc.get('services', true));
  doc.commentBefore = comment(header);
  return doc.toString({ lineWidth: 0 });
}
