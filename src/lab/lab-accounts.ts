/**
 * The lab's accounts: user → password and Exchange role (LAB_USERS, `users`, or a users file), the
 * bearer tokens Basic carries with BasicAuthToOAuthConversion, and who a request authenticates as
 * through Basic or WinRM certificate authentication (GSSAPI is gss-sessions.ts).
 */
import type { IncomingMessage } from 'node:http';
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors.js';
import { WSMAN_HTTPS_MUTUAL } from '../http/certificate-authenticator.js';
import { basicTokenUser } from './basic-token.js';
import { mapClientCertificate } from './certificate-mapping.js';
import { LAB_USERS, type LabRole } from './exchange-runspace.js';

export type LabAccountList = Readonly<Record<string, { readonly password: string; readonly role: LabRole }>>;

/** A users file `{ "user": { "password": "…", "role": "admin" | "helpdesk" | "readonly" } }`. */
export function readUsersFile(file: string): Record<string, { password: string; role: LabRole }> {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<
    string,
    { password?: unknown; role?: unknown }
  >;
  const out: Record<string, { password: string; role: LabRole }> = {};
  for (const [user, v] of Object.entries(raw)) {
    if (typeof v.password !== 'string' || !['admin', 'helpdesk', 'readonly'].includes(String(v.role))) {
      throw new InvalidArgumentError(
        `Lab users file ${file}: user ${user} needs a password and a role (admin, helpdesk, readonly)`,
      );
    }
    out[user] = { password: v.password, role: v.role as LabRole };
  }
  return out;
}

export class LabAccounts {
  /** user → password and role. */
  readonly accounts: LabAccountList;
  /** user → password. */
  readonly users: Readonly<Record<string, string>>;
  /** Accepted bearer tokens (token → user). */
  readonly tokens: Map<string, string>;

  constructor(options: {
    readonly users?: LabAccountList | undefined;
    readonly usersFile?: string | undefined;
    readonly tokens?: Readonly<Record<string, string>> | undefined;
  }) {
    this.accounts = options.usersFile ? readUsersFile(options.usersFile) : (options.users ?? LAB_USERS);
    const users = Object.fromEntries(Object.entries(this.accounts).map(([u, a]) => [u, a.password]));
    this.users = users;
    this.tokens = new Map(Object.entries(options.tokens ?? {}));
    for (const user of this.tokens.values()) {
      if (!this.has(user))
        throw new InvalidArgumentError(`Lab token for unknown user ${JSON.stringify(user)}`);
    }
  }

  /** Whether `user` is a lab user (own property, so `__proto__` is not one). */
  has(user: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.users, user);
  }

  /** The role of a lab user. */
  role(user: string): LabRole {
    return this.accounts[user]!.role;
  }

  /**
   * The user a request authenticates as through WinRM certificate authentication (`clientCa`, on
   * /wsman only), a bearer token or Basic (while `basic` is offered), or undefined.
   */
  authorized(
    req: IncomingMessage,
    options: { readonly clientCa: boolean; readonly basic: boolean },
  ): string | undefined {
    const h = req.headers['authorization'] ?? '';
    if (h === WSMAN_HTTPS_MUTUAL) {
      // WinRM certificate authentication: /wsman only (Exchange's /PowerShell vdir does not do it).
      return options.clientCa && !/^\/powershell/i.test(req.url ?? '')
        ? mapClientCertificate(req, Object.keys(this.users))
        : undefined;
    }
    if (!h.startsWith('Basic ') || !options.basic) return undefined;
    const byToken = basicTokenUser(req, this.tokens);
    if (byToken !== undefined) return byToken;
    const decoded = Buffer.from(h.slice(6), 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    const user = decoded.slice(0, i);
    return i > 0 && this.has(user) && this.users[user] === decoded.slice(i + 1) ? user : undefined;
  }

  /** The lab user a GSSAPI name (`alice@PSRP.TEST`, `PSRP\alice`) stands for: the name without realm or domain, if a lab user. */
  userOfPrincipal(principal: string): string | undefined {
    const name = principal.replace(/@[^@]*$/, '').replace(/^.*\\/, '');
    return this.has(name) ? name : this.has(name.toLowerCase()) ? name.toLowerCase() : undefined;
  }
}
