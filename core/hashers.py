"""Argon2id with the cost the settings give (PANEL_ARGON2_MEMORY_KIB, _TIME_COST, _PARALLELISM).

Django's own Argon2PasswordHasher fixes m=100 MiB, t=2, p=8: every login under way holds about
100 MiB, so a few concurrent logins dwarf a worker. The default here is OWASP's first
recommendation (m=19 MiB, t=2, p=1), and core.conf refuses anything below it.

The algorithm name stays "argon2", so hashes made with Django's parameters still verify; Django's
``must_update`` sees their parameters differ from these and rehashes the password at the next
successful login (``User.check_password``), so stored hashes follow the setting.
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    algorithm = "argon2"

    # Read at each hash, not at import: a changed setting (tests' override_settings) applies at once.
    @property
    def memory_cost(self):
        return settings.PANEL_ARGON2_MEMORY_KIB

    @property
    def time_cost(self):
        return settings.PANEL_ARGON2_TIME_COST

    @property
    def parallelism(self):
        return settings.PANEL_ARGON2_PARALLELISM
