"""Verifying the audit trail: the chain row by row, then every signed checkpoint against it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from cpserver.audit.chain import GENESIS, canonical, chain_hash
from cpserver.audit.checkpoints import read_checkpoints, signature_valid
from cpserver.store.database import make_session_factory
from cpserver.store.models import AuditEvent


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # modified_row, missing_row, chain_fork, truncated_tail, bad_signature, bad_checkpoint
    detail: str


@dataclass
class Report:
    rows: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return min(self.problems, key=lambda p: p.seq) if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return f"OK: {self.rows} audit rows, chain intact, {self.checkpoints} checkpoints verified"
        first = self.first_problem
        assert first is not None
        count = len(self.problems)
        return f"PROBLEM at seq {first.seq}: {first.kind}: {first.detail} ({count} problem(s) in all)"


def verify(
    engine: Engine, checkpoint_dir: Path | None = None, public_key: Ed25519PublicKey | None = None
) -> Report:
    """Walk the chain in seq order, then check each checkpoint's signature and head against it."""
    report = Report()
    marks = read_checkpoints(checkpoint_dir) if checkpoint_dir is not None else []
    wanted = {checkpoint.seq for _, checkpoint in marks if checkpoint is not None}
    hash_at: dict[int, str] = {}
    expected_seq, prev_hash = 1, GENESIS
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000))
        for row in rows:
            report.rows += 1
            if row.seq != expected_seq:
                report.problems.append(
                    Problem(
                        expected_seq,
                        "missing_row",
                        f"rows {expected_seq} to {row.seq - 1} are missing (a gap)",
                    )
                )
            if row.prev_hash != prev_hash:
                report.problems.append(
                    Problem(row.seq, "chain_fork", "its previous-hash link does not match the row before it")
                )
            if chain_hash(canonical(row), row.prev_hash) != row.hash:
                report.problems.append(
                    Problem(row.seq, "modified_row", "its content does not match its hash")
                )
            if row.seq in wanted:
                hash_at[row.seq] = row.hash
            expected_seq, prev_hash = row.seq + 1, row.hash
            session.expunge(row)
    report.last_seq = expected_seq - 1
    for path, checkpoint in marks:
        if checkpoint is None:
            report.problems.append(Problem(0, "bad_checkpoint", f"{path.name} cannot be read"))
            continue
        report.checkpoints += 1
        if public_key is None or not signature_valid(checkpoint, public_key):
            report.problems.append(
                Problem(
                    checkpoint.seq, "bad_signature", f"{path.name} is not signed by the audit signing key"
                )
            )
            continue
        if checkpoint.seq > report.last_seq:
            report.problems.append(
                Problem(
                    report.last_seq + 1,
                    "truncated_tail",
                    f"a checkpoint signed at {checkpoint.time} covers rows up to {checkpoint.seq}, "
                    f"but the chain ends at {report.last_seq}",
                )
            )
        elif hash_at.get(checkpoint.seq) != checkpoint.head_hash:
            report.problems.append(
                Problem(
                    checkpoint.seq,
                    "chain_fork",
                    f"the row's hash differs from the one signed at {checkpoint.time}: "
                    "the chain was rewritten",
                )
            )
    return report
