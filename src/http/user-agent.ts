// RFC 9110 10.1.5 User-Agent.
/** The package version sent in `User-Agent` (a test keeps it equal to package.json). */
export const PSRP_VERSION = '0.1.0';

/** `psrp/<version> (Node.js <version>)`: names the client in IIS and proxy logs. */
export const USER_AGENT = `psrp/${PSRP_VERSION} (Node.js ${process.versions.node})`;
