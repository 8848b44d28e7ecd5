"""Builds cpclient's packages: the one-folder bundles, their Debian packages, and a test MSI.

    python packaging/build.py bundle        dist/cpclient/            the live client (PyInstaller)
    python packaging/build.py training-kit  dist/cpclient-training/   client + embedded training server
    python packaging/build.py deb           dist/cpclient_<v>_amd64.deb, dist/cpclient-training_<v>_amd64.deb
    python packaging/build.py msi-check     dist/cpclient-wixl-test.msi (wixl, from packaging/windows)
    python packaging/build.py icons --out DIR   the icons as PNG and ICO (the Windows build uses it)
    python packaging/build.py all           all of the above but the icons (make packaging-test)

`make bundle`, `make training-kit`, `make deb` and `make msi-check` call it; `packaging/README.md`
says what each package is. It needs the `bundle` extra (PyInstaller) for the bundles, and Debian's
dpkg-deb and wixl (msitools) for the other two. Each step prints how long it took.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "pyinstaller" / "cpclient.spec"
QT_RUNTIME_PACKAGES = PACKAGING / "linux" / "qt-runtime-packages.txt"


@dataclass(frozen=True)
class Product:
    """One of the two products built from the same code."""

    flavour: str  # cpclient.distribution.Flavour value
    name: str  # the executable, the bundle folder, the Debian package
    title: str  # what people see
    comment: str
    icon: str  # packaging/icons/<icon>.svg


LIVE = Product(
    "live",
    "cpclient",
    "ContactPoint",
    "Find out who else is working with a child, and how to contact them",
    "cpclient",
)
TRAINING_KIT = Product(
    "training-kit",
    "cpclient-training",
    "ContactPoint Training",
    "Practise ContactPoint on fictitious data (training only; never live records)",
    "cpclient-training",
)
PRODUCTS = {product.flavour: product for product in (LIVE, TRAINING_KIT)}


def version() -> str:
    """The project's version (from the installed metadata of pyproject.toml)."""
    return importlib.metadata.version("contactpoint")


def step(what: str, started: float) -> None:
    print(f"{what}: {time.monotonic() - started:.1f} s", flush=True)


# --- icons -------------------------------------------------------------------------------------------


def render_icons(out: Path, names: list[str]) -> None:
    """Render each packaging/icons/<name>.svg as <name>.png (256 px) and <name>.ico (PNG inside)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        renderer = QSvgRenderer(str(PACKAGING / "icons" / f"{name}.svg"))
        if not renderer.isValid():
            raise SystemExit(f"icon {name}.svg cannot be read")
        pngs: list[tuple[int, bytes]] = []
        for size in (256, 48, 32, 16):
            image = QImage(size, size, QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            renderer.render(painter)
            painter.end()
            data = QByteArray()
            buffer = QBuffer(data)
            buffer.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buffer, "PNG")  # type: ignore[call-overload]  # the stubs want bytes, Qt wants str
            pngs.append((size, bytes(data.data())))
        (out / f"{name}.png").write_bytes(pngs[0][1])
        (out / f"{name}.ico").write_bytes(ico_from_pngs(pngs))


def ico_from_pngs(pngs: list[tuple[int, bytes]]) -> bytes:
    """An ICO file holding PNG images (Windows Vista and later read these)."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    directory = b""
    for size, data in pngs:
        side = 0 if size >= 256 else size  # 0 means 256
        directory += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        offset += len(data)
    return header + directory + b"".join(data for _size, data in pngs)


# --- bundles -----------------------------------------------------------------------------------------


