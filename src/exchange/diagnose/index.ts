/** `diagnose()` and its types; one check per file (check-*.ts), run in order by runner.ts. */
export { diagnose } from './runner.js';
export { clip } from './probes.js';
export { CHECK_ORDER } from './types.js';
export type { CheckId, CheckStatus, DiagnoseOptions, Diagnosis, DiagnosisCheck } from './types.js';
