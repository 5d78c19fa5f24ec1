/** The CLI's words (issue 13): hints in CLI flags, target shapes, sentences never cut in half. */
import { describe, expect, it } from 'vitest';
import { checkTarget, cliWords, defaultConfiguration } from '../../src/cli/cli-options.js';
import { clip } from '../../src/exchange/diagnose/index.js';

describe('CLI hints', () => {
  it('name CLI flags instead of library options', () => {
    expect(
      cliWords(
        'Pass the issuing CA certificate (PEM) with `ca`, or install it as NODE_EXTRA_CA_CERTS; `skipCertificateCheck: true` turns verification off',
      ),
    ).toBe(
      'Pass the issuing CA certificate (PEM) with --ca FILE, or install it as NODE_EXTRA_CA_CERTS; --skip-certificate-check turns verification off',
    );
    expect(cliWords('use https://, or set allowUnencrypted: true for a lab')).toBe(
      'use https://, or pass --allow-unencrypted for a lab',
    );
    expect(cliWords('follow it with `allowRedirection: true`')).toBe('follow it with --allow-redirection');
    expect(
      cliWords('Put the proxy credentials in its URL: proxy: "http://user:password@proxy:port" (Basic).'),
    ).toBe('Put the proxy credentials in its URL: --proxy http://user:password@proxy:port (Basic).');
    expect(cliWords('then add the key. verifyHostKey: false turns the check off (insecure).')).toBe(
      'then add the key. --no-host-key-check turns the check off (insecure).',
    );
    expect(cliWords('Check the proxy URL (the `proxy` option or HTTPS_PROXY/HTTP_PROXY).')).toBe(
      'Check the proxy URL (--proxy URL, or HTTPS_PROXY/HTTP_PROXY with --proxy env).',
    );
  });

  it('a target that is not a URL or a bare name gets the URL shape', () => {
    expect(checkTarget('cas01')).toBeUndefined();
    expect(checkTarget('https://cas01/PowerShell/')).toBeUndefined();
    expect(checkTarget('cas01:5986')).toContain('https://cas01:5986/wsman');
    expect(checkTarget('cas01/PowerShell')).toContain('https://cas01/PowerShell');
    expect(checkTarget('ftp://cas01')).toContain('only https:// and http://');
    expect(defaultConfiguration('cas01')).toBe('Microsoft.Exchange');
    expect(defaultConfiguration('https://cas01/powershell/')).toBe('Microsoft.Exchange');
    expect(defaultConfiguration('https://cas01:5986/wsman')).toBe('Microsoft.PowerShell');
  });

  it('diagnose cuts long messages at a sentence end, never in the middle of one', () => {
    // What psrp diagnose printed cut at 300 characters on a /wsman URL ("...lives at https://<server>/PowerShell/,").
    const text =
      'The WS-Management service cannot process the request because the resource URI (http://schemas.microsoft.com/powershell/Microsoft.Exchange) was not found in the WS-Management catalog. (WSManFault 2150858811). No such configuration at this URL: Microsoft.Exchange lives at https://<server>/PowerShell/, not /wsman.';
    expect(clip(text, 1000)).toBe(text);
    const cut = clip(text, text.length - 5);
    expect(cut.endsWith('.')).toBe(true);
    expect(text.startsWith(cut)).toBe(true);
    expect(clip('x'.repeat(50), 10)).toBe(`${'x'.repeat(9)}…`);
  });
});
