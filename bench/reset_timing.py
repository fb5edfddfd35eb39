"""Benchmark of the password reset page: does its timing tell whether an address has an account?

Run with ``.venv/bin/python bench/reset_timing.py`` (``make bench`` runs it after the other
benchmarks). It never touches the developer's database: it creates a migrated test database (a
file in a temporary folder for SQLite, ``test_<name>_reset`` on the server DATABASE_URL points at)
and drops it at the end. Mail goes to a real SMTP server (aiosmtpd) on 127.0.0.1 in this process.

It times ``POST /password-reset/`` through django.test.Client for an address that belongs to an
account and for one that belongs to none, interleaved (each round one of each, the order
alternating), in two ways:

- as the panel runs (``MAIL_IN_BACKGROUND = True``, core.mail): the request only queues the address;
  target: median (existing) / median (unknown) at most MAX_RATIO, and every existing address's
  link reaches the SMTP server;
- for comparison, sending in the request, as before core.mail (``MAIL_IN_BACKGROUND = False``): no target.

Between two timed requests it waits, untimed, until the sender has finished, so that one request's
mail is never sent during the next. The reset limits are raised for the run (a throttled request
queues nothing) under a cache key prefix of the benchmark's own. The exit status is 1 if a target
fails. See bench/README.md.
"""

import argparse
import dataclasses
import gc
import logging
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)

MAX_RATIO = 1.1  # median for an existing address / median for an unknown one
EXISTING, UNKNOWN = "reset-bench@example.test", "nobody-here@example.test"
IP = "192.0.2.77"
SENT_URL = "/password-reset/sent/"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200, help="timed requests per address and way (default 200)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed rounds first (default 10)")
    args = parser.parse_args()
    if args.rounds < 2 or args.warmup < 0:
        parser.error("--rounds must be at least 2, --warmup at least 0")
    return args


def ask(client, address):
    """One reset request, timed; checks it got the usual answer."""
    from core import mail

    started = time.perf_counter()
    response = client.post("/password-reset/", {"email": address}, REMOTE_ADDR=IP)
    seconds = time.perf_counter() - started
    if response.status_code != 302 or response["Location"] != SENT_URL:
        raise SystemExit(f"unexpected answer for {address}: {response.status_code}")
    if not mail.wait_until_sent(30):  # untimed: the next request starts with the sender idle
        raise SystemExit("the mail sender did not finish within 30 s")
    return seconds


def measure(client, *, rounds, warmup):
    """Interleaved timings, in ms: {address: [samples]}."""
    samples = {EXISTING: [], UNKNOWN: []}
    for n in range(warmup + rounds):
        for address in (EXISTING, UNKNOWN) if n % 2 == 0 else (UNKNOWN, EXISTING):
            seconds = ask(client, address)
            if n >= warmup:
                samples[address].append(seconds * 1000)
    return samples


def median_p90(samples):
    return statistics.median(samples), statistics.quantiles(samples, n=10)[-1]


def report(label, samples):
    existing, unknown = median_p90(samples[EXISTING]), median_p90(samples[UNKNOWN])
    ratio = existing[0] / unknown[0]
    print(f"{label}")
    print(f"  {'address':<10} {'median ms':>10} {'p90 ms':>8}")
    print(f"  {'existing':<10} {existing[0]:>10.2f} {existing[1]:>8.2f}")
    print(f"  {'unknown':<10} {unknown[0]:>10.2f} {unknown[1]:>8.2f}")
    print(f"  ratio of medians existing/unknown: {ratio:.3f}")
    return ratio


def main():
    args = parse_args()
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-reset-")
    test_name = prepare_environment(tmp_dir, "reset")

    import django

    django.setup()
    from django.conf import settings

    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's account of every SMTP command

    # Our own key prefix, set before the cache is first used: nothing we write can meet the panel's keys.
    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-reset-{uuid.uuid4().hex[:12]}"

    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

    from accounts.models import User
    from panel import password_reset
    from tests.smtp_server import smtp_server, use_smtp

    limits = password_reset.RESETS_PER_ADDRESS, password_reset.RESETS_PER_IP
    password_reset.RESETS_PER_ADDRESS, password_reset.RESETS_PER_IP = (
        dataclasses.replace(limit, limit=10**9) for limit in limits
    )
    real_name = connection.settings_dict["NAME"]
    created = False
    setup_test_environment()  # it sets the local-memory mail backend; use_smtp sets the real one back
    try:
        create_database(tmp_dir, test_name, sqlite_file="bench_reset.sqlite3")
        created = True
        User.objects.create_user(username="reset-bench", email=EXISTING, password="Bench-pass-42")
        with smtp_server() as (port, inbox), override_settings():
            use_smtp(settings, port)
            print(
                f"Panel password reset timing: {vendor_label()}, SMTP aiosmtpd on 127.0.0.1:{port}, "
                f"{args.rounds} requests per address and way, interleaved"
            )
            print()
            client = Client()
            gc.disable()
            settings.MAIL_IN_BACKGROUND = False
            report(
                "sending in the request (as before core.mail; no target)",
                measure(client, rounds=args.rounds, warmup=args.warmup),
            )
            before = len(inbox.messages)
            settings.MAIL_IN_BACKGROUND = True
            ratio = report(
                "sending after the answer (core.mail, the panel's setting)",
                measure(client, rounds=args.rounds, warmup=args.warmup),
            )
            sent = len(inbox.messages) - before
            gc.enable()
        print()
        results = [
            (ratio <= MAX_RATIO, f"ratio of medians existing/unknown {ratio:.3f} <= {MAX_RATIO}"),
            (sent == args.rounds + args.warmup, f"links delivered to SMTP {sent} == {args.rounds + args.warmup}"),
        ]
        for passed, text in results:
            print(f"{'PASS' if passed else 'FAIL'}: {text}")
        passed = all(ok for ok, _ in results)
        print(f"RESULT: {'PASS' if passed else 'FAIL'}")
        return 0 if passed else 1
    finally:
        gc.enable()
        password_reset.RESETS_PER_ADDRESS, password_reset.RESETS_PER_IP = limits
        for limit, key in zip(limits, (EXISTING, IP), strict=True):
            try:
                limit.reset(key)
            except Exception as error:  # noqa: BLE001 (report and go on cleaning up)
                print(f"could not delete the benchmark's cache keys: {error}", file=sys.stderr)
        if created:
            connection.close()
            destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
