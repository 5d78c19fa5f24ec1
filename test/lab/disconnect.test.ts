/**
 * Disconnect, reconnect and connect end to end against the lab (real pwsh behind WS-Man), shaped
 * like Windows' answers in shared/fixtures/windows-recordings (test_psrp_disconnect_runspaces,
 * test_psrp_disconnected_commands, test_psrp_is_alive_*).
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import {
  OutOfProcConnection,
  RunspacePool,
  WSManFaultError,
  type RunspacePoolOptions,
} from '../../src/index.js';
import { requirePwsh } from '../helpers/pwsh.js';
import { loadRecording } from '../helpers/recordings.js';
import { HttpTransport } from '../../src/http/http-transport.js';
import { child, parseXmlTree, type XmlElement } from '../../src/internal/xml-tree.js';
import { decodeMessage } from '../../src/psrp/message.js';
import { Defragmenter } from '../../src/psrp/fragment.js';

const root = resolve(import.meta.dirname, '../..');
let lab: Lab;
beforeAll(async () => {
  requirePwsh();
  lab = await startLab();
}, 60_000);
afterAll(async () => {
  await lab?.close();
});

const options = (user = 'admin', extra: Partial<RunspacePoolOptions> = {}): RunspacePoolOptions => ({
  uri: lab.url,
  auth: { username: user, password: lab.users[user]! },
  ca: lab.ca,
  ...extra,
});

const until = async (what: () => boolean, ms = 20_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Element names (prefix:local) of a response body, depth first, text left out. */
const shape = (xml: string): string[] => {
  const out: string[] = [];
  const walk = (e: XmlElement, depth: number): void => {
    out.push(`${'  '.repeat(depth)}${e.prefix}:${e.name}`);
    for (const c of e.children) walk(c, depth + 1);
  };
  walk(child(parseXmlTree(xml), 'Body')!, 0);
  return out;
};
const action = (xml: string): string | undefined =>
  parseXmlTree(xml).children[0]?.children.find((c) => c.name === 'Action')?.text;

/** Sends request `index` of a recording to the lab, with the recorded ShellId (and address) replaced by ours. */
const replayed = async (
  name: string,
  index: number,
  shellId: string,
): Promise<{ ours: string; windows: string }> => {
  const m = loadRecording(name).messages[index]!;
  const recorded = /Name="ShellId">([^<]+)</.exec(m.request)?.[1];
  const request = (recorded ? m.request.replaceAll(recorded, shellId) : m.request).replace(
    /<wsa:To>[^<]*<\/wsa:To>/,
    `<wsa:To>${lab.url}</wsa:To>`,
  );
  const transport = new HttpTransport({
    url: lab.url,
    auth: { username: 'admin', password: lab.users['admin']! },
    ca: lab.ca,
  });
  try {
    return { ours: await transport.send(request), windows: m.response! };
  } finally {
    await transport.close();
  }
};

