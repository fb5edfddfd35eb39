import os

from django.core.wsgi import get_wsgi_application

from core.memory import return_large_blocks

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")
# In every serving process (each gunicorn worker imports this module): a login's Argon2 memory goes back
# to the system when the hash ends, not into the worker's heap for good (core/memory.py).
return_large_blocks()
application = get_wsgi_application()
