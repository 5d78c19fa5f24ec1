// The installed tarball from an ES module: the lab, then a command through the public API.
import { RunspacePool } from 'psrp';
import { connectExchange } from 'psrp/exchange';
import { startLab } from 'psrp/lab';

const lab = await startLab();
try {
  const pool = await RunspacePool.open({
    uri: lab.url,
    auth: { username: 'admin', password: lab.users['admin'] },
    ca: lab.ca,
  });
  try {
    const { output } = await pool.powershell().addScript('1 + 41').invoke();
    if (output[0] !== 42) throw new Error(`expected 42, got ${JSON.stringify(output)}`);
  } finally {
    await pool.close();
  }
  const ex = await connectExchange({
    uri: lab.exchangeUrl,
    credential: { username: 'admin', password: lab.users['admin'] },
    ca: lab.ca,
  });
  try {
    const { output: mailboxes } = await ex.run('Get-Mailbox -ResultSize 2');
    if (mailboxes.length !== 2) throw new Error(`expected 2 mailboxes, got ${mailboxes.length}`);
    console.log(
      `esm: 1 + 41 = 42; Get-Mailbox: ${JSON.stringify(mailboxes.map((m) => m.PrimarySmtpAddress))}`,
    );
  } finally {
    await ex.close();
  }
} finally {
  await lab.close();
}
