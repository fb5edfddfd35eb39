"""gunicorn's settings for Panel behind deploy/nginx.conf, used by ``panel serve`` (panel.cli).

Sync workers block on a slow client's request until it is whole, so a few slow clients would
occupy every worker. nginx reads each request and each response in full before it hands it on,
so the workers only ever talk to nginx, which is fast; that is why the panel listens on loopback
only. gunicorn's own overrides still apply over these, in this order: ``GUNICORN_CMD_ARGS`` (e.g.
``--bind 127.0.0.1:8001``), then options after ``panel serve`` (``panel serve --workers 3``).
"""

import multiprocessing
import os

wsgi_app = "panel.wsgi"
bind = "127.0.0.1:8000"  # where deploy/nginx.conf proxies to; never expose it to clients
worker_class = "sync"
# WEB_CONCURRENCY is gunicorn's own variable for the worker count (panel.W001 reads it too).
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
timeout = 30  # a worker silent this long is killed and replaced (a request stuck in the database, say)
graceful_timeout = 30  # on restart, requests under way get this long to finish
# Defence in depth: a worker is replaced after 10,000 to 11,000 requests (the jitter keeps workers from
# restarting together), so that a leak in a library cannot grow a worker for ever. Not what keeps a
# worker small: bench/worker_memory.py runs 10,000 requests with recycling off (--max-requests 0), and
# a worker stays under 100 MB without it (see bench/README.md, "Worker memory").
max_requests = 10_000
max_requests_jitter = 1_000
# Only nginx, on this host, may say the request came over HTTPS (X-Forwarded-Proto).
forwarded_allow_ips = "127.0.0.1"
# The panel logs each request itself and nginx keeps an access log, so gunicorn's is off; turned on
# (--access-logfile -), each line has the client nginx saw, the path without its query, the status,
# the size, the time taken and the request ID the panel answered with.
access_log_format = '%({x-forwarded-for}i)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
errorlog = "-"  # gunicorn's own messages (workers started, killed, restarted) to stderr, for the journal
