"""Benchmark-only settings: the panel's own, plus Django's admin for ``bench/user_list_vs_admin.py``.

The admin is never part of the panel itself; it is here only so that the user list can be measured
against Django admin's user changelist on the same data, in the same process.
"""

from panel.settings import *  # noqa: F403 (the panel's settings, unchanged)
from panel.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.admin"]
ROOT_URLCONF = "bench.admin_urls"
