"""`cpserver feed ...`: the source registry and `feed load` (progress, the report, exit codes)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cpserver.cli import main
from cpserver.store.models import FeedSource
from tests.server.feeds_support import distinct_rows, jsonl, row


def test_sources_are_added_listed_and_rotated(
    database_url: str, db: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "feed",
                "source",
                "add",
                "census",
                "--kind",
                "national",
                "--priority",
                "50",
                "--database",
                database_url,
            ]
        )
        == 0
    )
    credential = capsys.readouterr().out.strip().splitlines()[-1]
    assert credential.startswith("cpsrc_")
    stored = db.scalar(select(FeedSource).where(FeedSource.name == "census"))
    assert stored is not None and stored.token_hash == hashlib.sha256(credential.encode()).hexdigest()
    council = ["feed", "source", "add", "northmere-cs", "--kind", "local_authority", "--priority", "60"]
    assert main([*council, "--database", database_url]) == 2  # which authority?
    assert "names its authority" in capsys.readouterr().err
    assert main([*council, "--local-authority", "NMR", "--database", database_url]) == 0
    capsys.readouterr()
    assert main(["feed", "source", "list", "--database", database_url]) == 0
    listed = capsys.readouterr().out
    assert "census\tnational\tpriority 50\t-\tactive" in listed
    assert "northmere-cs\tlocal_authority\tpriority 60\tNMR\tactive" in listed
    assert credential not in listed
    assert main(["feed", "source", "rotate", "census", "--database", database_url]) == 0
    fresh = capsys.readouterr().out.strip().splitlines()[-1]
    db.expire_all()
    assert fresh != credential
    assert (
        db.scalar(select(FeedSource.token_hash).where(FeedSource.name == "census"))
        == hashlib.sha256(fresh.encode()).hexdigest()
    )


def test_feed_load_reports_and_exits_by_what_happened(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "feed",
                "source",
                "add",
                "census",
                "--kind",
                "national",
                "--priority",
                "50",
                "--database",
                database_url,
            ]
        )
        == 0
    )
    capsys.readouterr()
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(*distinct_rows(12)))
    load = [
        "feed",
        "load",
        "--source",
        "census",
        "--database",
        database_url,
        "--chunk-rows",
        "5",
        "--progress-every",
        "5",
    ]
    assert main([*load, str(good)]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert (report["rows_read"], report["rows_created"], report["rows_rejected"]) == (12, 12, 0)
    assert "rows read" in out.err and "rows/s" in out.err
    assert main([*load, str(good)]) == 0
    assert json.loads(capsys.readouterr().out)["rows_unchanged"] == 12

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(jsonl(row(source_record_id="CB-X", given_name="Zebedina", gender="zz")))
    assert main([*load, str(bad)]) == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["rejections"] == [{"row": 1, "code": "unknown_gender"}]
    assert "Zebedina" not in out.out + out.err

    header = tmp_path / "header.csv"
    header.write_bytes(b"name,dob\nZebedina,2016-01-01\n")
    assert main([*load, str(header)]) == 2
    assert json.loads(capsys.readouterr().out)["refused"] == "wrong_header"
    unknown_suffix = tmp_path / "feed.txt"
    unknown_suffix.write_bytes(b"")
    assert main([*load, str(unknown_suffix)]) == 2
    assert main([*load[:3], "nobody", *load[4:], str(good)]) == 2
