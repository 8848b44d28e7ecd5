"""Signed checkpoints of the audit chains: Ed25519 over every chain's head and the time, kept elsewhere.

A bare hash chain cannot show that its last rows were deleted; a checkpoint written elsewhere can.
One checkpoint signs all chains' heads together, so it covers the whole trail.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from cpserver.audit.chain import LEGACY_CHAIN, heads
from cpserver.store.database import make_session_factory

PUBLIC_KEY_NAME = "signing-key.pub"


@dataclass(frozen=True)
class Checkpoint:
    """The signed heads of every chain at one moment: {chain: (position, head hash)}.

    Version 1 (before chains) signed the one chain's (seq, head hash); it reads as chain 0's head
    and its signature is checked over exactly the bytes it was signed over.
    """

    heads: dict[int, tuple[int, str]]
    time: str
    signature: str
    version: int = 2

    @property
    def rows(self) -> int:
        """How many rows the checkpoint covers (each position counts its chain's rows)."""
        return sum(position for position, _ in self.heads.values())

    def signed_bytes(self) -> bytes:
        payload: dict[str, object]
        if self.version == 1:
            seq, head_hash = self.heads[LEGACY_CHAIN]
            payload = {"seq": seq, "head_hash": head_hash, "time": self.time}
        else:
            heads = {str(number): [position, head] for number, (position, head) in self.heads.items()}
            payload = {"version": 2, "heads": heads, "time": self.time}
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()

    def as_json(self) -> str:
        if self.version == 1:
            seq, head_hash = self.heads[LEGACY_CHAIN]
            data: dict[str, object] = {"seq": seq, "head_hash": head_hash}
        else:
            data = {"version": 2, "heads": {str(n): [p, h] for n, (p, h) in self.heads.items()}}
        return json.dumps({**data, "time": self.time, "signature": self.signature}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        data = json.loads(text)
        if "heads" not in data:
            return cls(
                heads={LEGACY_CHAIN: (int(data["seq"]), str(data["head_hash"]))},
                time=str(data["time"]),
                signature=str(data["signature"]),
                version=1,
            )
        heads = {int(number): (int(pair[0]), str(pair[1])) for number, pair in dict(data["heads"]).items()}
        return cls(heads=heads, time=str(data["time"]), signature=str(data["signature"]), version=2)


def create_key(path: Path) -> Ed25519PublicKey:
    """Write a new private key to `path` (owner-only) and return its public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key.public_key()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("the audit signing key is not an Ed25519 key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the audit public key is not an Ed25519 key")
    return key


def ensure_key(key_path: Path, checkpoint_dir: Path) -> Ed25519PrivateKey:
    """The signing key, created on first use; its public half is published beside the checkpoints."""
    if not key_path.exists():
        create_key(key_path)
    key = load_private_key(key_path)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    published = checkpoint_dir / PUBLIC_KEY_NAME
    if not published.exists():
        published.write_bytes(public_key_pem(key.public_key()))
    return key


def write_checkpoint(engine: Engine, key: Ed25519PrivateKey, checkpoint_dir: Path) -> Checkpoint | None:
    """Sign every chain's current head together and write it to `checkpoint_dir`; None for an empty trail."""
    with make_session_factory(engine)() as session:
        found = heads(session)
    if not found:
        return None
    time = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    unsigned = Checkpoint(heads=found, time=time, signature="")
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode()
    checkpoint = Checkpoint(heads=found, time=time, signature=signature)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    target = checkpoint_dir / f"checkpoint-{checkpoint.rows:015d}.json"
    temporary = target.with_suffix(".tmp")
    temporary.write_text(checkpoint.as_json())
    os.replace(temporary, target)
    return checkpoint


def read_checkpoints(checkpoint_dir: Path) -> list[tuple[Path, Checkpoint | None]]:
    """Every checkpoint file, oldest first; None for a file that cannot be read as one."""
    found: list[tuple[Path, Checkpoint | None]] = []
    for path in sorted(checkpoint_dir.glob("checkpoint-*.json")):
        try:
            found.append((path, Checkpoint.from_json(path.read_text())))
        except (ValueError, KeyError, TypeError, IndexError):
            found.append((path, None))
    return found


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True
