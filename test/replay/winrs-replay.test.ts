// Every WinRS (cmd shell) recording of real Windows traffic replayed through the public API
// (WinRSShell), with what the recorded client asserted: output, stderr, exit codes, unicode,
// environment, stdin, operation-timeout retries, and typed faults. MS-WSMV 3.1.4.
import { describe, expect, it } from 'vitest';
import { WinRSShell, WSManFaultError, sequentialIds, type WinRSShellOptions } from '../../src/index.js';
import { ReplayTransport } from '../helpers/replay-transport.js';
import { loadRecording } from '../helpers/recordings.js';

async function open(
  name: string,
  options: Omit<WinRSShellOptions, 'transport'> = {},
): Promise<{ shell: WinRSShell; replay: ReplayTransport }> {
  const replay = new ReplayTransport(name);
  const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds(), ...options });
  return { shell, replay };
}

const actions = (r: ReplayTransport): string[] => r.steps.map((s) => s.action);
const bodyOf = (xml: string): string => /<s:Body>(.*)<\/s:Body>/s.exec(xml)?.[1] ?? '';

/** Our requests as the replay saw them (the transport records only the action; keep the envelopes too). */
function capture(replay: ReplayTransport): string[] {
  const sent: string[] = [];
  const send = replay.send.bind(replay);
  replay.send = (envelope: string) => {
    sent.push(envelope);
    return send(envelope);
  };
  return sent;
}

