# The lab's fake Exchange organisation: Exchange-like cmdlets over a deterministic, seeded set of
# mailboxes, with Exchange's type names and Partial-serialization value shapes (sizes as
# ByteQuantifiedSize text, 'Unlimited', SMTP:/smtp: proxy addresses, canonical-name identities).
# Mutations (Set-Mailbox) are stored as JSON overrides in $env:LAB_STATE_DIR so every shell of the
# same lab sees them. A test double for psrp, not Exchange.

$script:Count = if ($env:LAB_MAILBOX_COUNT) { [int]$env:LAB_MAILBOX_COUNT } else { 2000 }
$script:StateDir = $env:LAB_STATE_DIR
$script:Domain = 'contoso.com'
$script:First = 'Alice','Bob','Chen','Dana','Eve','Femi','Gus','Hana','Ivan','Jade','Kofi','Lena','Mateo','Nora','Omar','Priya','Quinn','Rosa','Sven','Tara'
$script:Last = 'Smith','Okafor','Nguyen','Garcia','Kowalski','Tanaka','Muller','Silva','Haddad','Johansson','Rossi','Kim','Dubois','Novak','Ahmed','Brown','Costa','Evans','Fischer','Ivanova','Lopez','Moreau','Patel','Sato','Weber'
$script:MailboxTypes = 'Microsoft.Exchange.Data.Directory.Management.Mailbox','Microsoft.Exchange.Data.Directory.Management.MailEnabledOrgPerson','Microsoft.Exchange.Data.Directory.Management.MailEnabledRecipient','Microsoft.Exchange.Data.Directory.Management.ADPresentationObject','Microsoft.Exchange.Data.Directory.ADObject','Microsoft.Exchange.Data.Directory.ADRawEntry','Microsoft.Exchange.Data.ConfigurableObject'
$script:DefaultResultSizeWarning = 'By default, only the first {0} items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify "-ResultSize Unlimited". Be aware that, depending upon the actual number of items, returning all items can take a long time and consume a large amount of memory. Also, we don''t recommend storing the results in a variable. Instead, pipe the results to another task or script to perform batch operations.'

function Format-LabSize([long]$bytes) {
  $units = @(@('PB', 1PB), @('TB', 1TB), @('GB', 1GB), @('MB', 1MB), @('KB', 1KB))
  $grouped = $bytes.ToString('N0', [Globalization.CultureInfo]::InvariantCulture)
  foreach ($u in $units) {
    if ($bytes -ge $u[1]) {
      $v = [Math]::Round($bytes / $u[1], 1, [MidpointRounding]::AwayFromZero)
      return ('{0} {1} ({2} bytes)' -f $v.ToString([Globalization.CultureInfo]::InvariantCulture), $u[0], $grouped)
    }
  }
  return "$bytes B ($grouped bytes)"
}

function New-LabGuid([int]$i, [int]$salt) {
  $b = [byte[]]::new(16)
  [BitConverter]::GetBytes([int]$i).CopyTo($b, 0)
  [BitConverter]::GetBytes([int]$salt).CopyTo($b, 4)
  [BitConverter]::GetBytes([int](([long]$i * 7919 + [long]$salt * 104729) % 2147483647)).CopyTo($b, 8)
  [BitConverter]::GetBytes([int]($i -bxor 0x5bd1e995)).CopyTo($b, 12)
  [guid]::new($b)
}

function Get-LabOverrides {
  $o = @{}
  if ($script:StateDir -and (Test-Path -LiteralPath $script:StateDir)) {
    foreach ($f in Get-ChildItem -LiteralPath $script:StateDir -Filter '*.json') {
      $o[$f.BaseName] = Get-Content -LiteralPath $f.FullName -Raw | ConvertFrom-Json -AsHashtable
    }
  }
  $o
}

