import { killTracked } from '../../dev/children.js';

// After each test file: stop every operator process it started, and refuse to start
// new ones, so a test that timed out (and runs on in the background) cannot leave a
// process behind that keeps jest from exiting. Jest runs this before the file's own
// afterAll, so a process found here is stopped as a test would stop it (SIGTERM), and
// killed only if it does not exit in time.
afterAll(async () => {
  const { stopped, killed } = await killTracked('the test file has finished');
  if (killed > 0) process.stderr.write(`[teardown] ${killed} of ${stopped} process(es) the test file left running did not stop on SIGTERM and were killed\n`);
});
