import { Command, CommanderError, Option } from 'commander';
import { createRequire } from 'node:module';
import * as yaml from 'js-yaml';
import { crdYaml } from '../api/crd.js';
import { render } from '../render/pod.js';
import { readDocuments } from './documents.js';
import { checkDocuments, formatProblem, type CheckedDocument } from './check.js';
import { runCommand, type RunOptions } from './run-options.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

/** Exit codes: 0 fine, 1 the input has problems, 2 the command line is wrong. */
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stdin?: () => Promise<string>;
}

const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('distroless-operator')
    .description('Run DistrolessApps: a full-distro init container and a distroless main container sharing an emptyDir.')
    .version(version, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  const report = (checked: CheckedDocument[]): boolean => {
    let failed = false;
    for (const c of checked) {
      for (const w of c.warnings) io.err(`${formatProblem(c.doc, w, 'warning')}\n`);
      for (const p of c.problems) io.err(`${formatProblem(c.doc, p)}\n`);
      failed ||= c.problems.length > 0;
    }
    return failed;
  };

  program
    .command('render')
    .description('Render the Pods of DistrolessApps as plain manifests, for GitOps repositories that want them.')
    .requiredOption('-f, --filename <path...>', 'files or directories of DistrolessApps; - reads stdin')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(async (opts: { filename: string[]; output: 'yaml' | 'json' }) => {
      const checked = checkDocuments(await readDocuments(opts.filename, io.stdin));
      // Nothing is printed unless every document is valid: half a render is worse than none.
      if (report(checked)) return setExit(EXIT_INVALID);
      if (!checked.some((c) => c.app)) {
        io.err('no DistrolessApp found in the input\n');
        return setExit(EXIT_INVALID);
      }
      const pods = checked.flatMap((c) => (c.app ? render(c.app).pods : []));
      io.out(
        opts.output === 'json'
          ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }, null, 2)}\n`
          : pods.map((p) => yaml.dump(p, { lineWidth: -1, noRefs: true })).join('---\n'),
      );
    });

  program
    .command('validate')
    .description('Check DistrolessApps: every problem as FILE: document N: FIELD: message; exit 1 when any.')
    .requiredOption('-f, --filename <path...>', 'files or directories of DistrolessApps; - reads stdin')
    .action(async (opts: { filename: string[] }) => {
      const checked = checkDocuments(await readDocuments(opts.filename, io.stdin));
      if (report(checked)) return setExit(EXIT_INVALID);
      const apps = checked.filter((c) => c.app).length;
      const skipped = checked.length - apps;
      io.out(`${apps} DistrolessApp${apps === 1 ? '' : 's'} valid${skipped ? `, ${skipped} other document${skipped === 1 ? '' : 's'} skipped` : ''}\n`);
    });

  // The runtime loads only for `run`, so render and validate start fast.
  program.addCommand(runCommand().action(async (opts: RunOptions) => setExit(await (await import('./run.js')).run(opts))));

  program
    .command('crd')
    .description('Print the DistrolessApp CustomResourceDefinition.')
    .action(() => io.out(crdYaml()));

  return program;
}

/** Runs the CLI and resolves to its exit code; never throws. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_INVALID;
  }
}
