"""``python -m panel ...``: the ``panel`` command, for when the console script is not on PATH."""

from panel.cli import main

main()
