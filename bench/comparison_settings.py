"""The panel's settings plus the benchmark's yardsticks: Django REST framework and bench/comparison_urls.py.

Only bench/api_auth.py uses it (``DJANGO_SETTINGS_MODULE=bench.comparison_settings``, for itself and
for the gunicorn server it starts). The panel never imports DRF; its ``[bench]`` extra installs it.
"""

from panel.settings import *  # noqa: F403
from panel.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework", "rest_framework.authtoken"]
ROOT_URLCONF = "bench.comparison_urls"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
}
