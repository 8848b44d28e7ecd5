# Builds the Windows installers of cpclient on a Windows build machine (not tested in CI: CI runs
# Linux and validates cpclient.wxs with wixl instead; see packaging/README.md).
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1 [-TrainingKit] [-SignWith <thumbprint>]
#
# Needs: 64-bit Python 3.11 or later on PATH (python.org installer), the WiX Toolset 3.14 (candle,
# light, heat on PATH, or WIX set to its folder), and for signing the Windows SDK's signtool.
# Writes dist\windows\ContactPoint-<version>.msi (or ContactPoint-Training-<version>.msi) and, beside
# it, policy\cpclient.admx and policy\en-US\cpclient.adml for the domain's Group Policy central store.
param(
    [switch]$TrainingKit,
    [string]$SignWith = ""
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest
$Root = (Resolve-Path "$PSScriptRoot\..\..").Path
Set-Location $Root

function Run([string]$Exe, [string[]]$Arguments) {
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe failed with exit code $LASTEXITCODE" }
}
function Tool([string]$Name) {
    if ($env:WIX) { return Join-Path $env:WIX "bin\$Name.exe" }
    return $Name
}

# 1. A clean virtual environment with the pinned packager (pyproject.toml, extra "bundle").
if (-not (Test-Path .venv-windows)) { Run python @("-m", "venv", ".venv-windows") }
$Python = Join-Path $Root ".venv-windows\Scripts\python.exe"
Run $Python @("-m", "pip", "install", "--quiet", "--upgrade", "pip")
Run $Python @("-m", "pip", "install", "--quiet", ".[bundle]")
$Version = (& $Python -c "import importlib.metadata as m; print(m.version('contactpoint'))").Trim()

# 2. The one-folder bundle (PyInstaller), then the icons.
if ($TrainingKit) {
    $Name = "cpclient-training"; $Product = "ContactPoint-Training"; $What = "training-kit"
    $Defines = @("-dFlavour=training-kit")
} else {
    $Name = "cpclient"; $Product = "ContactPoint"; $What = "bundle"
    $Defines = @("-dFlavour=live")
}
Run $Python @("packaging\build.py", $What, "--dist", "dist")
Run $Python @("packaging\build.py", "icons", "--out", "build\icons")
$Bundle = Join-Path $Root "dist\$Name"
$MainExe = "$Name.exe"

# 3. Sign the program before it is packed, so the installed .exe carries the signature too.
if ($SignWith) {
    Run signtool @("sign", "/sha1", $SignWith, "/fd", "SHA256", "/td", "SHA256", "/tr",
                   "http://timestamp.digicert.com", (Join-Path $Bundle $MainExe))
}

# 4. Harvest the bundle's files (all but the program itself), compile, link.
$Work = Join-Path $Root "build\wix-$Name"
New-Item -ItemType Directory -Force $Work | Out-Null
Run (Tool "heat") @("dir", $Bundle, "-nologo", "-cg", "BundleFiles", "-dr", "INSTALLFOLDER", "-gg", "-sfrag",
                    "-srd", "-sreg", "-scom", "-var", "var.BundleDir", "-t",
                    "packaging\windows\exclude-main-exe.xslt", "-out", "$Work\bundle-files.wxs")
$Variables = @("-dVersion=$Version", "-dBundleDir=$Bundle", "-dMainExe=$MainExe",
               "-dMainExeSource=$(Join-Path $Bundle $MainExe)", "-dIconFile=$Root\build\icons\$Name.ico",
               "-dPolicyDir=$Root\packaging\policy") + $Defines
Run (Tool "candle") (@("-nologo", "-arch", "x64", "-out", "$Work\") + $Variables +
                     @("packaging\windows\cpclient.wxs", "$Work\bundle-files.wxs"))
$Out = Join-Path $Root "dist\windows"
New-Item -ItemType Directory -Force $Out | Out-Null
$Msi = Join-Path $Out "$Product-$Version.msi"
# ICE38/ICE43/ICE57: the Start menu shortcut's component has an HKLM key path. These checks assume a
# per-user shortcut; this package is per-machine only (ALLUSERS=1), so its shortcut is all-users.
Run (Tool "light") @("-nologo", "-sice:ICE38", "-sice:ICE43", "-sice:ICE57", "-out", $Msi,
                     "$Work\cpclient.wixobj", "$Work\bundle-files.wixobj")
if ($SignWith) {
    Run signtool @("sign", "/sha1", $SignWith, "/fd", "SHA256", "/td", "SHA256", "/tr",
                   "http://timestamp.digicert.com", "/d", $Product, $Msi)
}

# 5. The Group Policy templates beside the MSI, for the central store.
New-Item -ItemType Directory -Force "$Out\policy\en-US" | Out-Null
Copy-Item "packaging\policy\cpclient.admx" "$Out\policy\cpclient.admx" -Force
Copy-Item "packaging\policy\en-US\cpclient.adml" "$Out\policy\en-US\cpclient.adml" -Force
Write-Host "Built $Msi"
Write-Host "Install silently (as an administrator): msiexec /i `"$Msi`" /qn /l*v install.log"
