"""The Windows installer's WiX source, validated by building a test MSI with wixl (msitools).

The MSI wixl builds from packaging/windows/cpclient.wxs (with the Linux bundle's files in place of the
Windows ones) is read back table by table: a per-machine install into Program Files, with an upgrade
code, no permissions granted on the install folder, and the Group Policy templates shipped with it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.packaging.conftest import _needed

ROOT = Path(__file__).resolve().parents[2]
WXS = ROOT / "packaging" / "windows" / "cpclient.wxs"
LIVE_UPGRADE_CODE = "{D19C0E0E-8284-4D63-A582-C19A7D4E58B8}"


def _table(msi: Path, name: str) -> list[list[str]]:
    if shutil.which("msiinfo") is None:
        _needed("msiinfo is missing", "packaging/linux/install-system-packages installs msitools")
    text = subprocess.run(
        ["msiinfo", "export", str(msi), name], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return [line.split("\t") for line in text.splitlines()[3:]]  # after the three header lines


def test_the_wix_source_is_per_machine_with_fixed_upgrade_codes():
    text = WXS.read_text()
    assert 'InstallScope="perMachine"' in text and 'InstallPrivileges="elevated"' in text
    codes = re.findall(r'UpgradeCode = "([0-9A-F-]{36})"', text)
    assert len(codes) == 2 and len(set(codes)) == 2  # the live client and the training kit differ
    # Nothing grants anyone rights on the install folder.
    assert "Permission" not in re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    ElementTree.fromstring(re.sub(r"<\?.*?\?>", "", text))  # well-formed once preprocessed away


@pytest.mark.packaging
@pytest.mark.slow
def test_the_test_msi_installs_per_machine_into_program_files(dist):
    msi = dist / "cpclient-wixl-test.msi"
    assert msi.is_file(), "make msi-check builds it"
    properties = dict((row[0], row[1]) for row in _table(msi, "Property") if len(row) >= 2)
    assert properties["ALLUSERS"] == "1"
    assert properties["UpgradeCode"] == LIVE_UPGRADE_CODE
    assert properties["ProductName"] == "ContactPoint"
    upgrades = _table(msi, "Upgrade")
    assert {row[0] for row in upgrades} == {LIVE_UPGRADE_CODE}
    directories = {row[0]: row for row in _table(msi, "Directory")}
    assert directories["INSTALLFOLDER"][1] == "ProgramFiles64Folder"
    assert directories["INSTALLFOLDER"][2].split("|")[-1] == "ContactPoint"
    tables = subprocess.run(
        ["msiinfo", "tables", str(msi)], capture_output=True, text=True, check=True
    ).stdout
    assert "LockPermissions" not in tables and "MsiLockPermissionsEx" not in tables
    files = {row[2].split("|")[-1] for row in _table(msi, "File")}
    assert {"cpclient.admx", "cpclient.adml", "cpclient-policy.reg", "cpclient"} <= files
    assert not [name for name in files if "printsupport" in name.lower()]
    shortcuts = _table(msi, "Shortcut")
    assert [row[4] for row in shortcuts] == ["[INSTALLFOLDER]cpclient"]