# Mailboxes made with New-Mailbox (not removed since).
function Get-LabNewMailboxes([hashtable]$overrides) {
  foreach ($k in @($overrides.Keys | Where-Object { $_ -like 'new.*' } | Sort-Object)) {
    $n = $overrides[$k]
    if ($overrides.ContainsKey("removed.$($n.Alias)")) { continue }
    $m = [pscustomobject][ordered]@{ Name = $n.Name; Alias = $n.Alias; DisplayName = $n.DisplayName; Identity = "$($script:Domain)/Users/$($n.Name)"
      DistinguishedName = "CN=$($n.Name),CN=Users,DC=contoso,DC=com"; Guid = New-LabGuid $n.Alias.GetHashCode() 3
      PrimarySmtpAddress = $n.PrimarySmtpAddress; UserPrincipalName = $n.PrimarySmtpAddress; EmailAddresses = [string[]]@("SMTP:$($n.PrimarySmtpAddress)")
      RecipientTypeDetails = $n.RecipientTypeDetails; Database = 'DB1'; ProhibitSendQuota = 'Unlimited'; ProhibitSendReceiveQuota = 'Unlimited'
      HiddenFromAddressListsEnabled = $false; Department = ''; Office = '' }
    for ($t = $script:MailboxTypes.Count - 1; $t -ge 0; $t--) { $m.PSObject.TypeNames.Insert(0, $script:MailboxTypes[$t]) }
    $m
  }
}

function New-LabMailbox([int]$i, [hashtable]$overrides) {
  $first = $script:First[$i % $script:First.Count]
  $last = $script:Last[[Math]::Floor($i / $script:First.Count) % $script:Last.Count]
  $suffix = if ($i -ge $script:First.Count * $script:Last.Count) { " $i" } else { '' }
  $name = "$first $last$suffix"
  $alias = ("$first.$last" + $suffix.Trim()).ToLowerInvariant()
  $mb = (($i * 7919) % 50000) + 1
  $quota = if ($i % 10 -eq 0) { 'Unlimited' } else { Format-LabSize ([long](49.5 * 1GB)) }
  $o = [ordered]@{
    Name = $name; Alias = $alias; DisplayName = $name
    Identity = "$($script:Domain)/Users/$name"; DistinguishedName = "CN=$name,CN=Users,DC=contoso,DC=com"
    Guid = New-LabGuid $i 1; ExchangeGuid = New-LabGuid $i 2
    PrimarySmtpAddress = "$alias@$($script:Domain)"; UserPrincipalName = "$alias@$($script:Domain)"
    EmailAddresses = [string[]]@("SMTP:$alias@$($script:Domain)", "smtp:$alias@contoso.mail.onmicrosoft.com", "smtp:$($alias.Replace('.', ''))@$($script:Domain)")
    RecipientTypeDetails = if ($i % 50 -eq 49) { 'SharedMailbox' } elseif ($i % 97 -eq 96) { 'RoomMailbox' } else { 'UserMailbox' }
    Database = "DB$(($i % 8) + 1)"; ServerName = "EXCH0$(($i % 2) + 1)"; OrganizationalUnit = "$($script:Domain)/Users"
    ProhibitSendQuota = $quota; ProhibitSendReceiveQuota = 'Unlimited'; IssueWarningQuota = Format-LabSize ([long]$mb * 1MB)
    RetainDeletedItemsFor = '14.00:00:00'; UseDatabaseQuotaDefaults = ($i % 3 -eq 0); HiddenFromAddressListsEnabled = $false
    LitigationHoldEnabled = ($i % 17 -eq 0); WhenCreated = [datetime]::new(2020, 1, 1, 0, 0, 0, [DateTimeKind]::Utc).AddHours($i * 5)
    Office = "Building $($i % 9)"; Department = ('Sales','IT','Finance','Legal','Support')[$i % 5]; CustomAttribute1 = ''
  }
  $ov = $overrides[$alias]
  if ($ov) { foreach ($k in $ov.Keys) { $o[$k] = $ov[$k] } }
  $obj = [pscustomobject]$o
  for ($t = $script:MailboxTypes.Count - 1; $t -ge 0; $t--) { $obj.PSObject.TypeNames.Insert(0, $script:MailboxTypes[$t]) }
  $obj
}

# Generated mailbox index by Name, Alias, SMTP address (also the UPN), Identity and DN, built once
# per shell on the first -Identity lookup, so a lookup builds one mailbox instead of every mailbox
# before it. Keys are case-insensitive, as identity matching is. Anything else (GUIDs, mailboxes made
# with New-Mailbox, unknown names) still goes through the full scan.
$script:IdentityIndex = $null
function Get-LabIdentityIndex {
  if ($null -eq $script:IdentityIndex) {
    $ix = [System.Collections.Generic.Dictionary[string, int]]::new([StringComparer]::OrdinalIgnoreCase)
    $nf = $script:First.Count; $nl = $script:Last.Count
    for ($i = 0; $i -lt $script:Count; $i++) {
      $first = $script:First[$i % $nf]; $last = $script:Last[[Math]::Floor($i / $nf) % $nl]
      $suffix = if ($i -ge $nf * $nl) { " $i" } else { '' }
      $name = "$first $last$suffix"
      $alias = ("$first.$last" + $suffix.Trim()).ToLowerInvariant()
      foreach ($k in $name, $alias, "$alias@$($script:Domain)", "$($script:Domain)/Users/$name", "CN=$name,CN=Users,DC=contoso,DC=com") { $ix[$k] = $i }
    }
    $script:IdentityIndex = $ix
  }
  $script:IdentityIndex
}

