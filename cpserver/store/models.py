"""The database tables: Schedule 1 of the 2007 Regulations, accounts, sessions and the audit trail.

Nothing here holds case notes, assessments, opinions or financial data: a child's record is
identifying information and contact details, nothing more.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from cpserver.store.types import UtcDateTime


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations name constraints predictably."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[str]: JSON}


Base.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def Key(length: int) -> Any:  # noqa: N802  (a column type, named like one)
    """Text compared byte by byte (collation "C" on PostgreSQL; SQLite's default is already that):
    for machine keys, not words: identifiers, normalised names, phonetic keys, postcodes, telephone
    numbers. Their indexes sort with memcmp and abbreviated keys instead of the locale's strcoll
    (migration 0015_key_collation: an 11M-row name index built in 16 s instead of 25 s, a postcode
    index in 8 s instead of 19 s, with the database's C.UTF-8; more under en_GB)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def utcnow() -> dt.datetime:
    """Timezone-aware now, in UTC."""
    return dt.datetime.now(dt.UTC)


class SystemSetting(Base):
    """Key/value facts about this database: its mode (training or live), lockdown state."""

    __tablename__ = "system_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(1000))


class LocalAuthority(Base):
    """A local authority; its ContactPoint management team (CMT) is the contact for shielded records."""

    __tablename__ = "local_authorities"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    cmt_name: Mapped[str] = mapped_column(String(200))
    cmt_telephone: Mapped[str] = mapped_column(String(40))
    cmt_email: Mapped[str] = mapped_column(String(200))


class Organisation(Base):
    """An employing organisation; its users may work only while it is accredited."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    local_authority_id: Mapped[int | None] = mapped_column(ForeignKey("local_authorities.id"))
    accredited: Mapped[bool] = mapped_column(Boolean, default=False)
    accredited_on: Mapped[dt.date | None] = mapped_column(Date)
    local_authority: Mapped[LocalAuthority | None] = relationship()


class User(Base):
    """An account: practitioner, management team (cmt) or national team."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret: Mapped[str] = mapped_column(String(64))
    # The last accepted TOTP time step: a code works once.
    totp_last_step: Mapped[int] = mapped_column(BigInteger, default=0)
    role: Mapped[str] = mapped_column(String(20))
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    job_title: Mapped[str] = mapped_column(String(200), default="")
    telephone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    home_postcode: Mapped[str] = mapped_column(String(10), default="")
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    local_authority_id: Mapped[int | None] = mapped_column(ForeignKey("local_authorities.id"))
    manager_name: Mapped[str] = mapped_column(String(200), default="")
    manager_email: Mapped[str] = mapped_column(String(200), default="")
    # Accreditation of the person (rule 1)
    crb_checked_on: Mapped[dt.date | None] = mapped_column(Date)
    training_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    procedures_received: Mapped[bool] = mapped_column(Boolean, default=False)
    agreement_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    suspended_reason: Mapped[str] = mapped_column(String(500), default="")
    # May open a shielded record's details in an emergency; every override raises an alert.
    may_override_shield: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How involvement notices reach this user: "immediate", "daily_digest" or "off" (within the
    # policy's choices; notices about a child the user leads on always come at once).
    notice_delivery: Mapped[str] = mapped_column(String(20), default="immediate", server_default="immediate")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship()
    local_authority: Mapped[LocalAuthority | None] = relationship()

    @property
    def display_name(self) -> str:
        """The name shown to colleagues and on the watermark."""
        return f"{self.given_name} {self.family_name}"


class Session(Base):
    """A login session; the bearer token is stored only as its SHA-256."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    workstation: Mapped[str] = mapped_column(String(100))
    client_address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship()


class LoginThrottle(Base):
    """Failed-login counters, one row per key (an account name's hash, or a client address)."""

    __tablename__ = "login_throttles"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    locked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class EducationSetting(Base):
    """A school or other education setting."""

    __tablename__ = "education_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The setting's national reference (a school's URN): how a feed names it.
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(10))
    telephone: Mapped[str] = mapped_column(String(40))
    local_authority_id: Mapped[int] = mapped_column(ForeignKey("local_authorities.id"))


class GpPractice(Base):
    """A GP practice."""

    __tablename__ = "gp_practices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The practice's national code (an ODS code): how a feed names it.
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(10))
    telephone: Mapped[str] = mapped_column(String(40))


class Child(Base):
    """A child's record: basic identifying information and contact details, nothing more."""

    __tablename__ = "children"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The ContactPoint ID, the only identifier the API exposes.
    cp_id: Mapped[str] = mapped_column(Key(20), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    middle_names: Mapped[str] = mapped_column(String(200), default="")
    family_name: Mapped[str] = mapped_column(String(100))
    former_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Search keys: normalised names and their phonetic (Soundex) codes.
    family_norm: Mapped[str] = mapped_column(Key(100))
    family_key: Mapped[str] = mapped_column(Key(8))
    given_norm: Mapped[str] = mapped_column(Key(100))
    given_key: Mapped[str] = mapped_column(Key(8))
    gender: Mapped[str] = mapped_column(String(16))
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    address_status: Mapped[str] = mapped_column(String(16), default="current")
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(String(10), default="")
    postcode_norm: Mapped[str] = mapped_column(Key(10), default="")
    telephone: Mapped[str] = mapped_column(Key(40), default="")
    left_england: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_to_25: Mapped[bool] = mapped_column(Boolean, default=False)
    local_authority_id: Mapped[int] = mapped_column(ForeignKey("local_authorities.id"))
    education_setting_id: Mapped[int | None] = mapped_column(ForeignKey("education_settings.id"))
    education_start_date: Mapped[dt.date | None] = mapped_column(Date)
    gp_practice_id: Mapped[int | None] = mapped_column(ForeignKey("gp_practices.id"))
    # Shielding (rule 5)
    shielded: Mapped[bool] = mapped_column(Boolean, default=False)
    shield_ground: Mapped[str | None] = mapped_column(String(40))
    shield_review_date: Mapped[dt.date | None] = mapped_column(Date)
    # Retention (rule 9)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    local_authority: Mapped[LocalAuthority] = relationship()
    education_setting: Mapped[EducationSetting | None] = relationship()
    gp_practice: Mapped[GpPractice | None] = relationship()
    carers: Mapped[list[Carer]] = relationship(back_populates="child", order_by="Carer.id")
    involvements: Mapped[list[Involvement]] = relationship(back_populates="child", order_by="Involvement.id")

    __table_args__ = (
        Index("ix_children_family_key_dob", "family_key", "date_of_birth"),
        Index("ix_children_family_norm_dob", "family_norm", "date_of_birth"),
        # The matcher's "same names, born the same year" block (cpserver.domain.feeds.matching).
        Index("ix_children_names_dob", "family_norm", "given_norm", "date_of_birth"),
        # Its "given name sounding the same, same birthday" block: a surname changed or shortened,
        # the given name perhaps mistyped too, sent with no postcode or former name (migration
        # 0013_given_key_dob, replacing 0012's index on the exact given name).
        Index("ix_children_given_key_dob", "given_key", "date_of_birth"),
        Index("ix_children_postcode_norm", "postcode_norm"),
        Index("ix_children_la_education", "local_authority_id", "education_setting_id"),
        # The retention run's purge looks for records archived long enough (few rows: partial).
        Index(
            "ix_children_archived_at",
            "archived_at",
            postgresql_where=literal_column("archived_at IS NOT NULL"),
            sqlite_where=literal_column("archived_at IS NOT NULL"),
        ),
    )


class Carer(Base):
    """A parent or carer of a child."""

    __tablename__ = "carers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    relationship_to_child: Mapped[str] = mapped_column(String(60))
    parental_responsibility: Mapped[bool] = mapped_column(Boolean, default=False)
    address_line1: Mapped[str] = mapped_column(String(200), default="")
    address_line2: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    postcode: Mapped[str] = mapped_column(Key(10), default="")
    telephone: Mapped[str] = mapped_column(Key(40), default="")
    # The child's `shielded`, copied by triggers on every write (migration 0011_shielded_facts), so the
    # household probe finds a shielded household's carers in a partial index. Never written here.
    child_shielded: Mapped[bool] = mapped_column(Boolean, server_default=false())

    child: Mapped[Child] = relationship(back_populates="carers")


class Involvement(Base):
    """A service or practitioner working with a child.

    The practitioner's contact details are copied from their profile when the involvement is
    recorded. `assessment_completed` only says that a CAF exists; the assessment is never stored.
    """

    __tablename__ = "involvements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), index=True)
    practitioner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    practitioner_name: Mapped[str] = mapped_column(String(200))
    practitioner_role: Mapped[str] = mapped_column(String(200))
    organisation_name: Mapped[str] = mapped_column(String(200))
    telephone: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(200))
    service_type: Mapped[str] = mapped_column(String(40))
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    started_on: Mapped[dt.date] = mapped_column(Date)
    ended_on: Mapped[dt.date | None] = mapped_column(Date)
    lead_professional: Mapped[bool] = mapped_column(Boolean, default=False)
    assessment_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The feed source that sent this involvement (None: recorded by a practitioner or the seed).
    # A source's next row replaces only the involvements it sent itself.
    source_id: Mapped[int | None] = mapped_column(ForeignKey("feed_sources.id"), index=True)

    child: Mapped[Child] = relationship(back_populates="involvements")


class AuditEvent(Base):
    """One row of the audit trail: who did what, when, to which record, why, from where.

    A record view writes its row in the same transaction as, and before, the disclosure.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The hash chains (cpserver.audit.chain): hash = SHA-256(canonical row ‖ prev_hash of its chain).
    # `seq` names a row (unique, increasing along each chain); `link` is its gap-free position in its
    # chain. Chain 0 holds the rows written before chains existed, linked in `seq` order (no `link`).
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    chain: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    link: Mapped[int | None] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(40))
    # No foreign keys: audit rows outlive the records and accounts they speak of (rule 9 purges).
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20), default="")
    local_authority_id: Mapped[int | None] = mapped_column(Integer)
    # The child row's integer key (the column keeps its name; the ContactPoint ID is `Child.cp_id`).
    child_pk: Mapped[int | None] = mapped_column("child_id", Integer)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason_text: Mapped[str | None] = mapped_column(Text)
    workstation: Mapped[str] = mapped_column(String(100), default="")
    client_address: Mapped[str] = mapped_column(String(64), default="")
    shielded: Mapped[bool] = mapped_column(Boolean, default=False)
    shown: Mapped[list[str]] = mapped_column(JSON, default=list)
    withheld: Mapped[list[str]] = mapped_column(JSON, default=list)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (
        # Serves the audit review by user and every per-user detection rule (by action, recent first).
        Index("ix_audit_events_user_action_time", "user_id", "action", "occurred_at"),
        Index("ix_audit_events_child_time", "child_id", "occurred_at"),
        # A chain's head, and a chain in order, by one index.
        Index("ix_audit_events_chain_seq", "chain", "seq"),
    )


class Alert(Base):
    """Unusual activity noticed by a detection rule (rule 7), for the management team to act on."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    raised_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    rule: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    local_authority_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # What was seen, in words that hold no child's details, and the audit rows behind it.
    summary: Mapped[str] = mapped_column(String(500))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open")
    auto_suspended: Mapped[bool] = mapped_column(Boolean, default=False)
    handled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    justification: Mapped[str | None] = mapped_column(String(1000))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class Incident(Base):
    """A suspected misuse under investigation: the user is suspended, their manager told, the
    national team informed. Notes are about the investigation, never about a child."""

    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    opened_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    local_authority_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(20), default="open")
    outcome: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    manager_notified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    manager_notification: Mapped[str] = mapped_column(String(200), default="")
    reported_nationally_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    notes: Mapped[list[IncidentNote]] = relationship(order_by="IncidentNote.id")


class IncidentNote(Base):
    """A note on an investigation."""

    __tablename__ = "incident_notes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    written_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(2000))


class LockdownAction(Base):
    """Rule 8: each lock, restore request and confirmation, with who and why."""

    __tablename__ = "lockdown_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(20))  # locked, restore_requested, restored
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("lockdown_actions.id"))


