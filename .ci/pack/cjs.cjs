// The installed tarball from CommonJS (require of an ES module package: Node >= 20.19).
const { RunspacePool } = require('psrp');
const { startLab } = require('psrp/lab');

(async () => {
  const lab = await startLab();
  try {
    const pool = await RunspacePool.open({
      uri: lab.url,
      auth: { username: 'admin', password: lab.users['admin'] },
      ca: lab.ca,
    });
    try {
      const { output } = await pool.powershell().addCommand('Get-Date').invoke();
      if (!(output[0] instanceof Date)) throw new Error(`expected a Date, got ${JSON.stringify(output)}`);
      console.log(`cjs: Get-Date = ${output[0].toISOString()}`);
    } finally {
      await pool.close();
    }
  } finally {
    await lab.close();
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