describe('WinRS recordings replayed through WinRSShell', () => {
  it('test_winrs_standard: cmd.exe /c echo hi gives "hi\\r\\n" and exit code 0; the command is released and the shell deleted', async () => {
    const replay = new ReplayTransport('test_winrs_standard');
    const sent = capture(replay);
    const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds() });
    const r = await shell.run('cmd.exe', ['/c', 'echo', 'hi']);
    await shell.close();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('hi\r\n');
    expect(r.stderr).toBe('');
    expect(actions(replay)).toEqual(['Create', 'Command', 'Receive', 'Signal', 'Delete']);
    expect(replay.remaining).toBe(0);
    // Same body as the recorded client's Create and Command (ids aside).
    const rec = loadRecording('test_winrs_standard').messages;
    expect(bodyOf(sent[0]!)).toBe(bodyOf(rec[0]!.request));
    expect(bodyOf(sent[1]!)).toBe(bodyOf(rec[1]!.request));
    expect(sent[0]).toContain(
      '<wsman:ResourceURI s:mustUnderstand="true">http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</wsman:ResourceURI>',
    );
    expect(sent[0]).toContain('<wsman:Option Name="WINRS_CODEPAGE">65001</wsman:Option>');
    expect(sent[3]).toContain('shell/signal/terminate');
  });

  it('test_winrs_stderr_rc: stdout, stderr and exit code 1 from a verbatim cmd line', async () => {
    const { shell, replay } = await open('test_winrs_stderr_rc');
    const r = await shell.run('cmd.exe', ['/c echo out && echo err>&2 && exit 1'], { quoteArguments: false });
    await shell.close();
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('out \r\n');
    expect(r.stderr).toBe('err \r\n');
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_unicode: codepage 65001, Japanese text both ways', async () => {
    const replay = new ReplayTransport('test_winrs_unicode');
    const sent = capture(replay);
    const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds(), codepage: 65001 });
    const r = await shell.run('powershell.exe', ['Write-Host こんにちは'], { quoteArguments: false });
    await shell.close();
    expect(r.stdout).toBe('こんにちは\n');
    expect(r.exitCode).toBe(0);
    expect(sent[1]).toContain('<rsp:Arguments>Write-Host こんにちは</rsp:Arguments>');
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_environment: variables with every punctuation reach the process (escaped in XML)', async () => {
    const name = '_-(){}[]<>*+-/\\?"!@#$^&|;:i,.`~0';
    const replay = new ReplayTransport('test_winrs_environment');
    const sent = capture(replay);
    const shell = await WinRSShell.open({
      transport: replay,
      ids: sequentialIds(),
      environment: { env1: 'var1', 1234: '5678', [name]: name },
    });
    const r = await shell.run('cmd.exe', ['/c', 'set']);
    await shell.close();
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\r\n');
    expect(lines).toContain('env1=var1');
    expect(lines).toContain('1234=5678');
    expect(lines).toContain(`${name}=${name}`);
    expect(sent[0]).toContain('<rsp:Variable Name="env1">var1</rsp:Variable>');
    expect(sent[0]).toContain('<rsp:Variable Name="_-(){}[]&lt;&gt;*+-/\\?&quot;!@#$^&amp;|;:i,.`~0">');
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_extra_opts: working directory, idle timeout, lifetime, name', async () => {
    const replay = new ReplayTransport('test_winrs_extra_opts');
    const sent = capture(replay);
    const shell = await WinRSShell.open({
      transport: replay,
      ids: sequentialIds(),
      workingDirectory: 'C:\\Windows',
      idleTimeoutSeconds: 60,
      lifetimeSeconds: 60,
      name: 'shell 1',
    });
    const r = await shell.run('powershell.exe', ['(pwd).Path']);
    await shell.close();
    expect(r.stdout).toBe('C:\\Windows\r\n');
    const rec = loadRecording('test_winrs_extra_opts').messages;
    expect(bodyOf(sent[0]!)).toBe(bodyOf(rec[0]!.request));
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_noprofile: WINRS_NOPROFILE is sent with MustComply, and the profile variables are absent', async () => {
    const replay = new ReplayTransport('test_winrs_noprofile');
    const sent = capture(replay);
    const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds(), noProfile: true });
    const r = await shell.run('cmd.exe', ['/c', 'set']);
    await shell.close();
    expect(sent[0]).toContain('<wsman:Option MustComply="true" Name="WINRS_NOPROFILE">TRUE</wsman:Option>');
    expect(r.stdout).not.toMatch(/^USERPROFILE=C:\\Users\\vagrant\r$/m);
    expect(r.stdout).toMatch(/^ALLUSERSPROFILE=/m);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_send: stdin written in two Sends, the second closing it', async () => {
    const replay = new ReplayTransport('test_winrs_send');
    const sent = capture(replay);
    const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds() });
    const p = await shell.start('powershell.exe', ['-']);
    await p.write('Write-Host "output 1";');
    await p.write('Write-Host "output 2";', { end: true });
    const r = await p.wait();
    await shell.close();
    expect(r.stdout).toBe('output 1\noutput 2\n');
    expect(r.exitCode).toBe(0);
    expect(actions(replay)).toEqual(['Create', 'Command', 'Send', 'Send', 'Receive', 'Signal', 'Delete']);
    expect(sent[2]).toMatch(/End="False" Name="stdin"/);
    expect(sent[3]).toMatch(/End="True" Name="stdin"/);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_operation_timeout: Receive retried after two operation-timeout faults, output streamed as it came', async () => {
    const { shell, replay } = await open('test_winrs_operation_timeout', { operationTimeoutSeconds: 10 });
    const p = await shell.start('powershell.exe', ['Write-Host hi; Start-Sleep 30; Write-Host hi again'], {
      quoteArguments: false,
    });
    const seen: string[] = [];
    for await (const t of p.text()) seen.push(t.text);
    await p.close();
    await shell.close();
    expect(seen.join('')).toBe('hi\nhi again\n');
    expect(p.exitCode).toBe(0);
    expect(actions(replay)).toEqual([
      'Create',
      'Command',
      'Receive',
      'Receive',
      'Receive',
      'Receive',
      'Signal',
      'Delete',
    ]);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_bad_cmd_id: Receive for an unknown command id is a typed invalid-selectors fault; the real command is still released', async () => {
    const { shell, replay } = await open('test_winrs_bad_cmd_id');
    const p = await shell.start('cmd.exe', ['/c', 'echo', 'hi']);
    const err = await shell.receive('87e77beb-6761-4c48-9d70-a00266b8459a').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WSManFaultError);
    expect((err as WSManFaultError).code).toBe('PSRP_WSMAN_SHELL_NOT_FOUND');
    expect((err as WSManFaultError).wsmanFaultCode).toBe(2150858843);
    expect((err as WSManFaultError).message).toMatch(/command identifier that does not exist/);
    await p.close();
    await shell.close();
    expect(actions(replay)).toEqual(['Create', 'Command', 'Receive', 'Signal', 'Delete']);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_fail_poll_process: a Receive without a command is refused with the plugin fault; the shell is deleted', async () => {
    const { shell, replay } = await open('test_winrs_fail_poll_process');
    const err = await shell.receive(null).catch((e: unknown) => e);
    await shell.close();
    expect(err).toBeInstanceOf(WSManFaultError);
    expect((err as WSManFaultError).wsmanFaultCode).toBe(87);
    expect((err as WSManFaultError).message).toMatch(/The parameter is incorrect/);
    expect(actions(replay)).toEqual(['Create', 'Receive', 'Delete']);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_no_cmd_shell: skipCmdShell needs a full path; the fault is typed, the shell stays usable', async () => {
    const replay = new ReplayTransport('test_winrs_no_cmd_shell');
    const sent = capture(replay);
    const shell = await WinRSShell.open({ transport: replay, ids: sequentialIds() });
    const err = await shell
      .run('powershell.exe', ['Write-Host', 'hi'], { skipCmdShell: true })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WSManFaultError);
    expect((err as WSManFaultError).wsmanFaultCode).toBe(2147942402);
    expect((err as WSManFaultError).message).toMatch(/cannot find the file specified/);
    const r = await shell.run(
      'C:\\Windows\\system32\\WindowsPowerShell\\v1.0\\powershell.exe',
      ['Write-Host', 'hi'],
      { skipCmdShell: true },
    );
    await shell.close();
    expect(r.stdout).toBe('hi\n');
    expect(sent[1]).toContain('<wsman:Option Name="WINRS_SKIP_CMD_SHELL">True</wsman:Option>');
    expect(actions(replay)).toEqual(['Create', 'Command', 'Command', 'Receive', 'Signal', 'Delete']);
    expect(replay.remaining).toBe(0);
  });

  it('test_winrs_open_already_opened: open then close sends Create and Delete once each, close is idempotent', async () => {
    const { shell, replay } = await open('test_winrs_open_already_opened');
    expect(shell.id).toMatch(/^[0-9A-F-]{36}$/);
    await shell.close();
    await shell.close();
    expect(actions(replay)).toEqual(['Create', 'Delete']);
    expect(replay.remaining).toBe(0);
    await expect(shell.run('cmd.exe')).rejects.toMatchObject({ code: 'PSRP_INVALID_STATE' });
  });
});
