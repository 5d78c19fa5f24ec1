/** psrp/lab: the loopback WinRM lab as a library, for tests and tools (a dev tool, not a server). */
export { noFaults, startLab } from './lab-server.js';
export type { Lab, LabAction, LabBehaviours, LabFaults, LabGssOptions, LabOptions } from './lab-server.js';
export { GSS_PACKAGES, startTestRealm } from './test-realm.js';
export type { KerberosClientEnv, TestRealm, TestRealmOptions } from './test-realm.js';
export { startTestSshd } from './test-sshd.js';
export type { TestSshd, TestSshdOptions } from './test-sshd.js';
export { LAB_USERS, ROLE_CMDLETS } from './exchange-runspace.js';
export type { LabRole } from './exchange-runspace.js';
export {
  createClientCertificate,
  createTestCertificate,
  createTestCertificateAuthority,
} from './certificate.js';
export type {
  ClientCertificateOptions,
  TestCertificate,
  TestCertificateAuthority,
  TestCertificateOptions,
} from './certificate.js';
