"""The Debian packages: their contents, and install → smoke test → remove on this machine (root).

`cpclient` puts the live bundle in /opt/cpclient with a desktop entry and an empty /etc/cpclient for
the managed policy; `cpclient-training` puts the training kit in /opt/cpclient-training.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import _needed

pytestmark = [pytest.mark.packaging, pytest.mark.slow]

QT_RUNTIME_PACKAGES = Path(__file__).resolve().parents[2] / "packaging" / "linux" / "qt-runtime-packages.txt"


def qt_runtime_packages() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in QT_RUNTIME_PACKAGES.read_text().splitlines())
    return [line for line in lines if line]


def _deb(dist: Path, name: str) -> Path:
    found = sorted(dist.glob(f"{name}_*_amd64.deb"))
    assert found, f"no {name} package in {dist}"
    return found[-1]


def _dpkg_deb(*args: str) -> str:
    return subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, check=True, timeout=300).stdout


def _installed(name: str) -> bool:
    done = subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True, check=False, timeout=60
    )
    return "install ok installed" in done.stdout


@pytest.fixture
def root_with_dpkg() -> None:
    if os.geteuid() != 0 or shutil.which("dpkg") is None:
        _needed("installing a Debian package needs root and dpkg", "CI runs as root")


@pytest.mark.parametrize(
    ("name", "title"), [("cpclient", "ContactPoint"), ("cpclient-training", "ContactPoint Training")]
)
def test_the_package_layout(dist, tmp_path, name, title):
    deb = _deb(dist, name)
    fields = _dpkg_deb("--field", str(deb))
    assert f"Package: {name}" in fields and "Architecture: amd64" in fields
    depends = next(line for line in fields.splitlines() if line.startswith("Depends:"))
    for package in ("libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libxkbcommon-x11-0"):
        assert package in depends
    assert sorted(qt_runtime_packages()) == sorted(part.strip() for part in depends[9:].split(","))
    contents = _dpkg_deb("--contents", str(deb))
    for path in (
        f"./opt/{name}/{name}",
        f"./opt/{name}/_internal/distribution.json",
        f"./usr/share/applications/{name}.desktop",
        f"./usr/share/doc/{name}/README.Debian",
        "./etc/cpclient/",
    ):
        assert path in contents, path
    assert "root/root" in contents and "printsupport" not in contents.lower()
    assert "./etc/cpclient/policy.json" not in contents  # the service desk's to write
    _dpkg_deb("--extract", str(deb), str(tmp_path))
    desktop = tmp_path / "usr" / "share" / "applications" / f"{name}.desktop"
    assert f"Name={title}\n" in desktop.read_text()
    if shutil.which("desktop-file-validate"):
        done = subprocess.run(
            ["desktop-file-validate", str(desktop)], capture_output=True, text=True, check=False
        )
        assert done.returncode == 0 and not done.stdout.strip(), done.stdout
    readme = (tmp_path / "usr" / "share" / "doc" / name / "README.Debian").read_text()
    assert "/etc/cpclient/policy.json" in readme and "training_allowed" in readme
    # Users can run the program, not change it.
    program = tmp_path / "opt" / name / name
    assert program.stat().st_mode & 0o777 == 0o755


def _install_run_remove(name: str, deb: Path, run_client, argv: list[str], policy) -> None:
    if _installed(name):
        pytest.skip(f"{name} is already installed on this machine: not replacing it")
    subprocess.run(["dpkg", "--install", str(deb)], check=True, capture_output=True, timeout=600)
    try:
        assert Path(f"/opt/{name}/{name}").is_file()
        assert os.readlink(f"/usr/bin/{name}") == f"/opt/{name}/{name}"
        done = run_client([f"/usr/bin/{name}", *argv], policy=policy)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "signed in as demo.practitioner" in done.stdout
    finally:
        subprocess.run(["dpkg", "--purge", name], check=True, capture_output=True, timeout=600)
    assert not Path(f"/opt/{name}").exists()
    assert not Path(f"/usr/share/applications/{name}.desktop").exists()


def test_install_smoke_test_and_remove_the_live_client(dist, root_with_dpkg, run_client, training_server):
    _install_run_remove(
        "cpclient",
        _deb(dist, "cpclient"),
        run_client,
        ["--smoke-test", "--training", "--server", training_server],
        {"training_allowed": True},
    )


def test_install_smoke_test_and_remove_the_training_kit(dist, root_with_dpkg, run_client):
    _install_run_remove(
        "cpclient-training", _deb(dist, "cpclient-training"), run_client, ["--smoke-test"], None
    )