describe('disconnected sessions against the lab', () => {
  it('answers Get, Enumerate, Disconnect and Connect with the elements Windows answers them with', async () => {
    const pool = await RunspacePool.open(options());
    try {
      const id = pool.id.toUpperCase();
      expect(await pool.shellInfo()).toMatchObject({ shellId: id, state: 'Connected', owner: 'admin' });
      const get = await replayed('test_psrp_is_alive_state_disconnected', 3, id);
      expect(shape(get.ours)).toEqual(shape(get.windows));
      expect(action(get.ours)).toBe(action(get.windows));
      const disconnect = await replayed('test_psrp_disconnect_runspaces', 4, id);
      expect(shape(disconnect.ours)).toEqual(shape(disconnect.windows));
      expect(action(disconnect.ours)).toBe(action(disconnect.windows));
      expect((await pool.shellInfo()).state).toBe('Disconnected');
      // No answers to a disconnected shell's operations until it is attached again (MS-WSMV 3.1.4.15).
      const receive = await replayed('test_psrp_disconnect_runspaces', 1, id);
      expect(receive.ours).toMatch(
        /<s:Subcode><s:Value>w:InternalError<\/s:Value><\/s:Subcode>.*is disconnected/,
      );
      // WS-Enumeration without OptimizeEnumeration: a context, then the items with one Pull.
      const m = loadRecording('test_psrp_disconnected_commands').messages[10]!;
      const transport = new HttpTransport({
        url: lab.url,
        auth: { username: 'admin', password: lab.users['admin']! },
        ca: lab.ca,
      });
      try {
        const enumerate = m.request.replace('<wsman:OptimizeEnumeration />', '');
        const context = /<n:EnumerationContext>([^<]+)</.exec(await transport.send(enumerate))?.[1];
        expect(context).toMatch(/^uuid:/);
        const pull = enumerate
          .replace(
            'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate<',
            'http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull<',
          )
          .replace(
            /<wsen:Enumerate>.*<\/wsen:Enumerate>/,
            `<wsen:Pull><wsen:EnumerationContext>${context!}</wsen:EnumerationContext></wsen:Pull>`,
          );
        const pulled = await transport.send(pull);
        expect(action(pulled)).toBe('http://schemas.xmlsoap.org/ws/2004/09/enumeration/PullResponse');
        expect(pulled).toContain(`<rsp:ShellId>${id}</rsp:ShellId>`);
        expect(pulled).toContain('<n:EndOfSequence/>');
      } finally {
        await transport.close();
      }
      // Enumerate of the shells (test_psrp_disconnected_commands holds two; we have one).
      const listed = await replayed('test_psrp_disconnected_commands', 10, id);
      const windowsShells = shape(listed.windows);
      const perShell = (windowsShells.length - 5) / 2; // Body, EnumerateResponse, EnumerationContext, Items … EndOfSequence
      expect(shape(listed.ours)).toEqual([...windowsShells.slice(0, 4 + perShell), windowsShells.at(-1)]);
      expect(listed.ours).toContain('<rsp:State>Disconnected</rsp:State>');
      // Connect from a new client: ConnectResponse with SESSION_CAPABILITY + RUNSPACEPOOL_INIT_DATA.
      const connect = await replayed('test_psrp_disconnect_runspaces', 14, id);
      expect(shape(connect.ours)).toEqual(shape(connect.windows));
      const types = (xml: string): string[] => {
        const b64 = /<connectResponseXml[^>]*>([^<]*)</.exec(xml)![1]!;
        const d = new Defragmenter();
        return d.push(new Uint8Array(Buffer.from(b64, 'base64'))).map((m) => decodeMessage(m).typeName);
      };
      expect(types(connect.ours)).toEqual(types(connect.windows));
      expect(types(connect.ours)).toEqual(['SessionCapability', 'RunspacePoolInitData']);
      // The shell is that other client's now: the first client (another wsmv:SessionId) cannot
      // reconnect to it (MS-WSMV 3.1.4.16), nor can anyone connect to it again (3.1.4.17).
      for (const index of [5, 14]) {
        const refused = await replayed('test_psrp_disconnect_runspaces', index, id);
        expect(refused.ours).toMatch(
          /<s:Subcode><s:Value>w:InternalError<\/s:Value><\/s:Subcode>.*connected to another client/,
        );
      }
    } finally {
      await pool.close();
    }
  }, 60_000);

  it('disconnects and reconnects on the same client, a pipeline running throughout', async () => {
    const pool = await RunspacePool.open(options());
    try {
      // Output written while disconnected is kept by the server and arrives after reconnect().
      const running = pool
        .powershell()
        .addScript(
          'Start-Sleep -Milliseconds 600; 1..5 | ForEach-Object { "n$_"; Start-Sleep -Milliseconds 150 }',
        )
        .invoke();
      await new Promise((r) => setTimeout(r, 300));
      await pool.disconnect();
      expect(pool.state).toBe('Disconnected');
      const listed = await RunspacePool.listShells(options());
      expect(listed.find((s) => s.shellId === pool.id.toUpperCase())?.state).toBe('Disconnected');
      await expect(pool.powershell().addScript('1').invoke()).rejects.toMatchObject({
        code: 'PSRP_INVALID_STATE',
      });
      await new Promise((r) => setTimeout(r, 1800)); // the script finishes while nobody listens
      await pool.reconnect();
      expect(pool.state).toBe('Opened');
      const r = await running;
      expect(r.output).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
      expect(r.state).toBe('Completed');
      expect((await pool.powershell().addScript('"again"').invoke()).output).toEqual(['again']);
      expect(
        (await RunspacePool.listShells(options())).find((s) => s.shellId === pool.id.toUpperCase())?.state,
      ).toBe('Connected');
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it("lists only the caller's shells, and refuses another user's shell as not found", async () => {
    const mine = await RunspacePool.open(options('admin'));
    const theirs = await RunspacePool.open(options('helpdesk'));
    try {
      const listed = await RunspacePool.listShells(options('admin'));
      expect(listed.map((s) => s.shellId)).toEqual([mine.id.toUpperCase()]);
      expect(listed[0]).toMatchObject({
        configurationName: 'Microsoft.PowerShell',
        owner: 'admin',
        state: 'Connected',
        idleTimeout: expect.stringMatching(/^PT\d+\.\d{3}S$/) as unknown,
        shellRunTime: expect.stringMatching(/^P0DT0H\d+M\d+S$/) as unknown,
      });
      await expect(RunspacePool.connect({ ...options('admin'), shellId: theirs.id })).rejects.toMatchObject({
        code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
      });
      expect(theirs.state).toBe('Opened');
      expect((await theirs.powershell().addScript('"still mine"').invoke()).output).toEqual(['still mine']);
    } finally {
      await mine.close();
      await theirs.close();
    }
  }, 60_000);

  it('a bot restarted mid-command picks up its results: process A disconnects and exits, process B connects and receives everything', async () => {
    const script =
      'Start-Sleep -Milliseconds 1500; foreach ($i in 1..6) { "line $i"; Start-Sleep -Milliseconds 200 }; Write-Warning "done"';
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/disconnect-child.ts', script], {
      cwd: root,
      env: {
        ...process.env,
        PSRP_LAB_URL: lab.url,
        PSRP_LAB_PASSWORD: lab.users['admin']!,
        PSRP_LAB_CA: lab.ca,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    expect(err).toBe('');
    expect(code).toBe(0);
    const a = JSON.parse(out) as { shellId: string; state: string };
    expect(a.state).toBe('Disconnected');
    // A is gone; its shell and its pipeline live on.
    expect(lab.liveShells()).toBe(1);
    const shells = await RunspacePool.listShells(options());
    expect(shells).toEqual([expect.objectContaining({ shellId: a.shellId, state: 'Disconnected' })]);
    const commands = await RunspacePool.listCommands({ ...options(), shellId: a.shellId });
    expect(commands).toHaveLength(1);
    await new Promise((r) => setTimeout(r, 1500)); // some output is written while no client is attached
    const pool = await RunspacePool.connect({ ...options(), shellId: a.shellId });
    try {
      expect(pool.state).toBe('Opened');
      expect(pool.maxRunspaces).toBe(1);
      const r = await pool.connectPipeline(commands[0]!).invoke();
      expect(r.output).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
      expect(r.warnings.map((w) => w.message)).toEqual(['done']);
      expect(r.state).toBe('Completed');
      // The connected pool is this client's now: it runs new pipelines too.
      expect((await pool.powershell().addScript('$PSVersionTable.PSVersion.Major').invoke()).output).toEqual([
        7,
      ]);
      // Another client cannot take it over while it is connected here (MS-WSMV 3.1.4.17: InternalError).
      await expect(RunspacePool.connect({ ...options(), shellId: a.shellId })).rejects.toBeInstanceOf(
        WSManFaultError,
      );
      expect(lab.liveShells()).toBe(1);
    } finally {
      await pool.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 90_000);

  it('close() on a disconnected pool ends the waiting call with PSRP_POOL_CLOSED, stops nothing on the server and leaves the shell', async () => {
    const pool = await RunspacePool.open(options());
    const running = pool
      .powershell()
      .addScript('Start-Sleep -Milliseconds 1500; "kept"')
      .invoke()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await new Promise((r) => setTimeout(r, 500));
    await pool.disconnect();
    const signals = lab.requestCounts.get('Signal') ?? 0;
    await pool.close();
    expect(await running).toMatchObject({ code: 'PSRP_POOL_CLOSED' });
    expect(lab.requestCounts.get('Signal') ?? 0).toBe(signals);
    expect(lab.liveShells()).toBe(1);
    const id = pool.id.toUpperCase();
    const [commandId] = await RunspacePool.listCommands({ ...options(), shellId: id });
    const again = await RunspacePool.connect({ ...options(), shellId: id });
    try {
      expect((await again.connectPipeline(commandId!).invoke()).output).toEqual(['kept']);
    } finally {
      await again.close();
    }
    expect(lab.liveShells()).toBe(0);
  }, 60_000);

  it('deletes a disconnected shell when its idle timeout expires', async () => {
    const pool = await RunspacePool.open(options());
    await pool.disconnect({ idleTimeoutSeconds: 1 });
    expect(lab.liveShells()).toBe(1);
    await until(() => lab.liveShells() === 0, 15_000);
    await expect(pool.reconnect()).rejects.toMatchObject({ code: 'PSRP_WSMAN_SHELL_NOT_FOUND' });
    await pool.close();
    expect(await RunspacePool.listShells(options())).toEqual([]);
  }, 60_000);

  it('refuses Disconnect on the Exchange endpoint, which the lab does not claim to know', async () => {
    const pool = await RunspacePool.open({
      ...options(),
      uri: lab.exchangeUrl,
      configurationName: 'Microsoft.Exchange',
    });
    try {
      await expect(pool.disconnect()).rejects.toMatchObject({
        code: 'PSRP_WSMAN_FAULT',
        message: expect.stringMatching(/ActionNotSupported|not supported/) as unknown,
      });
      expect(pool.state).toBe('Opened');
      expect((await pool.shellInfo()).state).toBe('Connected');
      expect(
        (await pool.powershell().addCommand('Get-Mailbox').addParameter('ResultSize', 1).invoke()).output,
      ).toHaveLength(1);
      const listed = await RunspacePool.listShells({
        ...options(),
        uri: lab.exchangeUrl,
        configurationName: 'Microsoft.Exchange',
      });
      expect(listed.map((s) => s.shellId)).toEqual([pool.id.toUpperCase()]);
      expect(await RunspacePool.listShells(options())).toEqual([]); // /wsman lists its own shells only
    } finally {
      await pool.close();
    }
  }, 90_000);

  it('says what cannot be done: no shell to connect to, no disconnecting a child pwsh', async () => {
    await expect(
      RunspacePool.connect({ ...options(), shellId: '0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D' }),
    ).rejects.toMatchObject({
      code: 'PSRP_WSMAN_SHELL_NOT_FOUND',
    });
    expect(lab.liveShells()).toBe(0);
    const local = await RunspacePool.open({ connection: new OutOfProcConnection() });
    try {
      await expect(local.disconnect()).rejects.toMatchObject({ code: 'PSRP_NOT_SUPPORTED' });
      expect(() => local.connectPipeline('0B1F4C2E-5D7A-4E8B-9C0D-1E2F3A4B5C6D')).toThrow(
        expect.objectContaining({ code: 'PSRP_NOT_SUPPORTED' }) as Error,
      );
    } finally {
      await local.close();
    }
    await expect(RunspacePool.listShells({ connection: new OutOfProcConnection() })).rejects.toMatchObject({
      code: 'PSRP_NOT_SUPPORTED',
    });
  }, 60_000);
});
