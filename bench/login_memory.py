"""(d) of bench/login.py: logins per second with several at once, and the memory each one holds.

Each of ``threads`` threads logs the same user in ``rounds`` times through
``django.contrib.auth.authenticate`` (the settings' backends and hashers, one
SQL read and one Argon2id verification each); argon2-cffi releases the GIL while
it hashes, so the threads hash at the same time as a server's workers would.

The memory is the process's peak RSS (``VmHWM`` in /proc/self/status), reset to
the current RSS just before the threads start (writing 5 to
/proc/self/clear_refs, Linux 4.0 and later), minus that RSS: what the logins
under way added, divided by the number of them. Each Argon2id hash allocates its
memory cost ``m`` while it runs, so the figure is about ``m`` plus a thread's
own stack and Django's objects.
"""

import threading
import time
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")
# A few MiB beside the hash's own memory: a thread's stack, its database connection, Django's objects.
HEADROOM_KIB = 5 * 1024


def status_kib(field):
    """A ``VmRSS``-like field of /proc/self/status, in KiB."""
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise SystemExit(f"/proc/self/status has no {field}")


def reset_peak():
    """Set VmHWM back to the current RSS; False where the kernel does not allow it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return status_kib("VmHWM") <= status_kib("VmRSS") + 256


def measure(username, password, *, threads, rounds):
    """Returns (logins per second, peak KiB per concurrent login, baseline RSS KiB, peak RSS KiB, peak reset?)."""
    from django.contrib.auth import authenticate
    from django.db import connection

    failures = []
    start_line = threading.Barrier(threads + 1)

    def log_in():
        try:
            start_line.wait()
            for _ in range(rounds):
                if authenticate(None, username=username, password=password) is None:
                    failures.append("refused")
        except Exception as error:  # noqa: BLE001 (reported below, after every thread ended)
            failures.append(repr(error))
        finally:
            connection.close()  # each thread has its own connection

    authenticate(None, username=username, password=password)  # warm-up: the library, the query, the connection
    workers = [threading.Thread(target=log_in) for _ in range(threads)]
    for worker in workers:
        worker.start()
    time.sleep(0.2)  # every thread created and waiting, its stack touched, before the baseline
    was_reset = reset_peak()
    baseline = status_kib("VmRSS")
    started = time.perf_counter()
    start_line.wait()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    if failures:
        raise SystemExit(f"concurrent logins failed: {failures[:3]}")
    peak = status_kib("VmHWM")
    return threads * rounds / wall, (peak - baseline) / threads, baseline, peak, was_reset
