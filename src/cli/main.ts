import { Command, CommanderError, Option } from 'commander';
import * as yaml from 'js-yaml';
import { crdYaml } from '../api/crd.js';
import type { DistrolessApp } from '../api/schema.js';
import { renderCompose } from '../render/compose.js';
import { composeYaml } from '../render/compose-yaml.js';
import { render } from '../render/pod.js';
import { renderDisruptionBudget, renderService } from '../render/workload.js';
import { readDocuments } from './documents.js';
import { checkDocuments, formatProblem, type CheckedDocument } from './check.js';
import { appImagesAreDistroless, inspectFailed, inspectImages, inspectTable, withRegistryFlags, type RegistryFlags } from './inspect.js';
import { runCommand, type RunOptions } from './run-options.js';
import { version } from './version.js';


/** Exit codes: 0 fine, 1 the input has problems, 2 the command line is wrong. */
export const EXIT_INVALID = 1;
export const EXIT_USAGE = 2;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  stdin?: () => Promise<string>;
}

export const processIo: Io = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** The root command of a program, with the output, exit and error conventions every command shares. */
export function baseProgram(name: string, description: string, io: Io): Command {
  return new Command(name)
    .description(description)
    .version(version, '-v, --version')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
}

/** Adds a command made apart, with the parent's output and exit settings (addCommand alone does not copy them). */
export function adopt(program: Command, command: Command): void {
  program.addCommand(command.copyInheritedSettings(program));
}

/** Everything the operator would make for the app, Pods first. */
function renderAll(app: DistrolessApp): object[] {
  return [...render(app).pods, renderDisruptionBudget(app), renderService(app)].filter((o) => o !== undefined);
}

function composeHeader(names: string[]): string[] {
  return [
    `Rendered by distroless-operator compose from DistrolessApp${names.length === 1 ? '' : 's'} ${names.join(', ')}.`,
    'Run it with: docker compose up',
    'Comments say what Kubernetes would do that Compose cannot, and which files to supply.',
  ];
}

/** `render`, `compose` and `validate`: offline, shared by distroless-operator and kubectl-distroless. */
export function offlineCommands(io: Io, setExit: (code: number) => void): Command[] {
  const report = (checked: CheckedDocument[]): boolean => {
    let failed = false;
    for (const c of checked) {
      for (const w of c.warnings) io.err(`${formatProblem(c.doc, w, 'warning')}\n`);
      for (const p of c.problems) io.err(`${formatProblem(c.doc, p)}\n`);
      failed ||= c.problems.length > 0;
    }
    return failed;
  };

  const renderCommand = new Command('render')
    .description("Render what DistrolessApps make (their Pods, PodDisruptionBudget and Service) as plain manifests, for GitOps repositories that want them.")
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
      const objects = checked.flatMap((c) => (c.app ? renderAll(c.app) : []));
      io.out(
        opts.output === 'json'
          ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`
          : objects.map((p) => yaml.dump(p, { lineWidth: -1, noRefs: true })).join('---\n'),
      );
    });

  const composeCommand = new Command('compose')
    .description('Print a Docker Compose file that runs the DistrolessApps without a cluster: the init steps in order, then the sidecars and the distroless container, over a named volume.')
    .requiredOption('-f, --filename <path...>', 'files or directories of DistrolessApps; - reads stdin')
    .action(async (opts: { filename: string[] }) => {
      const checked = checkDocuments(await readDocuments(opts.filename, io.stdin));
      // As render: nothing is printed unless every document is valid.
      if (report(checked)) return setExit(EXIT_INVALID);
      const apps = checked.flatMap((c) => (c.app ? [c.app] : []));
      if (apps.length === 0) {
        io.err('no DistrolessApp found in the input\n');
        return setExit(EXIT_INVALID);
      }
      const rendered = renderCompose(apps);
      if (rendered.problems.length > 0) {
        for (const p of rendered.problems) io.err(`compose: ${p}\n`);
        return setExit(EXIT_INVALID);
      }
      io.out(composeYaml(rendered, composeHeader(apps.map((a) => a.metadata.name))));
    });

  const validateCommand = withRegistryFlags(
    new Command('validate')
      .description('Check DistrolessApps: every problem as FILE: document N: FIELD: message; exit 1 when any.')
      .requiredOption('-f, --filename <path...>', 'files or directories of DistrolessApps; - reads stdin')
      .option('--inspect', "also read each app's images from their registries: a main image with a shell, BusyBox or package manager is a problem; the init image is reported"),
  ).action(async (opts: { filename: string[]; inspect?: boolean } & RegistryFlags) => {
    const checked = checkDocuments(await readDocuments(opts.filename, io.stdin));
    if (report(checked)) return setExit(EXIT_INVALID);
    const apps = checked.filter((c) => c.app).length;
    // An empty file or directory is more often a wrong path than an intent: a CI step that validates nothing must not pass.
    if (apps === 0) {
      io.err(`no DistrolessApp found in ${opts.filename.join(', ')}\n`);
      return setExit(EXIT_INVALID);
    }
    if (opts.inspect && !(await appImagesAreDistroless(checked, opts, io))) return setExit(EXIT_INVALID);
    const skipped = checked.length - apps;
    io.out(`${apps} DistrolessApp${apps === 1 ? '' : 's'} valid${skipped ? `, ${skipped} other document${skipped === 1 ? '' : 's'} skipped` : ''}\n`);
  });

  return [renderCommand, composeCommand, validateCommand];
}

export function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = baseProgram('distroless-operator', 'Run DistrolessApps: a full-distro init container and a distroless main container sharing an emptyDir.', io);
  for (const command of offlineCommands(io, setExit)) adopt(program, command);

  // The runtime loads only for `run`, so render and validate start fast.
  adopt(program, runCommand().action(async (opts: RunOptions) => setExit(await (await import('./run.js')).run(opts))));

  adopt(
    program,
    withRegistryFlags(
      new Command('inspect')
        .description('Read images from their registries and say whether each is distroless: shells, BusyBox, package managers, package metadata, what scanners can see, the user.')
        .argument('<image...>', 'image references, such as gcr.io/distroless/static-debian12:nonroot')
        .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json']).default('table'))
        .option('--require-distroless', 'exit 1 when an image has a shell, BusyBox or an OS package manager'),
    ).action(async (images: string[], opts: { output: 'table' | 'json'; requireDistroless?: boolean } & RegistryFlags) => {
      const results = await inspectImages(images, opts);
      io.out(opts.output === 'json' ? `${JSON.stringify(results, null, 2)}\n` : inspectTable(results));
      for (const r of results) if ('error' in r) io.err(`${r.image}: could not inspect: ${r.error}\n`);
      if (inspectFailed(results, opts.requireDistroless ?? false)) setExit(EXIT_INVALID);
    }),
  );

  program
    .command('crd')
    .description('Print the DistrolessApp CustomResourceDefinition.')
    .action(() => io.out(crdYaml()));

  return program;
}

/** Parses and runs a program built by `build`; resolves to the exit code and never throws. */
export async function runProgram(build: (io: Io, setExit: (code: number) => void) => Command, argv: string[], io: Io): Promise<number> {
  let code = 0;
  const program = build(io, (c) => (code = c));
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

/** Runs the CLI and resolves to its exit code; never throws. */
export function main(argv: string[], io: Io = processIo): Promise<number> {
  return runProgram(buildProgram, argv, io);
}
