import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { offeredSchemes } from '../../src/http/authenticator.js';
import { BasicAuthenticator } from '../../src/http/basic-authenticator.js';
import { connectionError, excerpt, isSoapEnvelope, statusInfo, tlsError } from '../../src/http/http-errors.js';
import { decodeBody } from '../../src/http/response-body.js';
import { PSRP_VERSION, USER_AGENT } from '../../src/http/user-agent.js';

const url = new URL('https://cas.contoso.com/PowerShell/');

describe('BasicAuthenticator', () => {
  it('encodes UTF-8 user:password and keeps the secret out of inspect and JSON', () => {
    const auth = new BasicAuthenticator({ username: 'CONTOSO\\José', password: 'p:äss' });
    const header = auth.authorize({ method: 'POST', url });
    expect(header).toBe(`Basic ${Buffer.from('CONTOSO\\José:p:äss', 'utf8').toString('base64')}`);
    expect(auth.respond()).toBeUndefined();
    const shown = `${inspect(auth, { depth: 5, showHidden: true })} ${JSON.stringify(auth)}`;
    expect(shown).toContain('José');
    expect(shown).not.toContain('p:äss');
    expect(shown).not.toContain(header.slice(6));
  });

  it('refuses a user name with a colon or empty', () => {
    expect(() => new BasicAuthenticator({ username: 'a:b', password: 'x' })).toThrow(InvalidArgumentError);
    expect(() => new BasicAuthenticator({ username: '', password: 'x' })).toThrow(InvalidArgumentError);
  });
});

describe('offeredSchemes', () => {
  it('lists scheme names, not parameters, across headers', () => {
    expect(offeredSchemes(['Negotiate', 'Basic realm="cas.contoso.com", charset="UTF-8"', 'NTLM'])).toEqual(['Negotiate', 'Basic', 'NTLM']);
    expect(offeredSchemes(['Negotiate, Kerberos, Basic realm=x'])).toEqual(['Negotiate', 'Kerberos', 'Basic']);
    expect(offeredSchemes(['Negotiate YIIBhw==', 'negotiate'])).toEqual(['Negotiate']);
    expect(offeredSchemes([])).toEqual([]);
  });
});

describe('http-errors helpers', () => {
  it('recognises SOAP envelopes with or without prolog and prefix, and not plain text', () => {
    expect(isSoapEnvelope('<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="x"/>')).toBe(true);
    expect(isSoapEnvelope('<Envelope>')).toBe(true);
    expect(isSoapEnvelope('[ClientAccessServer=CAS01] <s:Envelope>')).toBe(false);
    expect(isSoapEnvelope('<html><body>Envelope</body></html>')).toBe(false);
  });

  it('scrubs credentials from excerpts and shortens them', () => {
    const text = excerpt('Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nCookie: MS-WSMAN=abc\nseen token Negotiate TlRMTVNTUAABAAAA and secret-xyz', ['secret-xyz']);
    expect(text).not.toContain('QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    expect(text).not.toContain('MS-WSMAN=abc');
    expect(text).not.toContain('TlRMTVNTUAABAAAA');
    expect(text).not.toContain('secret-xyz');
    expect(text).toContain('[redacted]');
    expect(excerpt('a'.repeat(1000)).length).toBeLessThanOrEqual(301);
  });

  it('gives distinct codes for 400 with and without SOAP', () => {
    expect(statusInfo(400, false).hint).toMatch(/401 and 404 into 400/);
    expect(statusInfo(400, true).hint).not.toMatch(/401 and 404/);
    expect(statusInfo(599, false).code).toBe('PSRP_HTTP_SERVER_ERROR');
  });

  it('maps TLS and socket error codes found in the cause chain', () => {
    expect(tlsError({ code: 'UND_ERR_SOCKET', cause: { code: 'CERT_NOT_YET_VALID' } }, url)?.code).toBe('PSRP_TLS_EXPIRED');
    expect(tlsError(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), url)?.code).toBe('PSRP_TLS_UNTRUSTED');
    expect(tlsError(new Error('plain'), url)).toBeUndefined();
    const dns = connectionError(new AggregateError([Object.assign(new Error('getaddrinfo ENOTFOUND cas'), { code: 'ENOTFOUND' })], 'failed'), url);
    expect(dns.code).toBe('PSRP_CONNECTION_FAILED');
    expect(dns.hint).toMatch(/DNS/);
    expect(connectionError(Object.assign(new Error('t'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), url).code).toBe('PSRP_TIMEOUT');
  });
});

describe('decodeBody', () => {
  it('decodes UTF-8 (BOM dropped) and UTF-16 LE/BE by BOM or charset', () => {
    const text = '<s:Envelope>ü€</s:Envelope>';
    expect(decodeBody(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), undefined)).toBe(text);
    expect(decodeBody(Buffer.from(text, 'utf16le'), 'application/soap+xml; charset="utf-16"')).toBe(text);
    const be = Buffer.from(text, 'utf16le').swap16();
    expect(decodeBody(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), undefined)).toBe(text);
    expect(decodeBody(Buffer.from(text), 'application/soap+xml;charset=UTF-8')).toBe(text);
  });
});

describe('User-Agent', () => {
  it('names the package version of package.json and the Node.js version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(PSRP_VERSION).toBe(pkg.version);
    expect(USER_AGENT).toBe(`psrp/${pkg.version} (Node.js ${process.versions.node})`);
  });
});