function Test-LabIdentity($m, [string]$identity) {
  $id = $identity.Trim()
  return ($m.Name -eq $id -or $m.Alias -eq $id -or $m.PrimarySmtpAddress -eq $id -or $m.DistinguishedName -eq $id -or
          $m.Identity -eq $id -or "$($m.Guid)" -eq $id -or $m.UserPrincipalName -eq $id)
}

# A small OPATH subset: Property -eq|-ne|-like|-notlike 'value' [-and|-or ...]
function Test-LabFilter($m, [string]$filter) {
  $clauses = [regex]::Split($filter, '\s+-(and|or)\s+', 'IgnoreCase')
  $result = $null; $op = 'and'
  for ($c = 0; $c -lt $clauses.Count; $c++) {
    if ($c % 2 -eq 1) { $op = $clauses[$c].ToLowerInvariant(); continue }
    if ($clauses[$c] -notmatch "^\s*\(?\s*(\w+)\s+-(eq|ne|like|notlike)\s+['""]([^'""]*)['""]\s*\)?\s*$") {
      throw [ArgumentException]::new("Invalid filter syntax: '$filter'")
    }
    $v = "$($m.($Matches[1]))"
    $ok = switch ($Matches[2].ToLowerInvariant()) { 'eq' { $v -eq $Matches[3] } 'ne' { $v -ne $Matches[3] } 'like' { $v -like $Matches[3] } 'notlike' { $v -notlike $Matches[3] } }
    $result = if ($null -eq $result) { $ok } elseif ($op -eq 'and') { $result -and $ok } else { $result -or $ok }
  }
  return [bool]$result
}

function Write-LabNotFound($cmdlet, [string]$identity, [string]$task) {
  $ex = [Exception]::new("The operation couldn't be performed because object '$identity' couldn't be found on 'DC01.contoso.com'.")
  $id = "[Server=EXCH01,RequestId=$([guid]::NewGuid()),TimeStamp=$([datetime]::UtcNow.ToString('M/d/yyyy h:mm:ss tt', [Globalization.CultureInfo]::InvariantCulture))] [FailureCategory=Cmdlet-ManagementObjectNotFoundException] 1082ECE3,Microsoft.Exchange.Management.RecipientTasks.$task"
  $cmdlet.WriteError([Management.Automation.ErrorRecord]::new($ex, $id, [Management.Automation.ErrorCategory]::ObjectNotFound, $identity))
}

function Get-Mailbox {
  [CmdletBinding(DefaultParameterSetName = 'Identity')]
  param(
    [Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity,
    [object]$ResultSize = 1000,
    [string]$Filter,
    [string]$Database,
    [switch]$IgnoreDefaultScope
  )
  process {
    $overrides = Get-LabOverrides
    if ($Identity) {
      $hit = 0
      if ((Get-LabIdentityIndex).TryGetValue($Identity.Trim(), [ref]$hit)) {
        $m = New-LabMailbox $hit $overrides
        if (-not $overrides.ContainsKey("removed.$($m.Alias)") -and (Test-LabIdentity $m $Identity)) { $m; return }
      }
      for ($i = 0; $i -lt $script:Count; $i++) {
        $m = New-LabMailbox $i $overrides
        if (-not $overrides.ContainsKey("removed.$($m.Alias)") -and (Test-LabIdentity $m $Identity)) { $m; return }
      }
      foreach ($m in Get-LabNewMailboxes $overrides) { if (Test-LabIdentity $m $Identity) { $m; return } }
      Write-LabNotFound $PSCmdlet $Identity 'GetMailbox'
      return
    }
    $limit = if ("$ResultSize" -eq 'Unlimited') { [int]::MaxValue } else { [int]"$ResultSize" }
    $explicit = $PSBoundParameters.ContainsKey('ResultSize')
    $state = @{ n = 0; stop = $false }
    # Streams: each mailbox is built and emitted in turn, never all at once.
    $consider = {
      param($m)
      if ($Filter -and -not (Test-LabFilter $m $Filter)) { return }
      if ($Database -and $m.Database -ne $Database) { return }
      if ($state.n -ge $limit) {
        if (-not $explicit) { Write-Warning ($script:DefaultResultSizeWarning -f $limit) }
        $state.stop = $true
        return
      }
      $m
      $state.n++
    }
    for ($i = 0; $i -lt $script:Count -and -not $state.stop; $i++) {
      # Progress as Exchange shows it on long reads (what `psrp exec` draws as a bar).
      if ($i % 250 -eq 0 -and $script:Count -ge 500) {
        Write-Progress -Activity 'Get-Mailbox' -Status "Scanned $i of $($script:Count) mailboxes" -PercentComplete ([int](100 * $i / $script:Count))
      }
      $m = New-LabMailbox $i $overrides
      if (-not $overrides.ContainsKey("removed.$($m.Alias)")) { & $consider $m }
    }
    foreach ($m in Get-LabNewMailboxes $overrides) {
      if ($state.stop) { break }
      & $consider $m
    }
    if ($script:Count -ge 500) { Write-Progress -Activity 'Get-Mailbox' -Completed }
  }
}

function Get-Recipient {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity, [object]$ResultSize = 1000, [string]$Filter)
  process {
    Get-Mailbox @PSBoundParameters | ForEach-Object {
      $r = $_ | Microsoft.PowerShell.Utility\Select-Object Name, Alias, DisplayName, PrimarySmtpAddress, EmailAddresses, RecipientTypeDetails, Identity, Guid
      $r.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Data.Directory.Management.ReducedRecipient')
      $r
    }
  }
}

