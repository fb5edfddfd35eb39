"""A serving process returns an Argon2 hash's memory to the system when the hash ends (core/memory.py)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Three hashes at the default cost (19 MiB), then how much the process's RSS grew, in MiB.
SCRIPT = """
import sys
from argon2 import low_level
import core.memory

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if sys.argv[1] == "fixed":
    assert core.memory.return_large_blocks()
before = rss()
for _ in range(3):
    low_level.hash_secret(b"pw", b"0123456789abcdef", time_cost=2, memory_cost=19456, parallelism=1,
                          hash_len=32, type=low_level.Type.ID)
print(rss() - before)
"""


def _growth(mode):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    return float(result.stdout)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_the_memory_of_a_hash_goes_back_to_the_system():
    assert _growth("fixed") < 4


def test_every_serving_process_sets_it():
    source = (ROOT / "panel" / "wsgi.py").read_text(encoding="utf-8")
    assert source.index("return_large_blocks()") < source.index("get_wsgi_application()\n")


def test_a_serving_process_does_not_load_the_test_framework():
    """django.test brings unittest and jinja2 (about 4 MB a worker): nothing the panel serves with may import it.

    django-ninja 1.7 does (pyproject.toml keeps 1.6 until that is fixed upstream)."""
    script = (
        "import sys; import panel.wsgi, django.urls; django.urls.get_resolver().url_patterns; "
        "print(sorted(name for name in ('django.test', 'unittest', 'jinja2') if name in sys.modules))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "panel.settings"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "[]"
