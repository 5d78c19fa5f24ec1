/** WS-Management (MS-WSMV) sans-IO codec: envelopes out, parsed responses and faults in. */
export * from './namespaces.js';
export * from './envelope.js';
export * from './fault.js';
export * from './response.js';
export * from './identify.js';
export * from './config.js';
export * from './winrs.js';
export * from './windows-command-line.js';
export * from './enumerate.js';
