/**
 * A generated Export-Clixml document of Exchange-like mailbox objects (about 60 properties each:
 * strings, ints, longs, booleans, dates, GUIDs, multi-valued lists, nested ADObjectId-like
 * objects, Unlimited-like values, enums), written the way PowerShell writes them: RefIds, TN then
 * TNRef reuse. Deterministic: the same count always gives the same document.
 */
const TN_MAILBOX = [
  'Deserialized.Microsoft.Exchange.Data.Directory.Management.Mailbox',
  'Deserialized.Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson',
  'Deserialized.Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient',
  'Deserialized.Microsoft.Exchange.Data.Directory.Management.ADPresentationObject',
  'Deserialized.Microsoft.Exchange.Data.Directory.ADObject',
  'Deserialized.Microsoft.Exchange.Data.Directory.ADRawEntry',
  'Deserialized.Microsoft.Exchange.Data.ConfigurableObject',
  'Deserialized.System.Object',
];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const hex = (r: () => number, n: number): string =>
  Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const guid = (r: () => number): string =>
  `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;

export function mailboxDocument(count: number): string {
  const r = rng(42);
  const out: string[] = ['<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'];
  let refId = 0;
  let tnId = 0;
  const tns = new Map<string, number>();
  const tn = (names: readonly string[]): string => {
    const key = names.join('|');
    const id = tns.get(key);
    if (id !== undefined) return `<TNRef RefId="${id}" />`;
    tns.set(key, tnId);
    return `<TN RefId="${tnId++}">${names.map((n) => `<T>${n}</T>`).join('')}</TN>`;
  };
  for (let i = 0; i < count; i++) {
    const first = ['Alice', 'Bob', 'Chen', 'Dana', 'Eve', 'Femi', 'Gus', 'Hana'][i % 8]!;
    const last = ['Smith', 'Okafor', 'Nguyen', 'Garcia', 'Kowalski', 'Tanaka'][i % 6]!;
    const alias = `${first.toLowerCase()}.${last.toLowerCase()}${i}`;
    const dn = `CN=${first} ${last} ${i},OU=Users,OU=Contoso,DC=contoso,DC=com`;
    const mb = Math.floor(r() * 50_000);
    const p: string[] = [];
    p.push(
      `<S N="Name">${first} ${last} ${i}</S><S N="Alias">${alias}</S><S N="DisplayName">${first} ${last} (${i})</S>`,
    );
    p.push(
      `<S N="PrimarySmtpAddress">${alias}@contoso.com</S><S N="UserPrincipalName">${alias}@contoso.com</S>`,
    );
    p.push(
      `<S N="DistinguishedName">${dn}</S><S N="Identity">contoso.com/Contoso/Users/${first} ${last} ${i}</S>`,
    );
    p.push(`<G N="Guid">${guid(r)}</G><G N="ExchangeGuid">${guid(r)}</G><G N="DatabaseGuid">${guid(r)}</G>`);
    p.push(
      `<S N="Database">DB${(i % 12) + 1}</S><S N="ServerName">EXCH0${(i % 4) + 1}</S><S N="Office">Building ${i % 9}</S>`,
    );
    p.push(`<S N="ProhibitSendQuota">${mb} MB (${(mb * 1048576).toLocaleString('en-US')} bytes)</S>`);
    p.push(`<S N="ProhibitSendReceiveQuota">Unlimited</S><S N="IssueWarningQuota">Unlimited</S>`);
    p.push(
      `<Obj N="RecipientTypeDetails" RefId="${refId++}">${tn(['Deserialized.Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails', 'Deserialized.System.Enum', 'Deserialized.System.ValueType', 'Deserialized.System.Object'])}<ToString>UserMailbox</ToString><I64>1</I64></Obj>`,
    );
    p.push(
      `<Obj N="EmailAddresses" RefId="${refId++}">${tn(['Deserialized.Microsoft.Exchange.Data.ProxyAddressCollection', 'Deserialized.Microsoft.Exchange.Data.MultiValuedPropertyBase', 'Deserialized.System.Object'])}<LST><S>SMTP:${alias}@contoso.com</S><S>smtp:${alias}@contoso.mail.onmicrosoft.com</S><S>X500:/o=Contoso/ou=Exchange/cn=Recipients/cn=${alias}</S></LST></Obj>`,
    );
    p.push(
      `<Obj N="OrganizationalUnit" RefId="${refId++}">${tn(['Deserialized.Microsoft.Exchange.Data.Directory.ADObjectId', 'Deserialized.Microsoft.Exchange.Data.ObjectId', 'Deserialized.System.Object'])}<ToString>contoso.com/Contoso/Users</ToString><Props><S N="DistinguishedName">OU=Users,OU=Contoso,DC=contoso,DC=com</S><S N="Name">Users</S><G N="ObjectGuid">${guid(r)}</G><I32 N="Depth">4</I32><B N="IsDeleted">false</B></Props></Obj>`,
    );
    p.push(
      `<DT N="WhenCreated">2021-0${(i % 9) + 1}-1${i % 10}T0${i % 10}:12:34.5678901-07:00</DT><DT N="WhenChanged">2024-01-0${(i % 9) + 1}T10:11:12Z</DT>`,
    );
    p.push(
      `<I32 N="ItemCount">${Math.floor(r() * 100000)}</I32><I64 N="TotalItemSizeBytes">${Math.floor(r() * 2 ** 40)}</I64>`,
    );
    for (const b of [
      'HiddenFromAddressListsEnabled',
      'LitigationHoldEnabled',
      'SingleItemRecoveryEnabled',
      'RetainDeletedItemsUntilBackup',
      'IsShared',
      'IsResource',
      'IsLinked',
      'UseDatabaseQuotaDefaults',
      'DeliverToMailboxAndForward',
      'MessageCopyForSentAsEnabled',
    ]) {
      p.push(`<B N="${b}">${r() < 0.5}</B>`);
    }
    for (let k = 0; k < 20; k++)
      p.push(`<S N="CustomAttribute${k + 1}">${k % 3 === 0 ? `value-${i}-${k}` : ''}</S>`);
    p.push(
      `<Nil N="ForwardingAddress" /><Nil N="ForwardingSmtpAddress" /><S N="RetainDeletedItemsFor">14.00:00:00</S>`,
    );
    p.push(
      `<I32 N="MaxSendSize">${35 * 1024}</I32><I32 N="MaxReceiveSize">${36 * 1024}</I32><Db N="QuotaRatio">${r().toFixed(6)}</Db>`,
    );
    out.push(
      `<Obj RefId="${refId++}">${tn(TN_MAILBOX)}<ToString>${first} ${last} ${i}</ToString><Props>${p.join('')}</Props>` +
        `<MS><S N="PSComputerName">exch01.contoso.com</S><G N="RunspaceId">8cd61acc-b305-4a5a-b976-53af96710d8e</G><B N="PSShowComputerName">false</B></MS></Obj>`,
    );
  }
  out.push('</Objs>');
  return out.join('');
}