def build_bundle(product: Product, dist: Path) -> Path:
    """Run PyInstaller for one product; returns its folder in `dist`."""
    started = time.monotonic()
    extra = ROOT / "build" / f"extra-{product.name}"
    if extra.exists():
        shutil.rmtree(extra)
    extra.mkdir(parents=True)
    marker = {"flavour": product.flavour, "version": version()}
    (extra / "distribution.json").write_text(json.dumps(marker) + "\n", encoding="utf-8")
    render_icons(extra, [product.icon])
    if product.icon != product.name:
        (extra / f"{product.icon}.ico").rename(extra / f"{product.name}.ico")
    env = {**os.environ, "CPCLIENT_FLAVOUR": product.flavour, "CPCLIENT_BUILD_DIR": str(extra)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--log-level=WARN",
            "--distpath",
            str(dist),
            "--workpath",
            str(ROOT / "build" / f"pyinstaller-{product.name}"),
            str(SPEC),
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    folder = dist / product.name
    step(f"bundle {product.name} ({folder_size(folder) / 2**20:.0f} MiB)", started)
    return folder


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


# --- Debian packages ---------------------------------------------------------------------------------


def qt_runtime_packages() -> list[str]:
    """The Debian packages of the system libraries the bundle's Qt needs (one source for the README,
    the package's Depends and CI)."""
    names = []
    for line in QT_RUNTIME_PACKAGES.read_text(encoding="utf-8").splitlines():
        name = line.split("#", 1)[0].strip()
        if name:
            names.append(name)
    return names


def desktop_entry(product: Product) -> str:
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        f"Name={product.title}\n"
        f"Comment={product.comment}\n"
        f"Exec=/opt/{product.name}/{product.name}\n"
        f"Icon={product.icon}\n"
        "Terminal=false\n"
        "Categories=Office;\n"
        f"StartupWMClass={product.name}\n"
    )


def control_file(product: Product, installed_kib: int) -> str:
    depends = ", ".join(qt_runtime_packages())
    if product is LIVE:
        description = (
            "ContactPoint desktop client for practitioners\n"
            " The live client of ContactPoint, installed in /opt/cpclient. A service desk\n"
            " manages it with the machine-wide policy /etc/cpclient/policy.json (owned by\n"
            " root, mode 644): server_url, ca_bundle, idle_timeout_seconds, training_allowed.\n"
            " See /usr/share/doc/cpclient/README.Debian."
        )
    else:
        description = (
            "ContactPoint training kit (fictitious data only)\n"
            " The ContactPoint client with its own embedded training server, installed in\n"
            " /opt/cpclient-training, for trainers. It always runs in training mode and never\n"
            " reaches live records. The managed policy /etc/cpclient/policy.json can switch\n"
            " it off (training_allowed: false)."
        )
    return (
        f"Package: {product.name}\n"
        f"Version: {version()}\n"
        "Architecture: amd64\n"
        "Maintainer: ContactPoint service desk <servicedesk@contactpoint.example>\n"
        "Section: misc\n"
        "Priority: optional\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {depends}\n"
        f"Description: {description}\n"
    )


README_DEBIAN = """ContactPoint on Debian and Ubuntu
================================

The client is installed in /opt/{name} (read-only for users), started by the
desktop entry "{title}" or /usr/bin/{name}.

Managed policy
--------------
A service desk fixes settings for every user of the machine in

    /etc/cpclient/policy.json

which must be owned by root and not writable by group or others (chown root:root,
chmod 644; the folder /etc/cpclient 755, as this package creates it). The client
refuses to start with a policy it cannot trust or read, and says why. Settings:

    server_url            the live server (https:// only)
    ca_bundle             absolute path of a PEM file of CA certificates to trust
    idle_timeout_seconds  30 to 3600: lock after this long without input
    training_allowed      true lets the live client start training mode (only
                          against a training server named with --server);
                          false also switches the training kit off

An example is policy.example.json beside this file. Check a policy file before
deploying it with:

    /opt/{name}/{name} --check-policy /path/to/policy.json

Installation check
------------------
    {name} --smoke-test --training --server http://127.0.0.1:PORT

signs in to a training server with the demo practitioner account and prints the
result (the training kit needs no --server: it uses its own training server).
The live client needs training_allowed: true in the policy for this.
"""


