// Imported first by each executable, so it runs before any dependency loads.
import { nodeTooOld } from './node-version.js';

const script = (process.argv[1] ?? '').split('/').pop()?.replace(/\.[jt]s$/, '');
const problem = nodeTooOld(process.version, script === 'kubectl-distroless' ? 'kubectl-distroless' : 'distroless-operator');
if (problem) {
  process.stderr.write(problem);
  process.exit(1);
}
