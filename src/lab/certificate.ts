// RFC 5280 X.509 certificates (subjectAltName 4.2.1.6), made with the openssl CLI for loopback tests.
/**
 * Throw-away TLS certificates for the lab server and the HTTPS tests. Each call makes a fresh P-256
 * key and certificate in a private temporary directory with the `openssl` command-line tool, reads
 * the PEMs back and deletes the directory: nothing is written anywhere else and nothing outlives
 * the call.
 *
 * Three shapes cover the tests that need them:
 * - self-signed (the default): `ca` is the certificate itself;
 * - `signedByCa: true`: a throw-away CA signs a leaf; `ca` is the CA certificate (the "custom CA"
 *   case: trusted only when the client passes `ca`);
 * - `expired: true`: validity ended in the past (with either of the shapes above), for diagnostics.
 *
 * For client-certificate authentication, `createTestCertificateAuthority` makes a CA once and
 * `createClientCertificate` issues certificates for users from it (EKU clientAuth, the UPN in the
 * subjectAltName), or self-signed ones.
 *
 * Not for production: the keys are unencrypted and live only in memory of the test process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, PsrpError } from '../errors.js';

/** What {@link createTestCertificate} should make. */
export interface TestCertificateOptions {
  /** Subject common name. Default `localhost`. */
  readonly commonName?: string | undefined;
  /** DNS names added to the subjectAltName besides `localhost` (e.g. a second host for redirects). */
  readonly dnsNames?: readonly string[] | undefined;
  /** IP addresses added to the subjectAltName besides `127.0.0.1` and `::1`. */
  readonly ipAddresses?: readonly string[] | undefined;
  /** Days of validity from now. Default 2. Ignored when `expired`. */
  readonly days?: number | undefined;
  /** Make a CA and a leaf signed by it instead of a self-signed certificate. Default false. */
  readonly signedByCa?: boolean | undefined;
  /** Include `localhost`, `127.0.0.1` and `::1` in the subjectAltName. Default true; false makes a certificate that does not match loopback names (name-mismatch tests). */
  readonly loopbackNames?: boolean | undefined;
  /** Make a certificate whose validity ended yesterday (it started 3 days ago). Default false. */
  readonly expired?: boolean | undefined;
}

/** PEM strings of a generated certificate. */
export interface TestCertificate {
  /** The server (leaf) certificate; with `signedByCa`, followed by nothing else (no chain). */
  readonly cert: string;
  /** The unencrypted PKCS#8 private key of `cert`. */
  readonly key: string;
  /** The certificate a client must trust: the CA with `signedByCa`, else `cert` itself. */
  readonly ca: string;
  /** The names and addresses the certificate is valid for, as written in its subjectAltName. */
  readonly subjectAltNames: readonly string[];
}

const DNS_NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function run(args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, timeout: 30_000, windowsHide: true }, (err, _stdout, stderr) => {
      if (!err) {
        resolve();
        return;
      }
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(
        new PsrpError(
          missing
            ? 'The openssl command-line tool is not installed (it is needed to make test certificates)'
            : `openssl ${args[0] ?? ''} failed: ${String(stderr).trim().split('\n').slice(-3).join(' ').slice(0, 300)}`,
          { code: 'PSRP_LAB_OPENSSL_FAILED', cause: err },
        ),
      );
    });
  });
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function subjectAltNames(options: TestCertificateOptions): string[] {
  const loopback = options.loopbackNames !== false;
  const dns = [...(loopback ? ['localhost'] : []), ...(options.dnsNames ?? [])];
  const ips = [...(loopback ? ['127.0.0.1', '::1'] : []), ...(options.ipAddresses ?? [])];
  for (const name of dns) {
    if (!DNS_NAME.test(name) || name.length > 253)
      throw new InvalidArgumentError(`Not a DNS name: ${JSON.stringify(name.slice(0, 80))}`);
  }
  for (const ip of ips) {
    if (isIP(ip) === 0)
      throw new InvalidArgumentError(`Not an IP address: ${JSON.stringify(ip.slice(0, 80))}`);
  }
  return [...new Set([...dns.map((d) => `DNS:${d}`), ...ips.map((i) => `IP:${i}`)])];
}

/**
 * `openssl req -x509` with a new P-256 key: a self-signed certificate for `/CN=<commonName>` with the
 * given extensions (`name=value`), written to `<file>.pem` and `<file>.key` in `dir`.
 */
