"""Client-side protections: nothing leaves the screen, and the machine's policy is obeyed.

The server enforces every rule; these modules make the client show the rules and keep record data
on the screen only:

- ``policy``: the machine-wide managed policy users cannot override (server, CA bundle, idle timeout).
- ``preferences``: the per-user preferences, limited to window geometry and state.
- ``workstation``: the workstation enrolment identifier kept in the OS keyring (nothing else goes there).
- ``lockdown``: no printing, copying, saving, dragging or context menus on record data; clipboard
  clearing; exclusion of windows from screen capture where the OS allows it.
- ``watermark``: a faint overlay naming the signed-in user and the time, tiled over record views.
- ``idle``: a signal after a period without user input, so the UI can lock.
- ``redaction``: personal data removed from every log line, Python's and Qt's.

None of these modules imports ``PySide6.QtPrintSupport``, and the lockdown refuses its import.
"""
