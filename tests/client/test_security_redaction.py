"""Log redaction: personal data never reaches a log line, from Python or from Qt."""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import qInstallMessageHandler, qWarning

from cpclient.security.redaction import (
    MAX_SENSITIVE_ENTRIES,
    clear_sensitive,
    install_redacting_logging,
    redact,
    register_sensitive,
)

log = logging.getLogger("cpclient.test")


@pytest.fixture
def redaction():
    installed = install_redacting_logging()
    yield installed
    installed.uninstall()
    clear_sensitive()


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [
        ("postcode ZZ99 3VZ", "[postcode]"),
        ("postcode zz993vz", "[postcode]"),
        ("postcode SW1A 1AA", "[postcode]"),
        ("call 01632 960123", "[phone]"),
        ("call +44 7700 900123", "[phone]"),
        ("call 020 7946 0018", "[phone]"),
        ("mail sam.example@school.example.org", "[email]"),
        ("born 15/01/2009", "[date]"),
        ("born 2009-01-15", "[date]"),
        ("born 15 January 2009", "[date]"),
        ("Authorization: Bearer abc.DEF-123_x=", "[token]"),
        ('{"token": "abc123", "otp": "123456"}', "[secret]"),
        ("password=hunter2", "[secret]"),
    ],
)
def test_patterns_are_redacted(text, placeholder):
    redacted = redact(text)

    assert placeholder in redacted
    assert text.split(" ", 1)[-1] not in redacted


def test_ordinary_text_is_kept():
    text = "Search returned 12 results in 35 ms (HTTP 200, status ok)"
    assert redact(text) == text


def test_registered_names_are_redacted_whole_word_any_case():
    register_sensitive("Fictitious")
    register_sensitive("Childname")
    try:
        assert redact("opened FICTITIOUS childname record") == "opened [redacted] [redacted] record"
        assert redact("Fictitiously") == "Fictitiously"
    finally:
        clear_sensitive()
    assert redact("Fictitious") == "Fictitious"


def test_registry_is_bounded():
    try:
        for number in range(MAX_SENSITIVE_ENTRIES + 10):
            register_sensitive(f"name{number:04d}")
        assert redact("name0000") == "name0000"
        assert redact(f"name{MAX_SENSITIVE_ENTRIES + 9:04d}") == "[redacted]"
    finally:
        clear_sensitive()


def test_a_log_line_with_name_postcode_and_phone_comes_out_redacted(caplog, redaction):
    register_sensitive("Fictitious Example")

    with caplog.at_level(logging.INFO):
        log.info("opened %s at %s, phone %s", "Fictitious Example", "ZZ99 3VZ", "01632 960123")

    assert caplog.messages == ["opened [redacted] at [postcode], phone [phone]"]
    assert "ZZ99" not in caplog.text and "Fictitious" not in caplog.text


def test_exception_text_is_redacted(caplog, redaction):
    with caplog.at_level(logging.ERROR):
        try:
            raise ValueError("no child at ZZ99 3VZ")
        except ValueError:
            log.exception("lookup failed")

    assert "ZZ99" not in caplog.text
    assert "no child at [postcode]" in caplog.text


def test_qt_messages_are_redacted_into_python_logging_and_still_reach_the_previous_handler(caplog):
    seen = []
    previous = qInstallMessageHandler(lambda kind, context, message: seen.append(message))
    try:
        installed = install_redacting_logging()
        try:
            with caplog.at_level(logging.DEBUG, logger="qt"):
                qWarning("child at ZZ99 3VZ")
        finally:
            installed.uninstall()
    finally:
        qInstallMessageHandler(previous)

    assert seen == ["child at [postcode]"]
    assert [record.getMessage() for record in caplog.records if record.name == "qt"] == [
        "default: child at [postcode]"
    ]


def test_uninstall_restores_the_previous_handler_and_factory():
    factory = logging.getLogRecordFactory()
    seen = []
    previous = qInstallMessageHandler(lambda kind, context, message: seen.append(message))
    try:
        install_redacting_logging().uninstall()
        qWarning("after uninstall ZZ99 3VZ")
    finally:
        qInstallMessageHandler(previous)

    assert seen == ["after uninstall ZZ99 3VZ"]
    assert logging.getLogRecordFactory() is factory


@pytest.mark.qt_log_level_fail("NO")
def test_pytest_qt_still_sees_qt_warnings_redacted(qtlog):
    installed = install_redacting_logging()
    try:
        qWarning("a warning about ZZ99 3VZ")
    finally:
        installed.uninstall()

    assert [(record.type_name, record.message) for record in qtlog.records] == [
        ("QtWarningMsg", "a warning about [postcode]")
    ]
