"""Cold start to the login window, side by side with a bare PySide6 window, in one run.

    python bench/startup.py [--runs 9] [--platform xcb|offscreen] [--import-times]

Each round starts, in turn, a fresh Python process for: a bare PySide6 window (the yardstick), the
live client (`cpclient --server URL`), the training client (`cpclient --training`) until its window
is shown, and the training client until its sign-in form is ready (embedded server seeded and
checked). Every process is timed from the kernel's start of the process to the first paint of its
window (`bench/startup_probe.py`), so Python's own start-up counts. The rounds alternate the kinds so
that the machine's drift affects them alike; the report gives the median seconds of each kind and its
ratio to the bare window's median, and the median of the ratios taken round by round.

With `--platform xcb` (the default when Xvfb is installed) the windows open on a private Xvfb screen,
as on a desktop; otherwise Qt's offscreen platform is used. Targets (issue 12): the live login window
in at most 2x the bare window; in training mode the window appears first and the server warms up
behind it.

`--import-times` also prints what the live client imports before its window is shown, largest
cumulative first (from `python -X importtime`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE = HERE / "startup_probe.py"
UNREACHABLE_SERVER = "https://127.0.0.1:9"  # the discard port: nothing listens, nothing is sent
KINDS = {
    "bare": ["bare"],
    "live": ["live", UNREACHABLE_SERVER],
    "training": ["training"],
    "training-ready": ["training-ready"],
}


def start_xvfb() -> tuple[subprocess.Popen[bytes], str]:
    """A private Xvfb screen; returns the process and its DISPLAY."""
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1366x768x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        xvfb.kill()
        raise SystemExit("Xvfb did not start")
    return xvfb, f":{number}"


def run_probe(args: list[str], env: dict[str, str]) -> float:
    """Start one probe; return the seconds it reports (process start to window shown or ready)."""
    done = subprocess.run(
        [sys.executable, str(PROBE), *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    for line in done.stdout.splitlines():
        what, _, seconds = line.partition(" ")
        if what in ("shown", "ready"):
            return float(seconds)
    raise SystemExit(f"probe {args[0]} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")


def import_times(env: dict[str, str]) -> None:
    """Print the largest imports of the live client's start (cumulative microseconds)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(PROBE), *KINDS["live"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cumulative_us, name = line.split("|")
        rows.append((int(cumulative_us), name.rstrip()))
    print("\nlargest imports before the live window is shown (cumulative ms):")
    for microseconds, module in sorted(rows, reverse=True)[:25]:
        print(f"  {microseconds / 1000:8.1f}  {module}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9, help="rounds (each starts every kind once)")
    parser.add_argument("--platform", choices=("xcb", "offscreen"), default=None)
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated subset of " + ",".join(KINDS)
    )
    parser.add_argument("--import-times", action="store_true")
    options = parser.parse_args()
    kinds = [kind for kind in options.kinds.split(",") if kind]
    if "bare" not in kinds:
        kinds.insert(0, "bare")
    platform = options.platform or ("xcb" if shutil.which("Xvfb") else "offscreen")

    env = dict(os.environ)
    xvfb = None
    config = tempfile.TemporaryDirectory(prefix="cpclient-bench-")
    # A fresh settings folder: no remembered window geometry, as on a first start.
    env["XDG_CONFIG_HOME"] = config.name
    env.pop("PYTHON_KEYRING_BACKEND", None)
    if platform == "xcb":
        xvfb, env["DISPLAY"] = start_xvfb()
        env["QT_QPA_PLATFORM"] = "xcb"
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        for kind in kinds:  # warm the file cache and the bytecode once; not counted
            run_probe(KINDS[kind], env)
        times: dict[str, list[float]] = {kind: [] for kind in kinds}
        started = time.monotonic()
        for _ in range(options.runs):
            for kind in kinds:
                times[kind].append(run_probe(KINDS[kind], env))
        elapsed = time.monotonic() - started
        bare = statistics.median(times["bare"])
        print(f"cold start to window, {options.runs} rounds, platform {platform}, {elapsed:.0f} s in all")
        print(f"{'kind':16} {'median s':>9} {'min s':>7} {'max s':>7} {'x bare':>7} {'x bare/round':>13}")
        for kind in kinds:
            values = times[kind]
            paired = statistics.median(t / b for t, b in zip(values, times["bare"], strict=True))
            print(
                f"{kind:16} {statistics.median(values):9.3f} {min(values):7.3f} {max(values):7.3f} "
                f"{statistics.median(values) / bare:7.2f} {paired:13.2f}"
            )
        if options.import_times:
            import_times(env)
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(timeout=10)
        config.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
