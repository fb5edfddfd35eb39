"""The production recipe: nginx (deploy/nginx.conf) in front of ``panel serve`` keeps the panel answering while
slow clients hold connections open (bench/slow_clients.py, with fewer clients), and README.md points at the
files, with no copy. The wheel's own run behind nginx is deploy/smoke.py, which CI runs (it builds a venv)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not os.access("/usr/sbin/nginx", os.X_OK), reason="needs Debian's nginx (apt-get install nginx)")
def test_the_panel_behind_nginx_answers_while_slow_clients_hold_connections_open():
    result = subprocess.run(
        [sys.executable, "bench/slow_clients.py", "--connections", "200", "--requests", "20", "--timeout", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RESULT: PASS" in result.stdout


def test_readme_points_at_the_deploy_files_and_keeps_no_copy_of_them():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "deploy/nginx.conf" in readme
    assert "panel/gunicorn_conf.py" in readme
    assert "proxy_pass" not in readme
