"""Which build of cpclient is running: a source install, the live bundle, or the trainers' training kit.

The bundles are built by `packaging/build.py`, which writes `distribution.json` into the bundle
beside the frozen package (`{"flavour": "live" | "training-kit", "version": "..."}`). The flavour
decides what training mode needs:

- source (a checkout or a pip install, for developers): training mode unless the policy switches it
  off (``training_allowed: false``), with the embedded training server;
- live bundle (what a service desk deploys to practitioners): training mode only when the managed
  policy says ``training_allowed: true``, and only against a training server named with
  ``--server`` (the live bundle carries no server code);
- training kit (for trainers): always training mode, on its embedded training server (or a training
  server named with ``--server``); the policy can still switch it off.

A frozen build whose marker is missing or unreadable counts as the live bundle: the strictest.
The marker sits in the install folder, which only an administrator can write (/opt on Linux,
Program Files on Windows).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

MARKER_NAME = "distribution.json"


class Flavour(Enum):
    """The kinds of build."""

    SOURCE = "source"
    LIVE = "live"
    TRAINING_KIT = "training-kit"


@dataclass(frozen=True)
class Distribution:
    """This build: its flavour and version, and what its flavour means for training mode."""

    flavour: Flavour
    version: str = ""

    @property
    def training_only(self) -> bool:
        """The training kit runs in training mode only."""
        return self.flavour is Flavour.TRAINING_KIT

    @property
    def training_needs_policy(self) -> bool:
        """The live bundle starts training mode only when the managed policy allows it explicitly."""
        return self.flavour is Flavour.LIVE

    @property
    def has_embedded_server(self) -> bool:
        """Whether this build carries the embedded training server (the live bundle does not)."""
        return self.flavour is not Flavour.LIVE

    @property
    def product_name(self) -> str:
        """The name shown to people (window titles, menus)."""
        return "ContactPoint Training" if self.flavour is Flavour.TRAINING_KIT else "ContactPoint"


def bundle_folder() -> Path | None:
    """The frozen bundle's folder of data files (PyInstaller's `sys._MEIPASS`), or None from source."""
    if not getattr(sys, "frozen", False):
        return None
    folder = getattr(sys, "_MEIPASS", None)
    return Path(folder) if folder else Path(sys.executable).resolve().parent


def read_marker(folder: Path) -> Distribution:
    """The distribution named by `folder/distribution.json`; the live bundle when it cannot be read."""
    try:
        document = json.loads((folder / MARKER_NAME).read_text(encoding="utf-8"))
        flavour = Flavour(document["flavour"])
        version = str(document.get("version", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return Distribution(Flavour.LIVE)
    if flavour is Flavour.SOURCE:  # a bundle cannot claim to be a source install
        return Distribution(Flavour.LIVE, version)
    return Distribution(flavour, version)


def current() -> Distribution:
    """This process's distribution."""
    folder = bundle_folder()
    if folder is None:
        return Distribution(Flavour.SOURCE)
    return read_marker(folder)
