"""The watermark: visible, faint, following its parent, naming the user and the time."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from cpclient.security.watermark import Watermark, watermark_text

FIXED = datetime(2009, 1, 15, 9, 5, 30)


def non_background_pixels(image: QImage, background: QColor) -> int:
    image = image.convertToFormat(QImage.Format.Format_RGB32)
    count = 0
    for y in range(0, image.height(), 2):
        for x in range(0, image.width(), 2):
            if image.pixelColor(x, y) != background:
                count += 1
    return count


def make_parent(qtbot):
    parent = QWidget()
    parent.setAutoFillBackground(True)
    parent.resize(QSize(480, 320))
    qtbot.addWidget(parent)
    return parent


def test_text_names_user_and_time():
    assert watermark_text("Sam Practitioner", FIXED) == "Sam Practitioner · 15 Jan 2009 09:05"


def test_watermark_paints_over_its_parent(qtbot):
    parent = make_parent(qtbot)
    background = parent.palette().color(QPalette.ColorRole.Window)
    parent.show()
    qtbot.waitExposed(parent)
    blank = non_background_pixels(parent.grab().toImage(), background)

    watermark = Watermark(parent, "Sam Practitioner", clock=lambda: FIXED)

    assert blank == 0
    assert watermark.text == "Sam Practitioner · 15 Jan 2009 09:05"
    qtbot.waitUntil(lambda: non_background_pixels(parent.grab().toImage(), background) > 100)


def test_watermark_is_faint(qtbot):
    parent = make_parent(qtbot)
    background = parent.palette().color(QPalette.ColorRole.Window)
    Watermark(parent, "Sam Practitioner", clock=lambda: FIXED)
    parent.show()
    qtbot.waitExposed(parent)

    image = parent.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    darkest = min(
        image.pixelColor(x, y).lightness() for y in range(image.height()) for x in range(0, image.width(), 3)
    )
    assert darkest > background.lightness() * 0.6


def test_watermark_resizes_with_its_parent_and_ignores_the_mouse(qtbot):
    parent = make_parent(qtbot)
    watermark = Watermark(parent, "Sam Practitioner", clock=lambda: FIXED)
    parent.show()
    qtbot.waitExposed(parent)

    parent.resize(700, 500)

    qtbot.waitUntil(lambda: watermark.geometry() == parent.rect())
    assert watermark.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    assert watermark.focusPolicy() == Qt.FocusPolicy.NoFocus


def test_watermark_stays_above_children_added_later(qtbot):
    parent = make_parent(qtbot)
    watermark = Watermark(parent, "Sam Practitioner", clock=lambda: FIXED)
    parent.show()
    label = QLabel("Fictitious Child", parent)
    label.show()

    # raise_() moves a widget to the end of its parent's children: the top of the stack.
    qtbot.waitUntil(lambda: parent.children()[-1] is watermark)


def test_set_user_changes_the_text(qtbot):
    parent = make_parent(qtbot)
    watermark = Watermark(parent, clock=lambda: FIXED)

    watermark.set_user("Alex Trainer")

    assert watermark.text.startswith("Alex Trainer · ")


def test_the_clock_is_read_again_each_minute(qtbot):
    parent = make_parent(qtbot)
    times = iter([datetime(2009, 1, 15, 9, 5, 59, 900_000), datetime(2009, 1, 15, 9, 6, 0)])
    now = [next(times)]
    watermark = Watermark(parent, "Sam", clock=lambda: now[0])
    assert watermark.text.endswith("09:05")

    now[0] = next(times)
    watermark._timer.timeout.emit()  # the minute tick, without waiting a minute

    assert watermark.text.endswith("09:06")
