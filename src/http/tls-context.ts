// RFC 8446 2.2 (TLS 1.3 resumption) and RFC 5077 (TLS 1.2 session tickets): TLS set-up shared
// across connections, pools and transports of one process.
/**
 * Two things are costly in a new HTTPS connection and do not depend on the connection:
 *
 * - The trust store. `ca: [...tls.rootCertificates, extra]` makes Node parse its ~140 bundled root
 *   certificates again for every connection (about 40 ms of CPU each, most of an open's cost).
 *   {@link secureContextFor} builds one `SecureContext` per set of TLS material instead: Node's
 *   default roots (parsed once per process and shared) plus the extra CAs, made once and cached by
 *   the CAs' content when no client certificate is involved.
 * - The full handshake. undici keeps TLS sessions per connector; {@link sharedConnector} keeps one
 *   connector (and so one session cache) per secure context and connection options, so that a new
 *   connection to a host the process already talked to resumes the session (abbreviated handshake,
 *   no certificate chain to verify) whichever pool or transport opens it. A session carries no HTTP
 *   credentials; contexts with a client certificate are never shared between transports.
 */
import { createHash } from 'node:crypto';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { buildConnector } from 'undici';
import { undiciBuildConnector } from './undici-parts.js';

type Pem = string | Buffer;

/** The TLS material of a transport. */
export interface TlsMaterial {
  /** Extra trusted CAs, added to the roots Node trusts by default. */
  readonly ca: readonly Pem[];
  readonly cert?: Pem | undefined;
  readonly key?: Pem | undefined;
  readonly pfx?: Buffer | undefined;
  readonly passphrase?: string | undefined;
}

const MAX_CACHED = 32;
/** Contexts of CA-only material, by the CAs' SHA-256 (most recently used last). */
const byCa = new Map<string, SecureContext>();

interface NativeContext {
  addCACert?(pem: Pem): void;
}

/**
 * A secure context for `material`: Node's default trust store (its bundled roots, plus
 * NODE_EXTRA_CA_CERTS), the extra CAs, and the client certificate if any. Contexts without a client
 * certificate are shared by every transport of the process with the same CAs. Throws what
 * `tls.createSecureContext` throws for bad material.
 */
export function secureContextFor(material: TlsMaterial): SecureContext {
  const identity = material.cert !== undefined || material.key !== undefined || material.pfx !== undefined;
  if (identity) return build(material);
  const hash = createHash('sha256');
  for (const pem of material.ca) hash.update(pem).update('\0');
  const key = hash.digest('base64');
  let context = byCa.get(key);
  if (context !== undefined) {
    byCa.delete(key);
  } else {
    context = build(material);
    if (byCa.size >= MAX_CACHED) byCa.delete(byCa.keys().next().value!);
  }
  byCa.set(key, context);
  return context;
}

function build(material: TlsMaterial): SecureContext {
  const { ca, ...identity } = material;
  const defined = Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined));
  const native = (ctx: SecureContext): NativeContext => ctx.context as NativeContext;
  const context = createSecureContext(defined);
  // Adding to the default store copies Node's parsed roots (copy on write) instead of parsing them.
  if (ca.length > 0 && typeof native(context).addCACert === 'function') {
    for (const pem of ca) native(context).addCACert!(pem);
    return context;
  }
  return ca.length > 0 ? createSecureContext({ ...defined, ca: [...rootCertificates, ...ca] }) : context;
}

/** Options of a connector: the secure context and the per-connection TLS settings. */
export type ConnectorOptions = Partial<buildConnector.BuildOptions> & {
  readonly secureContext?: SecureContext | undefined;
};

const connectors = new WeakMap<object, Map<string, buildConnector.connector>>();
const NO_CONTEXT = {};

/**
 * One undici connector (and its TLS session cache) per secure context and set of connection
 * options, for the whole process.
 */
export function sharedConnector(options: ConnectorOptions): buildConnector.connector {
  const { secureContext, ...rest } = options;
  const owner: object = secureContext ?? NO_CONTEXT;
  let forContext = connectors.get(owner);
  if (forContext === undefined) {
    forContext = new Map<string, buildConnector.connector>();
    connectors.set(owner, forContext);
  }
  const key = JSON.stringify(Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : 1)));
  let connector = forContext.get(key);
  if (connector === undefined) {
    if (forContext.size >= MAX_CACHED) forContext.delete(forContext.keys().next().value!);
    connector = undiciBuildConnector()(options);
    forContext.set(key, connector);
  }
  return connector;
}

const contextIds = new WeakMap<SecureContext, number>();
let nextContextId = 1;

/** A process-unique name of a secure context, for keys that must tell contexts apart. */
export function contextId(context: SecureContext): number {
  let id = contextIds.get(context);
  if (id === undefined) contextIds.set(context, (id = nextContextId++));
  return id;
}

/**
 * The TLS options of every connection of a transport: a shared secure context (see tls-context.ts)
 * where the material makes one; material that Node refuses is passed as it is, so that the error
 * surfaces where it always did, on the first connection.
 */
export function tlsOptions(
  material: TlsMaterial,
  rejectUnauthorized: boolean,
  servername: string | undefined,
): Readonly<Record<string, unknown>> {
  const named = servername !== undefined ? { servername } : {};
  try {
    return { rejectUnauthorized, ...named, secureContext: secureContextFor(material) };
  } catch {
    const { ca, ...rest } = material;
    const identity = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    return {
      rejectUnauthorized,
      ...(ca.length > 0 ? { ca: [...rootCertificates, ...ca] } : {}),
      ...named,
      ...identity,
    };
  }
}