function Set-Mailbox {
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'Medium')]
  param(
    [Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity,
    [string]$DisplayName,
    [bool]$HiddenFromAddressListsEnabled,
    [string]$Office,
    [string]$CustomAttribute1,
    [string]$ProhibitSendQuota
  )
  process {
    $m = Get-Mailbox -Identity $Identity -ErrorAction SilentlyContinue
    if (-not $m) { Write-LabNotFound $PSCmdlet $Identity 'SetMailbox'; return }
    if (-not $PSCmdlet.ShouldProcess($m.Identity, 'Set-Mailbox')) { return }
    if (-not $script:StateDir) { throw 'LAB_STATE_DIR is not set' }
    $file = Join-Path $script:StateDir "$($m.Alias).json"
    $o = if (Test-Path -LiteralPath $file) { Get-Content -LiteralPath $file -Raw | ConvertFrom-Json -AsHashtable } else { @{} }
    foreach ($k in 'DisplayName', 'HiddenFromAddressListsEnabled', 'Office', 'CustomAttribute1', 'ProhibitSendQuota') {
      if ($PSBoundParameters.ContainsKey($k)) { $o[$k] = $PSBoundParameters[$k] }
    }
    $o | ConvertTo-Json | Set-Content -LiteralPath $file
  }
}

function New-Mailbox {
  [CmdletBinding(SupportsShouldProcess)]
  param([Parameter(Mandatory)][string]$Name, [string]$Alias, [string]$DisplayName, [string]$PrimarySmtpAddress, [securestring]$Password, [switch]$Shared)
  if (-not $script:StateDir) { throw 'LAB_STATE_DIR is not set' }
  if (-not $Alias) { $Alias = ($Name -replace '\s+', '.').ToLowerInvariant() }
  if (Get-Mailbox -Identity $Alias -ErrorAction SilentlyContinue) {
    $ex = [InvalidOperationException]::new("The name '$Name' is already being used. Please try another name.")
    $PSCmdlet.WriteError([Management.Automation.ErrorRecord]::new($ex, "[Server=EXCH01] [FailureCategory=Cmdlet-ADObjectAlreadyExistsException] Microsoft.Exchange.Management.RecipientTasks.NewMailbox", 'ResourceExists', $Name))
    return
  }
  if (-not $PSCmdlet.ShouldProcess($Name, 'New-Mailbox')) { return }
  $record = [ordered]@{ Name = $Name; Alias = $Alias; DisplayName = $(if ($DisplayName) { $DisplayName } else { $Name })
    PrimarySmtpAddress = $(if ($PrimarySmtpAddress) { $PrimarySmtpAddress } else { "$Alias@$($script:Domain)" })
    RecipientTypeDetails = $(if ($Shared) { 'SharedMailbox' } else { 'UserMailbox' }) }
  $record | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $script:StateDir "new.$Alias.json")
  Get-Mailbox -Identity $Alias
}

