"""Rule 10 on the server: a training database is never served as live, nor a live one as training."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from cpserver.api.app import StartupRefused, create_app
from cpserver.cli import main
from cpserver.config import Settings
from cpserver.store.database import make_engine, make_session_factory
from cpserver.store.migrate import upgrade
from cpserver.store.models import SystemSetting
from cpserver.store.system import set_mode


def _mark_training(engine):
    with make_session_factory(engine).begin() as session:
        session.execute(sa.update(SystemSetting).where(SystemSetting.key == "mode").values(value="training"))


def test_live_server_refuses_a_training_database(engine, database_url):
    _mark_training(engine)
    with pytest.raises(StartupRefused, match="training database"):
        create_app(Settings(database_url=database_url), engine)


def test_training_server_refuses_a_live_database(engine, database_url):
    with pytest.raises(StartupRefused, match="live database"):
        create_app(Settings(database_url=database_url, training=True), engine)


def test_training_server_serves_a_training_database_and_says_so(engine, database_url):
    _mark_training(engine)
    with TestClient(create_app(Settings(database_url=database_url, training=True), engine)) as client:
        meta = client.get("/api/v1/meta").json()
    assert meta["training"] is True
    assert meta["service_name"] == "ContactPoint (training)"


def test_meta_lists_reasons_service_types_and_policy(client):
    meta = client.get("/api/v1/meta").json()
    assert meta["training"] is False
    codes = [r["code"] for r in meta["reasons"]]
    assert codes[-1] == "other" and meta["reasons"][-1]["needs_text"] is True
    assert len(codes) == 8
    sensitive = {s["code"] for s in meta["service_types"] if s["sensitive"]}
    assert sensitive == {"sexual_health", "mental_health", "substance_misuse"}
    assert "club" in meta["involvement_guidance"]
    assert meta["policy"]["idle_timeout_seconds"] == 900


def test_a_database_mode_never_changes(db):
    with pytest.raises(ValueError, match="live database"):
        set_mode(db, "training")


def test_unmigrated_or_unseeded_databases_are_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    engine = make_engine(url)
    with pytest.raises(StartupRefused, match="migrate"):
        create_app(Settings(database_url=url), engine)
    upgrade(engine)
    with pytest.raises(StartupRefused, match="not been set up"):
        create_app(Settings(database_url=url), engine)
    engine.dispose()


def test_serve_command_refuses_with_a_clear_message(engine, database_url, capsys):
    _mark_training(engine)
    assert main(["serve", "--database", database_url]) == 2
    assert "training database" in capsys.readouterr().err
