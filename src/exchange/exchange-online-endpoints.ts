/**
 * The documented Exchange Online admin API (v2.0, Preview since November 2025): which cmdlet is
 * served by which endpoint, and the base URL of each cloud. From learn.microsoft.com
 * /exchange/reference/admin-api-endpoints-reference (and its per-endpoint pages) and
 * /exchange/reference/admin-api-get-started ("Supported environments and base URLs").
 */

/** The six documented v2.0 endpoints. */
export type ExchangeOnlineEndpoint =
  | 'OrganizationConfig'
  | 'AcceptedDomain'
  | 'Mailbox'
  | 'MailboxFolderPermission'
  | 'DistributionGroupMember'
  | 'DynamicDistributionGroupMember';

/** Cmdlet → the v2.0 endpoint that accepts it (admin-api-endpoints-*.md). */
export const EXCHANGE_ONLINE_V2_CMDLETS: Readonly<Record<string, ExchangeOnlineEndpoint>> = {
  'Get-OrganizationConfig': 'OrganizationConfig',
  'Get-AcceptedDomain': 'AcceptedDomain',
  'Get-Mailbox': 'Mailbox',
  'Set-Mailbox': 'Mailbox',
  'Get-MailboxFolderPermission': 'MailboxFolderPermission',
  'Add-MailboxFolderPermission': 'MailboxFolderPermission',
  'Set-MailboxFolderPermission': 'MailboxFolderPermission',
  'Remove-MailboxFolderPermission': 'MailboxFolderPermission',
  'Get-DistributionGroupMember': 'DistributionGroupMember',
  'Get-DynamicDistributionGroupMember': 'DynamicDistributionGroupMember',
};

/** The v2.0 endpoint for a cmdlet (case-insensitive), or undefined when none serves it. */
export function exchangeOnlineEndpoint(cmdlet: string): ExchangeOnlineEndpoint | undefined {
  const lower = cmdlet.toLowerCase();
  for (const [name, endpoint] of Object.entries(EXCHANGE_ONLINE_V2_CMDLETS)) {
    if (name.toLowerCase() === lower) return endpoint;
  }
  return undefined;
}

/** The canonical spelling of a cmdlet the v2.0 API serves (`get-mailbox` → `Get-Mailbox`). */
export function canonicalV2Cmdlet(cmdlet: string): string | undefined {
  const lower = cmdlet.toLowerCase();
  return Object.keys(EXCHANGE_ONLINE_V2_CMDLETS).find((n) => n.toLowerCase() === lower);
}

/** Clouds and their base URLs (admin-api-get-started, "Supported environments and base URLs"). */
export const EXCHANGE_ONLINE_CLOUDS = {
  /** Microsoft 365 and Microsoft 365 GCC. */
  global: 'https://outlook.office365.com',
  /** Microsoft 365 GCC High. */
  gccHigh: 'https://outlook.office365.us',
  /** Microsoft 365 DoD. */
  dod: 'https://outlook-dod.office365.us',
  /** Office 365 operated by 21Vianet. */
  china: 'https://outlook.office365.cn',
} as const;

export type ExchangeOnlineCloud = keyof typeof EXCHANGE_ONLINE_CLOUDS;
