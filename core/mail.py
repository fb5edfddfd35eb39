"""Mail goes out after the answer: no request waits for an SMTP server, and none times differently for it.

``send(job, about=...)`` hands ``job`` (a callable that sends mail, e.g. ``message.send``) to one
background thread per process, fed by a queue and started on first use; ``send_after_commit`` does
the same once the current transaction commits, so that a change that rolls back says nothing. The
thread runs jobs one at a time; a job that raises is logged (``about`` says what it was, naming a
user by id, never by address) and never reaches the user. A job may read the database: the thread
closes its connections after each one.

When the process exits (a gunicorn worker restarting, say), what is still queued is sent for at
most ``EMAIL_TIMEOUT`` seconds more; what is left then is logged, not dropped silently.

With the setting ``MAIL_IN_BACKGROUND = False`` (the tests' choice, tests/conftest.py) a job runs
at once in the caller's thread, so that mail is in ``django.core.mail.outbox`` when the call returns.
``wait_until_sent(timeout)`` waits for what is queued (tests that use a real SMTP server, benchmarks).
"""

import atexit
import logging
import os
import queue
import threading

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

_start_lock = threading.Lock()
_jobs = None  # the queue of (job, about), made with the thread that reads it
_sender = None
_sender_pid = None


def send(job, *, about):
    """Run ``job()`` in the background sender now, after the answer rather than before it.

    The job runs in the caller's language and time zone (both are per thread): what it renders reads as
    it would have in the request.
    """
    job = _as_caller(job)
    if not settings.MAIL_IN_BACKGROUND:
        _run(job, about)
        return
    _queue().put((job, about))


def _as_caller(job):
    """``job`` bound to the language and the time zone active now."""
    language, zone = translation.get_language(), timezone.get_current_timezone()

    def run():
        with translation.override(language), timezone.override(zone):
            job()

    return run


def send_after_commit(job, *, about):
    """``send(job)`` once the current transaction commits (at once outside one); never if it rolls back."""
    transaction.on_commit(lambda: send(job, about=about))


def wait_until_sent(timeout):
    """Wait up to ``timeout`` seconds for every job queued so far; True if they all ran."""
    if _sender is None or _sender_pid != os.getpid():
        return True
    done = threading.Event()
    _jobs.put((done.set, "the end-of-queue marker"))  # one thread, in order: when it runs, all before it ran
    return done.wait(timeout)


def _run(job, about):
    try:
        job()
    except Exception:  # SMTP down, a refused address...: the request that queued it has long been answered
        logger.exception("Could not send %s.", about)


def _send_forever(jobs):
    while True:
        job, about = jobs.get()
        try:
            _run(job, about)
        finally:
            connections.close_all()  # this thread's own connections: a job may have read the database


def _queue():
    """The sender's queue, with its thread started in this process (after a fork the parent's is gone)."""
    global _jobs, _sender, _sender_pid
    with _start_lock:
        if _sender is None or _sender_pid != os.getpid() or not _sender.is_alive():
            _jobs = queue.SimpleQueue()
            _sender = threading.Thread(target=_send_forever, args=(_jobs,), name="panel-mail", daemon=True)
            _sender.start()
            if _sender_pid is None:
                atexit.register(_drain_at_exit)
            _sender_pid = os.getpid()
        return _jobs


def _drain_at_exit():
    if _sender_pid != os.getpid() or wait_until_sent(settings.EMAIL_TIMEOUT):
        return
    logger.error(
        "The process is exiting with about %d email(s) not sent after waiting %s s for the SMTP server.",
        _jobs.qsize(),
        settings.EMAIL_TIMEOUT,
    )