function selfSigned(
  dir: string,
  file: string,
  commonName: string,
  days: number,
  extensions: readonly string[],
): Promise<void> {
  return run(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-days',
      String(days),
      '-subj',
      `/CN=${commonName}`,
      ...extensions.flatMap((e) => ['-addext', e]),
      '-keyout',
      `${file}.key`,
      '-out',
      `${file}.pem`,
    ],
    dir,
  );
}

/** RFC 5280 4.2.1.9 and 4.2.1.3: what makes a certificate a CA that signs certificates and CRLs. */
const CA_EXTENSIONS = ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign'];

/** Checks a subject CN as these helpers accept it. */
function checkCommonName(commonName: string): void {
  if (!/^[A-Za-z0-9 .*_-]{1,64}$/.test(commonName))
    throw new InvalidArgumentError(
      'commonName must be 1-64 letters, digits, spaces, dots, dashes or underscores',
    );
}

/** Days of validity (default 2), checked: an integer from 1 to 3650. */
function validDays(days: number | undefined): number {
  const d = days ?? 2;
  if (!Number.isInteger(d) || d < 1 || d > 3650)
    throw new InvalidArgumentError('days must be an integer from 1 to 3650');
  return d;
}

/** A minimal `openssl ca` configuration: the only way OpenSSL 3.0 sets explicit (past) dates. */
const CA_CONFIG = `[ ca ]
default_ca = lab
[ lab ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
`;

/**
 * Creates a throw-away certificate for `localhost`, `127.0.0.1`, `::1` and the extra names given.
 * Rejects with `InvalidArgumentError` for a malformed name or address, and with a `PsrpError` code
 * `PSRP_LAB_OPENSSL_FAILED` when openssl is missing or fails.
 */
