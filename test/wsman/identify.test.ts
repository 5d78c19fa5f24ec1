import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identify, ProtocolError, WSManFaultError } from '../../src/index.js';
import { startLab, type Lab } from '../../src/lab/lab-server.js';
import { identifyEnvelope, parseIdentifyResponse } from '../../src/wsman/index.js';

const WINDOWS =
  '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body>' +
  '<wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>' +
  '<wsmid:ProductVersion>OS: 10.0.20348 SP: 0.0 Stack: 3.0</wsmid:ProductVersion><wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos</wsmid:SecurityProfileName></wsmid:SecurityProfiles>' +
  '</wsmid:IdentifyResponse></s:Body></s:Envelope>';

describe('WS-Man Identify codec', () => {
  it('builds a request without addressing headers and parses the answer', () => {
    const xml = identifyEnvelope();
    expect(xml).toContain('<wsmid:Identify/>');
    expect(xml).not.toContain('Action');
    expect(parseIdentifyResponse(WINDOWS)).toEqual({
      protocolVersion: 'http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd',
      productVendor: 'Microsoft Corporation',
      productVersion: 'OS: 10.0.20348 SP: 0.0 Stack: 3.0',
      securityProfiles: ['http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos'],
    });
  });

  it('rejects answers that are not an IdentifyResponse, and faults', () => {
    expect(() => parseIdentifyResponse(WINDOWS.replace(/IdentifyResponse/g, 'Other'))).toThrow(ProtocolError);
    expect(() =>
      parseIdentifyResponse(WINDOWS.replace(/<wsmid:ProtocolVersion>.*<\/wsmid:ProtocolVersion>/, '')),
    ).toThrow(/ProtocolVersion/);
    expect(() => parseIdentifyResponse('<x')).toThrow(ProtocolError);
    const fault =
      '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code><s:Reason><s:Text xml:lang="en-US">no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>';
    expect(() => parseIdentifyResponse(fault)).toThrow(WSManFaultError);
  });
});

describe('identify() against the lab', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab({});
  });
  afterAll(async () => {
    await lab?.close();
  });

  it('answers unauthenticated on /wsman without a product version, and with one when authenticated', async () => {
    const anonymous = await identify({ uri: lab.url, ca: lab.ca });
    expect(anonymous.productVendor).toBe('psrp lab');
    expect(anonymous.productVersion).toBeUndefined();
    const authed = await identify({
      uri: lab.exchangeUrl,
      ca: lab.ca,
      auth: { username: 'admin', password: lab.users['admin']! },
    });
    expect(authed.productVersion).toContain('Stack: 3.0');
    await expect(identify({ uri: lab.exchangeUrl, ca: lab.ca })).rejects.toMatchObject({
      code: 'PSRP_AUTH_FAILED',
    });
  });
});