class Notice(Base):
    """Who else, without asking: a practitioner is told of another service working with a child.

    One row per recipient and per other involvement (the service the notice is about). The row holds
    no content: what a notice discloses is built when it is shown, from the record-access decision of
    what the recipient may see at that moment, and the audit row is written first.
    """

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"))
    # The other service this notice is about (new, or just ended).
    involvement_id: Mapped[int] = mapped_column(ForeignKey("involvements.id"))
    event: Mapped[str] = mapped_column(String(20))  # "added" or "ended"
    # The child's authority when the notice was made: its management team follows the figures.
    local_authority_id: Mapped[int] = mapped_column(Integer, index=True)
    # The recipient leads on this child: the notice comes at once whatever their setting.
    lead: Mapped[bool] = mapped_column(Boolean, default=False)
    # Held back for the recipient's daily digest (False: delivered at once).
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # The end of the follow-up window (10 working days by default): an answer by then is in time.
    follow_up_due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # "contacted", "not_needed" or "not_yet" (None: not answered).
    follow_up: Mapped[str | None] = mapped_column(String(20))
    followed_up_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    child: Mapped[Child] = relationship()
    involvement: Mapped[Involvement] = relationship()

    __table_args__ = (Index("ix_notices_recipient_created", "recipient_user_id", "created_at"),)


