/**
 * Loader for the real Windows WS-Man recordings in ../shared/fixtures/windows-recordings/
 * (pypsrp's scenario files: `messages: [{ request, response, transport_error?, http_error?,
 * timeout?, overrides? }]`). Shared by the wsman, psrp and client replay tests.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const RECORDINGS_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '../../../shared/fixtures/windows-recordings',
);
export const EXCHANGE_CLIXML_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/exchange-clixml');

export interface RecordedExchange {
  /** The SOAP envelope the recording client sent. */
  readonly request: string;
  /** The SOAP envelope Windows answered with, or null when the HTTP call failed without a body. */
  readonly response: string | null;
  /** Present when the answer was an HTTP error (`{ protocol: 'http', code: 500 }`). */
  readonly transportError?: { readonly protocol: string; readonly code: number };
  /** Present when the HTTP call itself failed. */
  readonly httpError?: boolean;
  /** Present when the recorded call timed out. */
  readonly timeout?: number;
}

export interface Recording {
  readonly name: string;
  readonly messages: readonly RecordedExchange[];
}

interface RawMessage {
  request: string;
  response: string | null;
  transport_error?: { protocol: string; code: number };
  http_error?: boolean;
  timeout?: number;
}

/** Scenario names (file names without .yml), sorted. */
export function recordingNames(): string[] {
  return readdirSync(RECORDINGS_DIR)
    .filter((f) => f.endsWith('.yml'))
    .map((f) => f.slice(0, -4))
    .sort();
}

export function loadRecording(name: string): Recording {
  const doc = parse(readFileSync(join(RECORDINGS_DIR, `${name}.yml`), 'utf8')) as { messages: RawMessage[] };
  return {
    name,
    messages: doc.messages.map((m) => ({
      request: m.request,
      response: m.response,
      ...(m.transport_error ? { transportError: m.transport_error } : {}),
      ...(m.http_error ? { httpError: m.http_error } : {}),
      ...(m.timeout !== undefined ? { timeout: m.timeout } : {}),
    })),
  };
}

/** Every base64 payload in an envelope: creationXml, connectXml, connectResponseXml, rsp:Arguments, rsp:Stream (with its Name/CommandId). */
export function base64Payloads(envelope: string): { element: string; name?: string; commandId?: string; data: Buffer }[] {
  const out: { element: string; name?: string; commandId?: string; data: Buffer }[] = [];
  const re = /<((?:[\w]+:)?(?:creationXml|connectXml|connectResponseXml|Arguments|Stream))(\s[^>]*)?>([A-Za-z0-9+/=\s]+)<\/\1>/g;
  for (const m of envelope.matchAll(re)) {
    const attrs = m[2] ?? '';
    const name = /\bName="([^"]*)"/.exec(attrs)?.[1];
    const commandId = /\bCommandId="([^"]*)"/.exec(attrs)?.[1];
    out.push({
      element: m[1]!.replace(/^\w+:/, ''),
      ...(name !== undefined ? { name } : {}),
      ...(commandId !== undefined ? { commandId } : {}),
      data: Buffer.from(m[3]!, 'base64'),
    });
  }
  return out;
}
