"""Signed checkpoints of the audit chain: Ed25519 over (seq, head hash, time), kept outside the database.

A bare hash chain cannot show that its last rows were deleted; a checkpoint written elsewhere can.
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
from sqlalchemy import Engine, select

from cpserver.store.database import make_session_factory
from cpserver.store.models import AuditEvent

PUBLIC_KEY_NAME = "signing-key.pub"


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: str
    time: str
    signature: str

    def signed_bytes(self) -> bytes:
        payload = {"seq": self.seq, "head_hash": self.head_hash, "time": self.time}
        return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


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
    """Sign the chain's current head and write it to `checkpoint_dir`; None for an empty chain."""
    with make_session_factory(engine)() as session:
        head = session.execute(
            select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
        ).first()
    if head is None:
        return None
    time = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    unsigned = Checkpoint(seq=head.seq, head_hash=head.hash, time=time, signature="")
    signature = base64.b64encode(key.sign(unsigned.signed_bytes())).decode()
    checkpoint = Checkpoint(seq=head.seq, head_hash=head.hash, time=time, signature=signature)
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    target = checkpoint_dir / f"checkpoint-{head.seq:015d}.json"
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(checkpoint.__dict__, sort_keys=True))
    os.replace(temporary, target)
    return checkpoint


def read_checkpoints(checkpoint_dir: Path) -> list[tuple[Path, Checkpoint | None]]:
    """Every checkpoint file, oldest first; None for a file that cannot be read as one."""
    found: list[tuple[Path, Checkpoint | None]] = []
    for path in sorted(checkpoint_dir.glob("checkpoint-*.json")):
        try:
            data = json.loads(path.read_text())
            found.append(
                (
                    path,
                    Checkpoint(
                        seq=int(data["seq"]),
                        head_hash=str(data["head_hash"]),
                        time=str(data["time"]),
                        signature=str(data["signature"]),
                    ),
                )
            )
        except (ValueError, KeyError, TypeError):
            found.append((path, None))
    return found


def signature_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    try:
        public_key.verify(base64.b64decode(checkpoint.signature, validate=True), checkpoint.signed_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True
