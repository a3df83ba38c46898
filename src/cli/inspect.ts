import { Command, InvalidArgumentError, Option } from 'commander';
import { initStepsOf } from '../api/steps.js';
import { verdictSummary, verdictTable, type InspectionResult } from '../image/format.js';
import type { Platform } from '../image/types.js';
import { formatProblem, type CheckedDocument } from './check.js';
import type { Io } from './main.js';
import { parsePlatform } from './run-options.js';

// `distroless-operator inspect IMAGE...`, `validate --inspect`, and the plugin's
// `inspect APP` share these: the options that reach a registry, the reading, and
// the table.

export interface RegistryFlags {
  platform: string;
  timeout: number;
  insecureRegistry: string[];
}

/** One image's verdict, or why it could not be read. */
export type Inspected = InspectionResult;

export function withRegistryFlags(command: Command): Command {
  return command
    .addOption(new Option('--platform <os/arch[/variant]>', 'the platform picked from a multi-platform image').default('linux/amd64').argParser(parsePlatform))
    .addOption(new Option('--timeout <seconds>', 'time limit of one registry request').default(30_000, '30').argParser(secondsArg))
    .addOption(new Option('--insecure-registry <host>', 'a registry reached over plain HTTP (localhost is); repeatable').default([]).argParser((v: string, all: string[]) => [...all, v]));
}

/** `linux/arm64/v8` as a Platform. */
export function platformOf(text: string): Platform {
  const [os = 'linux', architecture = 'amd64', variant] = text.split('/');
  return { os, architecture, ...(variant ? { variant } : {}) };
}

function secondsArg(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${JSON.stringify(text)} is not a number of seconds`);
  return n * 1000;
}

/** Reads and judges each image, a few at a time; the reader loads only when an image is inspected. */
export async function inspectImages(images: string[], flags: RegistryFlags): Promise<Inspected[]> {
  const [{ RegistryReader, plainHttpFor }, { CONTENT_POLICY, judge }] = await Promise.all([import('../image/registry.js'), import('../image/verdict.js')]);
  const reader = new RegistryReader({ platform: platformOf(flags.platform), timeoutMs: flags.timeout, plainHttp: plainHttpFor(flags.insecureRegistry) });
  const inspectOne = async (image: string): Promise<Inspected> => {
    try {
      return { image, verdict: judge(await reader.read(await reader.resolve(image), CONTENT_POLICY)) };
    } catch (err) {
      // An ImageError's message starts with the image; the result names it already.
      const message = err instanceof Error ? err.message : String(err);
      return { image, error: message.startsWith(`${image}: `) ? message.slice(image.length + 2) : message };
    }
  };
  const results: Inspected[] = [];
  for (let i = 0; i < images.length; i += 4) results.push(...(await Promise.all(images.slice(i, i + 4).map(inspectOne))));
  return results;
}

/** What was found, in one line (see image/format.ts). */
export const summary = verdictSummary;

/** The verdicts as a table: IMAGE DIGEST DISTROLESS SHELLS PACKAGE MANAGERS METADATA SCANNERS USER. */
export const inspectTable = verdictTable;

/** Exit 1 when an image could not be read or, when distroless is required, is not distroless. */
export function inspectFailed(results: Inspected[], requireDistroless: boolean): boolean {
  return results.some((r) => 'error' in r || (requireDistroless && !r.verdict.distroless));
}

/**
 * validate --inspect: reads each app's images, once each. A main image that is not
 * distroless, or could not be read, is a problem at spec.app.image; each init step's
 * image is reported, never judged (it is meant to be a full distro). True when no problem.
 */
export async function appImagesAreDistroless(checked: CheckedDocument[], flags: RegistryFlags, io: Io): Promise<boolean> {
  const apps = checked.flatMap((c) => (c.app ? [{ doc: c.doc, app: c.app }] : []));
  const images = [...new Set(apps.flatMap(({ app }) => [app.spec.app.image, ...initStepsOf(app.spec).map((s) => s.step.image)]))];
  const found = new Map((await inspectImages(images, flags)).map((r) => [r.image, r]));
  let ok = true;
  for (const { doc, app } of apps) {
    const problem = mainImageProblem(found.get(app.spec.app.image)!);
    if (problem) io.err(`${formatProblem(doc, { path: 'spec.app.image', message: problem })}\n`);
    for (const { path, step } of initStepsOf(app.spec)) io.err(`${formatProblem(doc, { path: `${path}.image`, message: initImageReport(found.get(step.image)!) }, 'info')}\n`);
    ok &&= !problem;
  }
  return ok;
}

function mainImageProblem(main: Inspected): string {
  if ('error' in main) return `could not inspect ${main.image}: ${main.error}`;
  return main.verdict.distroless ? '' : `${main.image} is not distroless: ${verdictSummary(main.verdict)}`;
}

const initImageReport = (init: Inspected): string => ('error' in init ? `could not inspect: ${init.error}` : `${init.image} (reported, not judged): ${verdictSummary(init.verdict)}`);
