"""Verifying the audit trail: each chain row by row, then every signed checkpoint against the chains."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, select

from cpserver.audit.chain import GENESIS, LEGACY_CHAIN, canonical, chain_hash
from cpserver.audit.checkpoints import Checkpoint, read_checkpoints, signature_valid
from cpserver.store.database import make_session_factory
from cpserver.store.models import AuditEvent


@dataclass(frozen=True)
class Problem:
    """What is wrong and where: the row's `seq` (the one found there, or after a gap) and its chain."""

    seq: int
    kind: str  # modified_row, missing_row, chain_fork, truncated_tail, bad_signature, bad_checkpoint
    detail: str
    chain: int = LEGACY_CHAIN
    # The row's position in its chain (`seq` on the legacy chain); 0 when not about one row.
    position: int = 0

    def where(self) -> str:
        if self.chain == LEGACY_CHAIN:
            return f"seq {self.seq}"
        row = f"seq {self.seq} " if self.seq else ""
        return f"{row}(chain {self.chain}, link {self.position})"


@dataclass
class Report:
    rows: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    chains: int = 0
    # Each chain's last position found: {chain: (position, hash)}.
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)
    # The rows checkpoints name, as found: {(chain, position): (seq, hash)}.
    signed_rows: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The earliest problem: by chain, then by position in it (the legacy chain comes first)."""
        return min(self.problems, key=lambda p: (p.chain, p.position, p.seq)) if self.problems else None

    def summary(self) -> str:
        if self.ok:
            return (
                f"OK: {self.rows} audit rows in {self.chains} chain(s), chains intact, "
                f"{self.checkpoints} checkpoints verified"
            )
        first = self.first_problem
        assert first is not None
        count = len(self.problems)
        return f"PROBLEM at {first.where()}: {first.kind}: {first.detail} ({count} problem(s) in all)"


class _ChainWalk:
    """One chain checked in order: positions without gaps, each row linked to the one before, each hash."""

    def __init__(self, report: Report, number: int, first_prev: str, wanted: set[tuple[int, int]]) -> None:
        self.report, self.number, self.wanted = report, number, wanted
        self.expected, self.prev_hash = 1, first_prev

    def row(self, row: AuditEvent) -> None:
        report, number = self.report, self.number
        report.rows += 1
        position = row.seq if number == LEGACY_CHAIN else (row.link or 0)
        if position != self.expected:
            report.problems.append(
                Problem(
                    row.seq,
                    "missing_row",
                    f"positions {self.expected} to {position - 1} of this chain are missing (a gap)"
                    if position > self.expected
                    else f"position {position} is out of order or repeated (expected {self.expected})",
                    number,
                    position,
                )
            )
        if row.prev_hash != self.prev_hash:
            report.problems.append(
                Problem(
                    row.seq,
                    "chain_fork",
                    "its previous-hash link does not match the row before it",
                    number,
                    position,
                )
            )
        if chain_hash(canonical(row), row.prev_hash) != row.hash:
            report.problems.append(
                Problem(row.seq, "modified_row", "its content does not match its hash", number, position)
            )
        if (number, position) in self.wanted:
            report.signed_rows[(number, position)] = (row.seq, row.hash)
        self.expected, self.prev_hash = position + 1, row.hash
        report.last_seq = max(report.last_seq, row.seq)

    def end(self) -> None:
        if self.expected > 1:
            self.report.chains += 1
            self.report.heads[self.number] = (self.expected - 1, self.prev_hash)


def verify(
    engine: Engine, checkpoint_dir: Path | None = None, public_key: Ed25519PublicKey | None = None
) -> Report:
    """Walk the legacy chain, then every chain in order, then check each checkpoint against them.

    Every chain's first row must link to the legacy chain's last row (or the genesis hash when
    there is none), so a cut in the legacy tail shows in every chain.
    """
    report = Report()
    marks = read_checkpoints(checkpoint_dir) if checkpoint_dir is not None else []
    wanted = {
        (number, position)
        for _, checkpoint in marks
        if checkpoint is not None
        for number, (position, _hash) in checkpoint.heads.items()
    }
    with make_session_factory(engine)() as session:
        legacy = _ChainWalk(report, LEGACY_CHAIN, GENESIS, wanted)
        for row in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain == LEGACY_CHAIN)
            .order_by(AuditEvent.seq)
            .execution_options(yield_per=5000)
        ):
            legacy.row(row)
            session.expunge(row)
        legacy.end()
        origin = report.heads.get(LEGACY_CHAIN, (0, GENESIS))[1]
        walk: _ChainWalk | None = None
        for row in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.chain != LEGACY_CHAIN)
            .order_by(AuditEvent.chain, AuditEvent.seq)
            .execution_options(yield_per=5000)
        ):
            if walk is None or walk.number != row.chain:
                if walk is not None:
                    walk.end()
                walk = _ChainWalk(report, row.chain, origin, wanted)
            walk.row(row)
            session.expunge(row)
        if walk is not None:
            walk.end()
    _check_checkpoints(report, marks, public_key)
    return report


def _check_checkpoints(
    report: Report, marks: list[tuple[Path, Checkpoint | None]], public_key: Ed25519PublicKey | None
) -> None:
    for path, checkpoint in marks:
        if checkpoint is None:
            report.problems.append(Problem(0, "bad_checkpoint", f"{path.name} cannot be read"))
            continue
        report.checkpoints += 1
        if public_key is None or not signature_valid(checkpoint, public_key):
            report.problems.append(
                Problem(0, "bad_signature", f"{path.name} is not signed by the audit signing key")
            )
            continue
        for number, (position, head_hash) in sorted(checkpoint.heads.items()):
            found = report.heads.get(number, (0, GENESIS))
            if position > found[0]:
                report.problems.append(
                    Problem(
                        found[0] + 1 if number == LEGACY_CHAIN else 0,
                        "truncated_tail",
                        f"a checkpoint signed at {checkpoint.time} covers this chain up to position "
                        f"{position}, but the chain ends at {found[0]}",
                        number,
                        found[0] + 1,
                    )
                )
            elif report.signed_rows.get((number, position), (0, ""))[1] != head_hash:
                report.problems.append(
                    Problem(
                        report.signed_rows.get((number, position), (0, ""))[0],
                        "chain_fork",
                        f"the row's hash differs from the one signed at {checkpoint.time}: "
                        "the chain was rewritten",
                        number,
                        position,
                    )
                )