export async function createTestCertificate(options: TestCertificateOptions = {}): Promise<TestCertificate> {
  const sans = subjectAltNames(options);
  const commonName = options.commonName ?? 'localhost';
  checkCommonName(commonName);
  const days = validDays(options.days);
  const san = `subjectAltName=${sans.join(',')}`;

  const dir = await mkdtemp(join(tmpdir(), 'psrp-cert-'));
  try {
    let caCert: string | undefined;
    if (options.signedByCa) {
      await selfSigned(dir, 'ca', 'psrp throw-away test CA', days + 1, CA_EXTENSIONS);
      caCert = await readFile(join(dir, 'ca.pem'), 'utf8');
    }

    if (!options.signedByCa && !options.expired) {
      await selfSigned(dir, 'leaf', commonName, days, [san]);
    } else {
      await run(
        [
          'req',
          '-new',
          ...EC_KEY,
          '-subj',
          `/CN=${commonName}`,
          '-addext',
          san,
          '-keyout',
          'leaf.key',
          '-out',
          'leaf.csr',
        ],
        dir,
      );
      await writeFile(join(dir, 'ca.cnf'), CA_CONFIG);
      await writeFile(join(dir, 'index.txt'), '');
      await writeFile(join(dir, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
      const now = Date.now();
      const start = options.expired ? now - 3 * 86_400_000 : now - 60_000;
      const end = options.expired ? now - 86_400_000 : now + days * 86_400_000;
      const signer = options.signedByCa
        ? ['-cert', 'ca.pem', '-keyfile', 'ca.key']
        : ['-selfsign', '-keyfile', 'leaf.key'];
      await run(
        [
          'ca',
          '-batch',
          '-notext',
          '-config',
          'ca.cnf',
          ...signer,
          '-extensions',
          'leaf',
          '-startdate',
          asn1Time(start),
          '-enddate',
          asn1Time(end),
          '-in',
          'leaf.csr',
          '-out',
          'leaf.pem',
        ],
        dir,
      );
    }

    const cert = await readFile(join(dir, 'leaf.pem'), 'utf8');
    const key = await readFile(join(dir, 'leaf.key'), 'utf8');
    return { cert, key, ca: caCert ?? cert, subjectAltNames: sans.map((s) => s.replace(/^(DNS|IP):/, '')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A throw-away certificate authority: its certificate and unencrypted key (PEM). */
export interface TestCertificateAuthority {
  readonly cert: string;
  readonly key: string;
}

/**
 * Creates a throw-away CA (P-256, `CA:TRUE`, keyCertSign) to issue client certificates with
 * {@link createClientCertificate}. Rejects like {@link createTestCertificate}.
 */
export async function createTestCertificateAuthority(
  options: { readonly commonName?: string | undefined; readonly days?: number | undefined } = {},
): Promise<TestCertificateAuthority> {
  const commonName = options.commonName ?? 'psrp throw-away client CA';
  checkCommonName(commonName);
  const days = validDays(options.days);
  const dir = await mkdtemp(join(tmpdir(), 'psrp-cert-'));
  try {
    await selfSigned(dir, 'ca', commonName, days, CA_EXTENSIONS);
    return {
      cert: await readFile(join(dir, 'ca.pem'), 'utf8'),
      key: await readFile(join(dir, 'ca.key'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What {@link createClientCertificate} should make. */
export interface ClientCertificateOptions {
  /** The user: subject CN, and the local part of the default UPN. Letters, digits, `.`, `_`, `-`. */
  readonly user: string;
  /** User principal name in the subjectAltName (MS UPN otherName, as WinRM's mapping wants). Default `<user>@localhost`; `false` for none. */
  readonly upn?: string | false | undefined;
  /** The CA that signs it. Default: none (self-signed). */
  readonly issuer?: TestCertificateAuthority | undefined;
  /** Days of validity from now. Default 2. */
  readonly days?: number | undefined;
}

/** The UPN otherName OID (szOID_NT_PRINCIPAL_NAME) WinRM maps client certificates by. */
const UPN_OID = '1.3.6.1.4.1.311.20.2.3';

/**
 * Creates a throw-away TLS client certificate for a user, as WinRM certificate authentication wants
 * one (RFC 5280 4.2.1.12 extendedKeyUsage clientAuth; the UPN in the subjectAltName): signed by
 * `issuer`, or self-signed. `ca` of the result is the issuer's certificate (or the certificate
 * itself). Rejects like {@link createTestCertificate}.
 */
export async function createClientCertificate(options: ClientCertificateOptions): Promise<TestCertificate> {
  const user = options.user;
  if (typeof user !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(user))
    throw new InvalidArgumentError('user must be 1-64 letters, digits, dots, dashes or underscores');
  const upn = options.upn === undefined ? `${user}@localhost` : options.upn;
  if (upn !== false && !/^[A-Za-z0-9._-]{1,64}@[A-Za-z0-9.-]{1,190}$/.test(upn))
    throw new InvalidArgumentError(`Not a user principal name: ${JSON.stringify(String(upn).slice(0, 80))}`);
  const days = validDays(options.days);
  const extensions = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = clientAuth',
    ...(upn === false ? [] : [`subjectAltName = otherName:${UPN_OID};UTF8:${upn}`]),
  ];
  const dir = await mkdtemp(join(tmpdir(), 'psrp-cert-'));
  try {
    await writeFile(join(dir, 'client.cnf'), `[ client ]\n${extensions.join('\n')}\n`);
    if (options.issuer) {
      await writeFile(join(dir, 'ca.pem'), options.issuer.cert);
      await writeFile(join(dir, 'ca.key'), options.issuer.key, { mode: 0o600 });
      await run(
        ['req', '-new', ...EC_KEY, '-subj', `/CN=${user}`, '-keyout', 'leaf.key', '-out', 'leaf.csr'],
        dir,
      );
      await run(
        [
          'x509',
          '-req',
          '-in',
          'leaf.csr',
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca.key',
          '-set_serial',
          `0x${Date.now().toString(16)}${Math.floor(Math.random() * 0xffff).toString(16)}`,
          '-days',
          String(days),
          '-sha256',
          '-extfile',
          'client.cnf',
          '-extensions',
          'client',
          '-out',
          'leaf.pem',
        ],
        dir,
      );
    } else {
      await selfSigned(
        dir,
        'leaf',
        user,
        days,
        extensions.map((e) => e.replace(/ = /, '=')),
      );
    }
    const cert = await readFile(join(dir, 'leaf.pem'), 'utf8');
    const key = await readFile(join(dir, 'leaf.key'), 'utf8');
    return { cert, key, ca: options.issuer?.cert ?? cert, subjectAltNames: upn === false ? [] : [upn] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
