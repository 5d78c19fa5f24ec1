#!/usr/bin/env bash
# Makes sure PowerShell 7 (pwsh) is available for the interop tests and the lab: idempotent.
set -euo pipefail
PWSH_VERSION=7.6.9
export PATH="$PATH:$HOME/.dotnet/tools"
if ! command -v pwsh >/dev/null 2>&1; then
  if ! command -v dotnet >/dev/null 2>&1; then
    echo "pwsh is missing and the .NET SDK (dotnet) is not installed to fetch it; install PowerShell 7 and put pwsh on PATH" >&2
    exit 1
  fi
  echo "installing PowerShell $PWSH_VERSION as a .NET global tool..." >&2
  dotnet tool install --global PowerShell --version "$PWSH_VERSION" >&2
fi
echo "pwsh: $(command -v pwsh) ($(pwsh -NoLogo -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'))" >&2
