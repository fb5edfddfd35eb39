"""The ``panel`` command (console entry point; ``manage.py`` in a checkout calls it too).

``panel <command>`` runs any of Django's management commands with Panel's settings, from any
directory, configured only by environment variables. Two more:

- ``panel serve [gunicorn options]`` starts gunicorn with the production settings (panel.gunicorn_conf);
- ``panel --version`` prints Panel's version (``panel version`` prints Django's, as Django does).
"""

import os
import sys

import panel

SERVE_CONFIG = "python:panel.gunicorn_conf"


def main(argv=None):
    argv = list(sys.argv if argv is None else argv)
    command = argv[1] if len(argv) > 1 else ""
    if command == "--version":
        print(f"panel {panel.__version__}")
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")
    if command == "serve":
        serve(argv[2:])
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


def serve(options):
    """gunicorn in this process, so that a service manager's signals reach its master directly."""
    from gunicorn.app.wsgiapp import WSGIApplication

    # gunicorn reads its options from sys.argv; those given here come after the config file's.
    sys.argv = ["panel serve", "-c", SERVE_CONFIG, *options]
    WSGIApplication("%(prog)s [OPTIONS]", prog="panel serve").run()