function Remove-Mailbox {
  [CmdletBinding(SupportsShouldProcess, ConfirmImpact = 'High')]
  param([Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity)
  process {
    $m = Get-Mailbox -Identity $Identity -ErrorAction SilentlyContinue
    if (-not $m) { Write-LabNotFound $PSCmdlet $Identity 'RemoveMailbox'; return }
    if (-not $PSCmdlet.ShouldProcess($m.Identity, 'Remove-Mailbox')) { return }
    Set-Content -LiteralPath (Join-Path $script:StateDir "removed.$($m.Alias).json") -Value '{}'
    Remove-Item -LiteralPath (Join-Path $script:StateDir "new.$($m.Alias).json") -ErrorAction SilentlyContinue
  }
}

function Get-DistributionGroup {
  [CmdletBinding()]
  param([Parameter(Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity, [object]$ResultSize = 1000)
  process {
    foreach ($d in 'Sales', 'IT', 'Finance', 'Legal', 'Support') {
      $g = [pscustomobject][ordered]@{ Name = "DL-$d"; Alias = "dl-$($d.ToLowerInvariant())"; DisplayName = "$d Team"
        PrimarySmtpAddress = "dl-$($d.ToLowerInvariant())@$($script:Domain)"; Identity = "$($script:Domain)/Groups/DL-$d"
        GroupType = 'Universal'; RecipientTypeDetails = 'MailUniversalDistributionGroup'; ManagedBy = [string[]]@("$($script:Domain)/Users/Alice Smith") }
      $g.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Data.Directory.Management.DistributionGroup')
      if (-not $Identity -or $Identity -in $g.Name, $g.Alias, $g.PrimarySmtpAddress, $g.Identity, $g.DisplayName) { $g }
    }
  }
}

function Get-DistributionGroupMember {
  [CmdletBinding()]
  param([Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity, [object]$ResultSize = 1000)
  process {
    $g = Get-DistributionGroup -Identity $Identity
    if (-not $g) { Write-LabNotFound $PSCmdlet $Identity 'GetDistributionGroupMember'; return }
    $dept = $g.Name.Substring(3)
    Get-Recipient -ResultSize $ResultSize -Filter "Department -eq '$dept'" -WarningAction SilentlyContinue
  }
}

function Get-MailboxStatistics {
  [CmdletBinding()]
  param([Parameter(Mandatory, Position = 0, ValueFromPipeline, ValueFromPipelineByPropertyName)][string]$Identity)
  process {
    $m = Get-Mailbox -Identity $Identity -ErrorAction SilentlyContinue
    if (-not $m) { Write-LabNotFound $PSCmdlet $Identity 'GetMailboxStatistics'; return }
    $i = [Math]::Abs($m.Guid.GetHashCode())
    $s = [pscustomobject][ordered]@{
      DisplayName = $m.DisplayName; ItemCount = $i % 90000; TotalItemSize = Format-LabSize ([long]($i % 40000) * 1MB + 12345)
      TotalDeletedItemSize = Format-LabSize ([long]($i % 900) * 1KB); LastLogonTime = [datetime]::new(2024, 6, 1, 8, 0, 0, [DateTimeKind]::Utc).AddMinutes(-($i % 100000))
      Database = $m.Database; MailboxGuid = $m.ExchangeGuid
    }
    $s.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Management.MapiTasks.Presentation.MailboxStatistics')
    $s
  }
}

function Get-ExchangeServer {
  [CmdletBinding()]
  param([Parameter(Position = 0)][string]$Identity)
  foreach ($n in 1, 2) {
    $s = [pscustomobject][ordered]@{
      Name = "EXCH0$n"; Fqdn = "exch0$n.contoso.com"; Edition = 'StandardEvaluation'; AdminDisplayVersion = 'Version 15.2 (Build 1544.4)'
      ServerRole = 'Mailbox'; Site = 'contoso.com/Configuration/Sites/Default-First-Site-Name'; IsMailboxServer = $true
    }
    $s.PSObject.TypeNames.Insert(0, 'Microsoft.Exchange.Data.Directory.Management.ExchangeServer')
    if (-not $Identity -or $Identity -eq $s.Name -or $Identity -eq $s.Fqdn) { $s }
  }
}

Export-ModuleMember -Function Get-Mailbox, Get-Recipient, Set-Mailbox, New-Mailbox, Remove-Mailbox, Get-MailboxStatistics, Get-ExchangeServer, Get-DistributionGroup, Get-DistributionGroupMember
