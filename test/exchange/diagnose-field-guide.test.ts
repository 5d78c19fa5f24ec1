/**
 * The field guide's failure list (shared/seed/exchange-rps-over-arr.txt, "common errors") maps one
 * to one onto the checks of src/exchange/diagnose/, as docs/troubleshooting.md's table says: every
 * failure of the guide has a row, every row names a check id, a function of its own that the named
 * file exports, and a documented code. The HTTP cases the guide names are then run on their own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CHECK_ORDER, type DiagnosisCheck } from '../../src/exchange/diagnose/index.js';
import type { DiagnoseContext } from '../../src/exchange/diagnose/context.js';
import {
  badGateway,
  badRequest,
  forbidden,
  type HttpAnswer,
} from '../../src/exchange/diagnose/check-http.js';
import { negotiateOverHttp } from '../../src/exchange/diagnose/check-kerberos.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const GUIDE = resolve(ROOT, '../shared/seed/exchange-rps-over-arr.txt');

/** The guide's failure bullets: between "common errors below" and "Still not working". */
function guideFailures(): string[] {
  if (!existsSync(GUIDE))
    throw new Error(`the field guide is missing: ${GUIDE} (CI lays shared/ beside the clone)`);
  const text = readFileSync(GUIDE, 'utf8');
  const start = text.indexOf('common errors below');
  const end = text.indexOf('Still not working');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return text
    .slice(start, end)
    .split('\n')
    .filter((l) => l.trimStart().startsWith('•'))
    .map((l) =>
      l
        .replace(/^\s*•\s*/, '')
        .replace(/\s+/g, ' ')
        .trim(),
    );
}

interface Row {
  readonly failure: string;
  readonly check: string;
  readonly fn: string;
  readonly file: string;
  readonly code: string;
}

function tableRows(): Row[] {
  const doc = readFileSync(resolve(ROOT, 'docs/troubleshooting.md'), 'utf8');
  const section = doc.slice(doc.indexOf("## The field guide's failures, check by check"));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')));
  return table
    .split('\n')
    .filter((l) => l.startsWith('| "'))
    .map((l) => {
      const cells = l.split('|').map((c) => c.trim());
      const fn = /^`(\w+)` \(([\w-]+\.ts)\)$/.exec(cells[3]!);
      if (!fn) throw new Error(`a row without "\`function\` (file.ts)": ${l}`);
      return {
        failure: cells[1]!.replace(/^"|"$/g, ''),
        check: cells[2]!.replace(/`/g, ''),
        fn: fn[1]!,
        file: fn[2]!,
        code: cells[4]!.replace(/`/g, ''),
      };
    });
}

describe("diagnose and the field guide's failures", () => {
  it('every failure of the guide has exactly one row, and every row a failure of the guide', () => {
    const failures = guideFailures();
    const rows = tableRows();
    expect(failures.length).toBe(9);
    for (const f of failures) {
      const matching = rows.filter((r) => f.includes(r.failure));
      expect(
        matching.map((r) => r.failure),
        f,
      ).toHaveLength(1);
    }
    for (const r of rows)
      expect(
        failures.some((f) => f.includes(r.failure)),
        r.failure,
      ).toBe(true);
  });

  it('every row names a check id, a function of its own exported by that file, and a documented code', async () => {
    const rows = tableRows();
    const errorsDoc = readFileSync(resolve(ROOT, 'docs/errors.md'), 'utf8');
    expect(new Set(rows.map((r) => r.fn)).size).toBe(rows.length);
    for (const r of rows) {
      expect(CHECK_ORDER).toContain(r.check);
      const base = r.file.replace(/\.ts$/, '');
      const mod = (await import(`../../src/exchange/diagnose/${base}.ts`)) as Record<string, unknown>;
      expect(typeof mod[r.fn], `${r.fn} in ${r.file}`).toBe('function');
      const source = readFileSync(resolve(ROOT, 'src/exchange/diagnose', r.file), 'utf8');
      expect(source, `${r.file} reports under '${r.check}'`).toContain(`'${r.check}'`);
      if (r.code !== '') expect(errorsDoc, r.code).toContain(r.code);
    }
  });

  describe('the HTTP answers the guide names', () => {
    const context = (https: boolean): { ctx: DiagnoseContext; checks: DiagnosisCheck[] } => {
      const checks: DiagnosisCheck[] = [];
      const url = new URL(`${https ? 'https' : 'http'}://cas.contoso.com/PowerShell/`);
      const ctx: DiagnoseContext = {
        url,
        options: {},
        timeoutMs: 1000,
        auth: 'basic',
        https,
        host: url.hostname,
        port: https ? 443 : 80,
        ca: [],
        add(id, status, detail, fix, code) {
          const c = { id, title: id, status, detail, fix, code };
          checks.push(c);
          return c;
        },
        lastFailed: () => checks.at(-1)?.status === 'fail',
        address: '192.0.2.1',
        alias: undefined,
        tlsTrusted: https,
        offered: [],
      };
      return { ctx, checks };
    };
    const answer = (status: number, body = ''): HttpAnswer => ({
      status,
      body,
      location: '',
      path: '/PowerShell/',
    });

    it('502 from ARR: fails, names the proxy and the certificate stores', () => {
      const { ctx, checks } = context(true);
      badGateway(ctx, answer(502));
      expect(checks).toMatchObject([{ id: 'http', status: 'fail', code: 'PSRP_HTTP_BAD_GATEWAY' }]);
      expect(checks[0]!.fix).toMatch(/Trusted Root and Intermediate/);
    });

    it("400 with Exchange's friendly error: a warning that the schemes cannot be seen", () => {
      const { ctx, checks } = context(true);
      badRequest(ctx, answer(400, '[ClientAccessServer=CAS01] [FailureCategory=Auth-401] Access is denied.'));
      expect(checks).toMatchObject([{ id: 'http', status: 'warn', code: 'PSRP_HTTP_BAD_REQUEST' }]);
      expect(checks[0]!.detail).toMatch(/turns 401 into 400/);
      const other = context(true);
      badRequest(other.ctx, answer(400, 'nope'));
      expect(other.checks[0]!.detail).toMatch(/answered 400 to an anonymous request/);
    });

    it('403 over http://: Require SSL, with the Kerberos warning of the guide', () => {
      const { ctx, checks } = context(false);
      forbidden(ctx, answer(403));
      expect(checks).toMatchObject([{ id: 'http', status: 'fail', code: 'PSRP_HTTP_FORBIDDEN' }]);
      expect(checks[0]!.detail).toMatch(/over plain http:\/\/: "Require SSL"/);
      expect(checks[0]!.fix).toMatch(/breaks internal Kerberos over http/);
    });

    it('Negotiate over http:// is reported as encrypted; over https:// nothing is added', () => {
      const plain = context(false);
      negotiateOverHttp(plain.ctx);
      expect(plain.checks).toMatchObject([{ id: 'kerberos', status: 'pass' }]);
      expect(plain.checks[0]!.detail).toMatch(/encrypted with the authentication context/);
      const tls = context(true);
      negotiateOverHttp(tls.ctx);
      expect(tls.checks).toHaveLength(0);
    });
  });
});
