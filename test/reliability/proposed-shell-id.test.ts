/**
 * The client proposes the ShellId in its Create body (MS-WSMV 2.2.4.37 `rsp:Shell/@ShellId`) so
 * that it can always Delete a shell the server may have made (hostile-shells.test.ts). Windows uses
 * the proposed id — every Create in the real recordings is answered with it — and so must the lab.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WSManConnection } from '../../src/client/wsman-connection.js';
import { RunspacePool } from '../../src/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { loadRecording, recordingNames } from '../helpers/recordings.js';

describe('a client-proposed ShellId', () => {
  it('Windows answers every Create that proposes a ShellId with that ShellId (real recordings)', () => {
    let creates = 0;
    for (const name of recordingNames()) {
      for (const m of loadRecording(name).messages) {
        const proposed = /<rsp:Shell\b[^>]*\bShellId="([^"]+)"/.exec(m.request)?.[1];
        if (proposed === undefined || m.response === null || !/\/transfer\/Create</.test(m.request)) continue;
        const answered = /<w:Selector Name="ShellId">([^<]+)</.exec(m.response)?.[1];
        expect(answered?.toUpperCase(), name).toBe(proposed.toUpperCase());
        creates++;
      }
    }
    expect(creates).toBeGreaterThan(20);
  });

  describe('the lab', () => {
    let lab: Lab;
    beforeAll(async () => {
      requirePwsh();
      lab = await startLab();
    }, 60_000);
    afterAll(async () => {
      await lab?.close();
    });

    it('creates the shell under the ShellId the client proposed, as Windows does', async () => {
      const pool = await RunspacePool.open({
        uri: lab.url,
        auth: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      });
      try {
        expect(pool.connection).toBeInstanceOf(WSManConnection);
        expect((pool.connection as WSManConnection).shell).toBe(pool.id.toUpperCase());
        expect(lab.liveShells()).toBe(1);
      } finally {
        await pool.close();
      }
      expect(lab.liveShells()).toBe(0);
    }, 60_000);
  });
});