class FormerName(Base):
    """A name a child was known by before (rule 9: searchable, except an identity closed for adoption).

    `Child.former_names` keeps the list shown on the record; this table is what search looks in.
    `cpserver.domain.former_names` writes both together.
    """

    __tablename__ = "former_names"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100), default="")
    family_name: Mapped[str] = mapped_column(String(100))
    family_norm: Mapped[str] = mapped_column(Key(100))
    family_key: Mapped[str] = mapped_column(Key(8))
    given_norm: Mapped[str] = mapped_column(Key(100), default="")
    # The child's date of birth, so a search by former name is one index range like a search by
    # name (migration 0009: triggers keep it equal to `children.date_of_birth` when that changes).
    date_of_birth: Mapped[dt.date] = mapped_column(Date)
    # An identity left behind on adoption: never searched, never matched.
    closed_for_adoption: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_former_names_family_norm_dob", "family_norm", "date_of_birth"),
        Index("ix_former_names_family_key_dob", "family_key", "date_of_birth"),
    )


class RetiredCpId(Base):
    """A ContactPoint ID whose record was purged (rule 9): never issued again.

    A trigger (migration `0007_retention`) refuses any child row, from any path, that takes one.
    """

    __tablename__ = "retired_cp_ids"
    cp_id: Mapped[str] = mapped_column(Key(20), primary_key=True)
    retired_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FeedSource(Base):
    """A source system that feeds the directory (child benefit, school census, health, a council).

    It signs in as itself, never as a person: `token_hash` is the SHA-256 of its machine credential.
    When sources disagree on a field, the higher `priority` wins (cpserver.domain.feeds).
    """

    __tablename__ = "feed_sources"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    # "national" (child benefit, census, health) or "local_authority" (a council's own systems).
    kind: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer)
    # A local authority's system feeds that authority's children (and may carry services involved).
    local_authority_id: Mapped[int | None] = mapped_column(ForeignKey("local_authorities.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FeedBatch(Base):
    """One load of a feed (a file or a batch sent to the machine endpoint) and its report."""

    __tablename__ = "feed_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_sources.id"), index=True)
    via: Mapped[str] = mapped_column(String(10))  # "file" or "api"
    # SHA-256 of the batch's bytes: the same file again is recognised (and re-running it changes nothing).
    digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default="running")  # running, done, refused
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_held: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    # Of rows_updated, those the matcher linked to a child for the first time (0007_feeds_loader).
    rows_matched: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Fields the winning rule kept (an older or lower-priority source), and records moved.
    fields_kept: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    records_moved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # [{"row": n, "code": "..."}]: row numbers and stable codes only, never a value from the row.
    rejections: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    source: Mapped[FeedSource] = relationship()


