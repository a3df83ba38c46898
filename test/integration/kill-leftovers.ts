import { killTracked } from '../../dev/children.js';

// After each test file: kill every operator process it started, and refuse to start
// new ones, so a test that timed out (and runs on in the background) cannot leave a
// process behind that keeps jest from exiting.
afterAll(async () => {
  const killed = await killTracked('the test file has finished');
  if (killed > 0) process.stderr.write(`[teardown] killed ${killed} process(es) the test file left running\n`);
});
