// src/http/kerberos-ccache-file.ts: which credential cache the process uses (KRB5CCNAME forms,
// default_ccache_name, /tmp/krb5cc_<uid>), DIR: collections, and the typed errors, on temp files
// holding a ccache recorded from MIT krb5 (test/auth/fixtures/krb5-mit-contexts.json).
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  ccacheName,
  readServiceTicketKey,
  readServiceTicketKeys,
} from '../../src/http/kerberos-ccache-file.js';

const fixture = JSON.parse(
  readFileSync(new URL('../auth/fixtures/krb5-mit-contexts.json', import.meta.url), 'utf8'),
);
const cache = Buffer.from(fixture.ccache, 'base64');
const keyHex = fixture.Kerberos.sessionKey.hex as string;
let dir: string;
const noConfig = { KRB5_CONFIG: '/nonexistent/krb5.conf' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'psrp-ccache-'));
  await writeFile(join(dir, 'cc'), cache);
  await mkdir(join(dir, 'coll'));
  await writeFile(join(dir, 'coll', 'tktABC'), cache);
  await writeFile(join(dir, 'coll', 'primary'), 'tktABC\n');
  await writeFile(
    join(dir, 'krb5.conf'),
    '[libdefaults]\n  default_realm = X\n  default_ccache_name = FILE:/tmp/cc-%{uid}\n',
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ccacheName', () => {
  it('KRB5CCNAME forms, default_ccache_name, the /tmp/krb5cc_<uid> default', () => {
    expect(ccacheName({ ...noConfig, KRB5CCNAME: 'FILE:/a/b' })).toEqual({ type: 'FILE', residual: '/a/b' });
    expect(ccacheName({ ...noConfig, KRB5CCNAME: '/a/b' })).toEqual({ type: 'FILE', residual: '/a/b' });
    expect(ccacheName({ ...noConfig, KRB5CCNAME: 'KEYRING:persistent:0' })).toEqual({
      type: 'KEYRING',
      residual: 'persistent:0',
    });
    const uid = process.getuid!();
    expect(ccacheName({ KRB5_CONFIG: join(dir, 'krb5.conf') })).toEqual({
      type: 'FILE',
      residual: `/tmp/cc-${uid}`,
    });
    expect(ccacheName(noConfig)).toEqual({ type: 'FILE', residual: `/tmp/krb5cc_${uid}` });
  });
});

describe('readServiceTicketKeys', () => {
  // The recorded tickets expire a year after recording; pin the clock inside their lifetime.
  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-25T15:30:00Z'));
  });
  afterAll(() => {
    vi.useRealTimers();
  });

  it('FILE:, a bare path, DIR: with its primary file, DIR::file', async () => {
    for (const KRB5CCNAME of [
      `FILE:${join(dir, 'cc')}`,
      join(dir, 'cc'),
      `DIR:${join(dir, 'coll')}`,
      `DIR::${join(dir, 'coll', 'tktABC')}`,
    ]) {
      const k = await readServiceTicketKey('HTTP/localhost@PSRP.TEST', { ...noConfig, KRB5CCNAME });
      expect(k.enctype).toBe(18);
      expect(Buffer.from(k.bytes).toString('hex')).toBe(keyHex);
    }
    expect(
      await readServiceTicketKeys('HTTP@localhost', { ...noConfig, KRB5CCNAME: join(dir, 'cc') }),
    ).toHaveLength(1);
  });

  it('typed errors: no ticket for the SPN, no file, a KEYRING cache, a DIR without primary, a corrupt file', async () => {
    const env = { ...noConfig, KRB5CCNAME: join(dir, 'cc') };
    await expect(readServiceTicketKey('HTTP/other.example', env)).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
      mechanism: 'kerberos',
      message: expect.stringContaining('no unexpired ticket for HTTP/other.example'),
    });
    await expect(
      readServiceTicketKey('HTTP/localhost', { ...noConfig, KRB5CCNAME: join(dir, 'missing') }),
    ).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
      message: expect.stringContaining('ENOENT'),
    });
    await expect(
      readServiceTicketKey('HTTP/localhost', { ...noConfig, KRB5CCNAME: 'KCM:' }),
    ).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
      hint: expect.stringContaining('KRB5CCNAME=FILE:'),
    });
    await expect(
      readServiceTicketKey('HTTP/localhost', { ...noConfig, KRB5CCNAME: `DIR:${dir}` }),
    ).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
      message: expect.stringContaining('primary'),
    });
    await writeFile(join(dir, 'bad'), cache.subarray(0, 100));
    await expect(
      readServiceTicketKey('HTTP/localhost', { ...noConfig, KRB5CCNAME: join(dir, 'bad') }),
    ).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_CCACHE_INVALID',
    });
    // Expired: the clock past the tickets' end time.
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    await expect(readServiceTicketKey('HTTP/localhost', env)).rejects.toMatchObject({
      code: 'PSRP_KERBEROS_TICKET_NOT_FOUND',
    });
    vi.setSystemTime(new Date('2026-11-25T15:30:00Z'));
  });
});
