/**
 * A WS-Man quota fault in Windows' own shape: the recorded invalid-selectors fault
 * (test_psrp_is_alive_invalid_selectors) with its subcode, WSManFault code and message replaced by
 * those Windows sends when a quota is exceeded (MS-WSMV 2.2.4.43; the commands-per-shell text is
 * the one Windows Server 2012 R2 answers after 1,000 unreleased commands, pypsrp issue 148).
 */
import { loadRecording } from './recordings.js';

export const COMMANDS_PER_SHELL_MESSAGE =
  'The WS-Management service cannot process the request. The maximum number of concurrent commands per shell has been exceeded. Retry the request later or raise the Maximum Commands per Shell quota.';
export const SHELLS_PER_USER_MESSAGE =
  'The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent shells, which has been exceeded. Close existing shells or raise the quota for this user.';

export function quotaFaultEnvelope(subcode: string, code: number | undefined, message: string): string {
  const rec = loadRecording('test_psrp_is_alive_invalid_selectors').messages.find((m) =>
    m.response?.includes('Fault'),
  )!.response!;
  let xml = rec.replace('w:InvalidSelectors', subcode);
  xml = xml.replace(/<s:Text xml:lang="en-US">[^<]*</, `<s:Text xml:lang="en-US">${message} <`);
  xml = xml.replace(/<f:Message>[^<]*</g, `<f:Message>${message} <`);
  xml =
    code === undefined
      ? xml.replace(/ Code="2150858843"/g, '')
      : xml.replace(/Code="2150858843"/g, `Code="${code}"`);
  return xml;
}