class SourceRecord(Base):
    """Which child a source's own record id is: re-sending a row updates, never duplicates."""

    __tablename__ = "source_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_sources.id"))
    source_record_id: Mapped[str] = mapped_column(Key(64))
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), index=True)
    # SHA-256 of the row as last applied: an identical row again is counted unchanged and skipped.
    row_digest: Mapped[str] = mapped_column(String(64))
    last_batch_id: Mapped[int] = mapped_column(ForeignKey("feed_batches.id"))

    __table_args__ = (Index("uq_source_records_source_record", "source_id", "source_record_id", unique=True),)


class FieldProvenance(Base):
    """Which source and batch set a child's field, and when (one row per child and field)."""

    __tablename__ = "field_provenance"
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), primary_key=True)
    field: Mapped[str] = mapped_column(Key(40), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_sources.id"))
    batch_id: Mapped[int] = mapped_column(ForeignKey("feed_batches.id"))
    # The source's priority when it set the field, and the date the source says the fact is from.
    priority: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[dt.date] = mapped_column(Date)
    set_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class MatchReview(Base):
    """A feed row that may be a child already on the directory: a person decides (the queue).

    Seen only by the management team of `local_authority_id` (the candidate's authority; for a
    candidate who is shielded, only that authority's team, whatever the row says).
    """

    __tablename__ = "match_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("feed_batches.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("feed_sources.id"))
    row_number: Mapped[int] = mapped_column(Integer)
    source_record_id: Mapped[str] = mapped_column(String(64))
    # The row as the feed sent it (the feed schema's fields only), applied when a person decides.
    incoming: Mapped[dict[str, Any]] = mapped_column(JSON)
    candidate_child_pk: Mapped[int | None] = mapped_column("candidate_child_id", ForeignKey("children.id"))
    match_probability: Mapped[float] = mapped_column(Float)
    # "possible_match" (between the thresholds) or "shielded_candidate" (may be a shielded child).
    held_because: Mapped[str] = mapped_column(String(30))
    local_authority_id: Mapped[int] = mapped_column(ForeignKey("local_authorities.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, same_child, different_children
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    decided_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # The child the row was applied to once decided (the candidate, or a new record).
    result_child_pk: Mapped[int | None] = mapped_column("result_child_id", ForeignKey("children.id"))

    candidate: Mapped[Child | None] = relationship(foreign_keys=[candidate_child_pk])


class RecordReport(Base):
    """A practitioner's "this is not right" about a record: a problem from a fixed list, no free text."""

    __tablename__ = "record_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    child_pk: Mapped[int] = mapped_column("child_id", ForeignKey("children.id"), index=True)
    reporter_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    problem: Mapped[str] = mapped_column(String(40))
    local_authority_id: Mapped[int] = mapped_column(ForeignKey("local_authorities.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, corrected, not_upheld
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    resolved_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    child: Mapped[Child] = relationship()


# Household shielding (cpserver.domain.household_shield) looks shielded households up by these
# normalised facts; expression indexes, so every write path (seed, feeds) keeps them without help.
_SPACE: ColumnElement[str] = literal_column("' '")
_NOTHING: ColumnElement[str] = literal_column("''")
# A nested function does not tell SQLAlchemy which table the index is on (it was left out of the
# metadata, so `create_all` skipped it and the migration check saw an unknown index): say so.
_CARERS_TABLE: Table = Carer.__table__  # type: ignore[assignment]  # declarative gives a FromClause type
_CARERS_TABLE.append_constraint(
    Index("ix_carers_postcode_key", func.replace(func.upper(Carer.postcode), _SPACE, _NOTHING))
)
Index("ix_carers_telephone_key", func.replace(Carer.telephone, _SPACE, _NOTHING))
Index("ix_children_telephone_key", func.replace(Child.telephone, _SPACE, _NOTHING))
# The shielded few (about 0.5% of children), for the household probe of every view and search: partial
# indexes hold only them, so finding the shields near a record reads no other child (migration 0010).
# `IS true` as written, on both databases (SQLAlchemy's `IS 1` on SQLite would not match the queries'
# `IS true`, and SQLite uses a partial index only for a query that states its condition).
_SHIELDED = Child.shielded.is_(literal_column("true"))
Index(
    "ix_children_shielded_postcode", Child.postcode_norm, postgresql_where=_SHIELDED, sqlite_where=_SHIELDED
)
Index(
    "ix_children_shielded_telephone_key",
    func.replace(Child.telephone, _SPACE, _NOTHING),
    postgresql_where=_SHIELDED,
    sqlite_where=_SHIELDED,
)
Index("ix_children_shielded_id", Child.id, postgresql_where=_SHIELDED, sqlite_where=_SHIELDED)
# The shielded born on a day, for the matcher's shield sweep (migration 0014).
Index("ix_children_shielded_dob", Child.date_of_birth, postgresql_where=_SHIELDED, sqlite_where=_SHIELDED)
# And the carers of those children, by the same keys as the whole-table indexes (migration 0011).
_CHILD_SHIELDED = Carer.child_shielded.is_(literal_column("true"))
_CARERS_TABLE.append_constraint(
    Index(
        "ix_carers_shielded_postcode_key",
        func.replace(func.upper(Carer.postcode), _SPACE, _NOTHING),
        postgresql_where=_CHILD_SHIELDED,
        sqlite_where=_CHILD_SHIELDED,
    )
)
Index(
    "ix_carers_shielded_telephone_key",
    func.replace(Carer.telephone, _SPACE, _NOTHING),
    postgresql_where=_CHILD_SHIELDED,
    sqlite_where=_CHILD_SHIELDED,
)
# Rate limits per workstation (cpserver.domain.rate_limits) count its recent searches and views.
Index(
    "ix_audit_events_workstation_action_time",
    AuditEvent.workstation,
    AuditEvent.action,
    AuditEvent.occurred_at,
)
