"""The panel's own folder (var/): created for its owner only, and files in it created 0600."""

import os
from pathlib import Path


def make_var_dir(var_dir: Path) -> Path:
    """``var_dir``, created if missing with access for its owner only (0700, whatever the umask).

    A directory that already exists keeps its permissions: a ``PANEL_VAR_DIR`` the operator made
    is theirs to set (a group may need to read it). What the panel puts in it (the secret key, the
    SQLite database) is created 0600 all the same. Parents created on the way get the umask's mode.
    """
    if var_dir.is_dir():
        return var_dir
    var_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        var_dir.mkdir(mode=0o700)
    except FileExistsError:
        return var_dir  # another process starting at the same moment made it
    var_dir.chmod(0o700)
    return var_dir


def create_owner_only(path: Path):
    """Create ``path`` empty and readable by its owner only (0600), unless it exists."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
