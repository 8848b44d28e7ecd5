"""Server settings and the policy values the client receives through `GET /meta`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./cpserver.sqlite3"


class Settings(BaseSettings):
    """Everything configurable, read from `CPSERVER_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="CPSERVER_", frozen=True)

    database_url: str = DEFAULT_DATABASE_URL
    # True when this server serves a training database (fictitious data only).
    training: bool = False
    # Production hides the OpenAPI document and the interactive docs.
    production: bool = False
    # The proxies whose X-Forwarded-For is believed (comma-separated addresses, or "*"). None:
    # nobody's; the client address used for throttling, audit and detection is the connection's.
    forwarded_allow_ips: str | None = None

    # Sessions
    session_idle_minutes: int = Field(default=15, ge=1)
    session_absolute_hours: int = Field(default=8, ge=1)

    # Authorised users (rule 1)
    crb_valid_years: int = 3

    # Throttling of failed logins (rule 2)
    throttle_window_minutes: int = 15
    throttle_account_failures: int = 5
    throttle_address_failures: int = 20
    throttle_base_seconds: int = 30
    throttle_max_seconds: int = 900

    # Feeds: the largest batch a source may send to the machine endpoint (413 `batch_too_large`);
    # bigger loads go through `cpserver feed load`.
    feed_batch_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    # Search (criteria and result size)
    search_max_results: int = 50
    search_max_dob_range_days: int = 366 * 2

    # Overload (national scale): at most `max_concurrent_requests` requests at once per process,
    # each with one database connection (the pool holds that many, plus two for background work);
    # a request that cannot start within `queue_timeout_seconds` is refused at once with 503
    # `server_busy` and `Retry-After`, instead of waiting for a connection.
    max_concurrent_requests: int = Field(default=8, ge=1, le=500)
    queue_timeout_seconds: float = Field(default=0.5, gt=0, le=10)
    busy_retry_after_seconds: int = Field(default=2, ge=1, le=60)
    # `Server-Timing: chain;dur=<ms>` on each response (time spent obtaining an audit chain), for the
    # benchmark's lock share. Off in service: it tells clients about the server's inner timing.
    server_timing: bool = False

    # Audit checkpoints: an Ed25519 key kept outside the database signs the chain's head
    # every `checkpoint_interval_seconds` and at shut-down; None turns checkpoints off.
    audit_key_file: Path | None = None
    checkpoint_dir: Path | None = None
    checkpoint_interval_seconds: int = Field(default=300, ge=5)

    # Notifying a suspended user's manager (rule 7)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "contactpoint-noreply@contactpoint.example"

    # Misuse detection (rule 7): thresholds for the rules in cpserver.domain.detection.
    # `detection_enabled` exists for the benchmark's with/without comparison only.
    detection_enabled: bool = True
    working_hours_start: int = Field(default=7, ge=0, le=23)
    working_hours_end: int = Field(default=19, ge=1, le=24)
    working_days: str = "0,1,2,3,4"  # Monday = 0
    working_timezone: str = "Europe/London"
    volume_hour_minimum: int = 30
    volume_day_minimum: int = 150
    volume_baseline_factor: float = 3.0
    other_reason_limit_per_day: int = 3
    outside_authority_limit_per_day: int = 3
    browsing_search_limit: int = 8
    browsing_window_minutes: int = 10
    shared_workstation_minutes: int = 10
    # Rate limits (cpserver.domain.rate_limits), per user; a workstation may do `factor` times as
    # much (colleagues take turns at one). Sized from a normal practitioner's day: see
    # docs/architecture.md, "Harvesting and detection".
    search_limit_minute: int = Field(default=12, ge=1)
    search_limit_hour: int = Field(default=120, ge=1)
    search_limit_day: int = Field(default=400, ge=1)
    view_limit_minute: int = Field(default=8, ge=1)
    view_limit_hour: int = Field(default=60, ge=1)
    view_limit_day: int = Field(default=200, ge=1)
    workstation_limit_factor: float = Field(default=1.5, ge=1)
    # Escalation (cpserver.domain.harvesting): measured on every access, open alerts or not.
    view_volume_high_hour: int = 45
    view_volume_high_day: int = 160
    search_volume_hour: int = 60
    search_volume_high_hour: int = 100
    search_volume_high_day: int = 320
    rate_limit_refusals_high: int = 10
    not_found_limit_hour: int = 5
    not_found_high_day: int = 20
    id_walk_window: int = 10
    id_walk_gap: int = 1
    id_walk_run: int = 6
    # A burst of involvements on unrelated children (harvesting contacts through notices).
    involvement_burst_limit: int = Field(default=12, ge=2)
    involvement_burst_minutes: int = Field(default=60, ge=1)
    # Rules of high severity suspend the account at once (the alert says so).
    auto_suspend_high: bool = True

    # Involvement notices: the ways a user may choose to receive them (comma-separated, the first is
    # the default; "off" only if the policy allows it, and never for a child the user leads on), the
    # hour of the daily digest (working time zone), the follow-up window, how often clients poll.
    notice_deliveries: str = Field(default="immediate,daily_digest", pattern=r"^[a-z_]+(,[a-z_]+)*$")
    notice_digest_hour: int = Field(default=8, ge=0, le=23)
    notice_follow_up_working_days: int = Field(default=10, ge=1)
    notice_poll_seconds: int = Field(default=60, ge=5)
    notice_inbox_days: int = Field(default=90, ge=1)

    # Retention (rule 9)
    retention_age_years: int = 18
    retention_consent_age_years: int = 25
    # Archived records are purged this many years after archiving.
    retention_archive_years: int = Field(default=6, ge=1)
    # `serve` runs the retention job once a day (one node at a time); how often it looks whether
    # today's run is due. Off for tests that must not see records archived under them.
    retention_run_daily: bool = True
    retention_check_seconds: int = Field(default=900, ge=1)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (tests build their own `Settings` and pass them in)."""
    return Settings()
