// The short quota soak (CI): one pool, 200 commands one after another and 64 across 16 concurrent
// pipelines, against the lab with every WinRM limit on and MaxConcurrentCommandsPerShell lowered to
// 50, so that a client which does not release its commands (Signal terminate) fails at command 51
// with Windows' fault 2150859241. `npm run soak` runs the full 10,000 + 2,000 against the default
// limit of 1,000. Needs the client to send Signal terminate after every completed command.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { quotaSoakProblems, runQuotaSoak } from './quota-soak.js';

let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab({ limits: { maxConcurrentCommandsPerShell: 50 } });
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

describe('quota soak (short)', () => {
  it('264 commands on one pool under MaxConcurrentCommandsPerShell=50: no fault, no leaked shell or operation', async () => {
    const result = await runQuotaSoak({
      lab,
      sequential: 200,
      concurrent: 64,
      parallelism: 16,
      maxFailures: 3,
    });
    expect(quotaSoakProblems(result, 264)).toEqual([]);
    expect(result.ok).toBe(264);
    expect(result.peakCommands).toBeLessThanOrEqual(50);
    expect(lab.stats()).toEqual({ shells: 0, commands: 0, operations: 0, inFlight: 0 });
  }, 600_000);
});
