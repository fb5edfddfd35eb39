#!/usr/bin/env python
"""In a checkout: ``python manage.py <command>``, the same as the installed ``panel`` command."""

from panel.cli import main

if __name__ == "__main__":
    main()
