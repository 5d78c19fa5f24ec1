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
      const { output } = await pool
        .powershell()
        .addScript('[datetime]::new(2024, 1, 2, 3, 4, 5, [DateTimeKind]::Utc)')
        .invoke();
      if (!(output[0] instanceof Date)) throw new Error(`expected a Date, got ${JSON.stringify(output)}`);
      if (output[0].toISOString() !== '2024-01-02T03:04:05.000Z')
        throw new Error(`wrong date ${output[0].toISOString()}`);
      console.log(`cjs: [datetime] = ${output[0].toISOString()}`);
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
