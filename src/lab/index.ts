/** psrp/lab: the loopback WinRM lab as a library, for tests and tools (a dev tool, not a server). */
export { noFaults, startLab } from './lab-server.js';
export type {
  Lab,
  LabAction,
  LabBehaviours,
  LabFaults,
  LabGssOptions,
  LabOptions,
  LabStats,
} from './lab-server.js';
export { noLimits, windowsLimits } from './lab-quotas.js';
export type { LabLimits } from './lab-quotas.js';
export { GSS_PACKAGES, startTestRealm } from './test-realm.js';
export type { KerberosClientEnv, TestRealm, TestRealmOptions } from './test-realm.js';
export type { LabSsh, LabSshOptions } from './lab-ssh.js';
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
export { EXO_AUDIENCE, LAB_TENANT_DOMAIN, LAB_TENANT_ID } from './exo-admin-api.js';
export type { LabExo, LabExoBehaviours, LabExoRequest, LabTokenOptions } from './exo-admin-api.js';
