/** caList(): the `ca` option as the list of extra CAs the transport and diagnose() trust. */
import { describe, expect, it } from 'vitest';
import { caList } from '../../src/index.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('caList', () => {
  it('is empty without a ca, one entry for PEM text or a Buffer, and a copy of a list', () => {
    expect(caList(undefined)).toEqual([]);
    expect(caList(PEM)).toEqual([PEM]);
    const der = Buffer.from([0x30, 0x82]);
    expect(caList(der)).toEqual([der]);
    const list = [PEM, der] as const;
    const out = caList(list);
    expect(out).toEqual([PEM, der]);
    out.push('x');
    expect(list).toHaveLength(2);
  });
});
