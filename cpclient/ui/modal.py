"""Asking, then acting: `open_modal` and `DialogActions`, the base of what asks in a dialog, then calls.

`open_modal` shows a dialog without blocking and acts on the person's answer when it closes.

A coroutine never calls `exec()` (a nested event loop inside the qasync loop); every dialog that asks
the person something is opened here instead. When it closes, `closed` runs whatever the answer was
(forget the dialog, give the window its focus back), then `accepted` if the person accepted it (read
the answer, start the call), and the dialog is deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QDialog, QWidget

from cpclient.ui.layout import fit_to_content

if TYPE_CHECKING:  # the main window imports open_modal before the API client is loaded
    from cpclient.api.client import ContactPointClient
    from cpclient.api.models import Meta
    from cpclient.ui.background import BackgroundCalls
    from cpclient.ui.client_mode import ClientMode

D = TypeVar("D", bound=QDialog)


def open_modal(
    dialog: D,
    accepted: Callable[[D], object] | None = None,
    closed: Callable[[], object] | None = None,
) -> D:
    """Open `dialog` window-modally and return it; see the module for what happens when it closes.

    Args:
        dialog: the dialog, not yet shown.
        accepted: called with the dialog (still readable) when the person accepted it.
        closed: called first when the dialog closes, however it closed.
    """

    def finished(result: int) -> None:
        if closed is not None:
            closed()
        if accepted is not None and result == QDialog.DialogCode.Accepted:
            accepted(dialog)
        dialog.deleteLater()

    dialog.finished.connect(finished)
    fit_to_content(dialog)
    dialog.open()
    return dialog


class DialogActions(QObject):
    """What asks the person in a dialog, then makes an API call off the Qt thread (`RecordOpener`, ...).

    Args:
        api: the API client.
        calls: runs the calls off the Qt thread.
        mode: live or training.
        window: the widget the dialogs belong to.
    """

    def __init__(
        self, api: ContactPointClient, calls: BackgroundCalls, mode: ClientMode, window: QWidget
    ) -> None:
        super().__init__(window)
        self._api = api
        self._calls = calls
        self._mode = mode
        self._window = window
        self._meta: Meta | None = None

    def set_meta(self, meta: Meta | None) -> None:
        """The server's lists (reasons, service types) and policy values the dialogs offer."""
        self._meta = meta