def build_deb(product: Product, dist: Path) -> Path:
    """A Debian package of the product's bundle (dpkg-deb, files owned by root)."""
    started = time.monotonic()
    bundle = dist / product.name
    if not (bundle / product.name).is_file():
        raise SystemExit(f"build the bundle first: {bundle} is missing (make bundle / make training-kit)")
    root = ROOT / "build" / f"deb-{product.name}"
    if root.exists():
        shutil.rmtree(root)
    opt = root / "opt" / product.name
    shutil.copytree(bundle, opt, symlinks=True)
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / product.name).symlink_to(f"/opt/{product.name}/{product.name}")
    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / f"{product.name}.desktop").write_text(desktop_entry(product), encoding="utf-8")
    icons = root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    shutil.copy(PACKAGING / "icons" / f"{product.icon}.svg", icons / f"{product.icon}.svg")
    doc = root / "usr" / "share" / "doc" / product.name
    doc.mkdir(parents=True)
    (doc / "README.Debian").write_text(
        README_DEBIAN.format(name=product.name, title=product.title), encoding="utf-8"
    )
    shutil.copy(PACKAGING / "policy" / "policy.example.json", doc / "policy.example.json")
    (root / "etc" / "cpclient").mkdir(parents=True)
    for path in [root / "usr", root / "etc", *(root / "usr").rglob("*"), *(root / "etc").rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    control = root / "DEBIAN"
    control.mkdir()
    control.chmod(0o755)
    installed_kib = folder_size(root) // 1024
    (control / "control").write_text(control_file(product, installed_kib), encoding="utf-8")
    output = dist / f"{product.name}_{version()}_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z6", "--build", str(root), str(output)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    step(f"deb {output.name} ({output.stat().st_size / 2**20:.0f} MiB)", started)
    return output


# --- Windows installer (validated here with wixl) ---------------------------------------------------


def build_test_msi(dist: Path) -> Path:
    """Build an MSI from packaging/windows/cpclient.wxs with wixl, from the Linux live bundle's files.

    This validates the WiX source (schema, references, per-machine install, upgrade code, the policy
    templates); the real MSI is built on Windows by packaging/windows/build.ps1 with the WiX Toolset.
    """
    started = time.monotonic()
    bundle = dist / LIVE.name
    if not (bundle / LIVE.name).is_file():
        raise SystemExit(f"build the bundle first: {bundle} is missing (make bundle)")
    work = ROOT / "build" / "wixl"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    render_icons(work, [LIVE.icon])
    files = sorted(
        str(path.relative_to(dist)) for path in bundle.rglob("*") if path.is_file() and path.name != LIVE.name
    )
    harvested = subprocess.run(
        [
            "wixl-heat",
            "-p",
            f"{LIVE.name}/",
            "--component-group",
            "BundleFiles",
            "--var",
            "var.BundleDir",
            "--directory-ref",
            "INSTALLFOLDER",
            "--win64",
        ],
        input="\n".join(files) + "\n",
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (work / "bundle-files.wxs").write_text(harvested, encoding="utf-8")
    output = dist / "cpclient-wixl-test.msi"

    def relative(path: Path) -> str:  # wixl reads sources relative to its working folder only
        return os.path.relpath(path, ROOT)

    subprocess.run(
        [
            "wixl",
            "--arch",
            "x64",
            "-D",
            "Flavour=live",
            "-D",
            "Win64=yes",  # wixl-heat's components ask for it
            "-D",
            f"Version={version()}",
            "-D",
            f"BundleDir={relative(bundle)}",
            "-D",
            f"MainExe={LIVE.name}",
            "-D",
            f"MainExeSource={relative(bundle / LIVE.name)}",
            "-D",
            f"IconFile={relative(work / (LIVE.icon + '.ico'))}",
            "-D",
            f"PolicyDir={relative(PACKAGING / 'policy')}",
            "-o",
            str(output),
            relative(PACKAGING / "windows" / "cpclient.wxs"),
            relative(work / "bundle-files.wxs"),
        ],
        cwd=ROOT,
        check=True,
    )
    step(f"test MSI {output.name} ({output.stat().st_size / 2**20:.0f} MiB)", started)
    return output


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=("bundle", "training-kit", "deb", "msi-check", "icons", "all"))
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--out", type=Path, help="icons: the folder to write them to")
    options = parser.parse_args()
    dist: Path = options.dist.resolve()
    started = time.monotonic()
    if options.what == "all":  # what `make packaging-test` checks
        build_bundle(LIVE, dist)
        build_bundle(TRAINING_KIT, dist)
        build_deb(LIVE, dist)
        build_deb(TRAINING_KIT, dist)
        build_test_msi(dist)
        step("all packages", started)
    elif options.what == "bundle":
        build_bundle(LIVE, dist)
    elif options.what == "training-kit":
        build_bundle(TRAINING_KIT, dist)
    elif options.what == "deb":
        build_deb(LIVE, dist)
        build_deb(TRAINING_KIT, dist)
    elif options.what == "msi-check":
        build_test_msi(dist)
    else:
        render_icons(options.out or dist / "icons", [LIVE.icon, TRAINING_KIT.icon])
    return 0


if __name__ == "__main__":
    sys.exit(main())
