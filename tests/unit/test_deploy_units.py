"""deploy/'s systemd units and example environment file: systemd accepts them (``systemd-analyze verify``, when
the machine has it), they run `panel serve` and `panel housekeeping` sandboxed, and the example environment
names only variables Panel reads, with values it accepts."""

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from core import conf
from core.env import DERIVED

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("panel.service", "panel-housekeeping.service", "panel-housekeeping.timer")
PANEL = "/opt/panel/venv/bin/panel"
ENV_FILE = "/etc/panel/panel.env"
# Variables of the example file that are not Panel's: gunicorn's own worker count.
NOT_PANELS = {"WEB_CONCURRENCY"}
# An assignment, or one commented out to show an optional variable.
ASSIGNMENT = re.compile(r"^#?([A-Z][A-Z0-9_]*)=(.*)$")
SANDBOX = {
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter": "@system-service",
    "ReadWritePaths": "/var/lib/panel",
    "StateDirectory": "panel",
}


def unit(name):
    """A unit file as {section: {key: value}} (systemd's own syntax is this much INI)."""
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",), comment_prefixes=("#",))
    parser.optionxform = str  # keys are case-sensitive
    parser.read(DEPLOY / name, encoding="utf-8")
    return {section: dict(parser[section]) for section in parser.sections()}


def example_assignments():
    lines = (DEPLOY / "panel.env.example").read_text(encoding="utf-8").splitlines()
    return [(match[1], match[2], line.startswith("#")) for line in lines if (match := ASSIGNMENT.match(line))]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze (Debian's systemd)")
def test_systemd_accepts_the_units(tmp_path):
    """``verify`` needs the executables to exist: the copies point at a stand-in for the installed `panel`."""
    stand_in = tmp_path / "panel"
    stand_in.write_text("#!/bin/sh\n", encoding="utf-8")
    stand_in.chmod(0o755)
    for name in UNITS:
        text = (DEPLOY / name).read_text(encoding="utf-8")
        (tmp_path / name).write_text(text.replace(PANEL, str(stand_in)), encoding="utf-8")

    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Unknown keys and bad values are only warnings: any output at all fails.
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


def test_the_web_service_runs_panel_serve_as_its_own_user_from_the_environment_file():
    service = unit("panel.service")["Service"]
    assert service["ExecStart"] == f"{PANEL} serve"
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["User"] == "panel"
    assert service["WorkingDirectory"] == "/var/lib/panel"
    assert service["Restart"] == "on-failure"
    assert unit("panel.service")["Install"]["WantedBy"] == "multi-user.target"


def test_the_housekeeping_service_runs_once_per_start_with_the_same_environment():
    service = unit("panel-housekeeping.service")["Service"]
    assert service["ExecStart"] == f"{PANEL} housekeeping"
    assert service["Type"] == "oneshot"
    assert service["EnvironmentFile"] == ENV_FILE
    assert service["User"] == "panel"


def test_the_timer_starts_housekeeping_hourly_and_catches_up_after_downtime():
    timer = unit("panel-housekeeping.timer")
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["Unit"] == "panel-housekeeping.service"
    assert "RandomizedDelaySec" in timer["Timer"]
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.parametrize("name", ["panel.service", "panel-housekeeping.service"])
def test_each_service_is_sandboxed(name):
    service = unit(name)["Service"]
    assert {key: service.get(key) for key in SANDBOX} == SANDBOX


def test_both_services_share_one_sandbox():
    """Everything but what each runs and how is the same, so the job runs where the panel does."""
    own = {"Type", "ExecStart", "ExecReload", "KillMode", "TimeoutStopSec", "Restart", "RestartSec"}
    web, job = (unit(name)["Service"] for name in ("panel.service", "panel-housekeeping.service"))
    assert {k: v for k, v in web.items() if k not in own} == {k: v for k, v in job.items() if k not in own}


def test_the_example_environment_names_only_variables_of_the_catalogue():
    names = [name for name, _, _ in example_assignments()]
    assert set(names) - NOT_PANELS <= set(conf.CATALOGUE), set(names) - NOT_PANELS - set(conf.CATALOGUE)
    assert len(names) == len(set(names))


def test_the_example_environment_sets_what_production_needs():
    required = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "PANEL_HTTPS", "EMAIL_URL"}
    set_ = {name for name, _, commented in example_assignments() if not commented}
    assert required <= set_
    assert dict((name, value) for name, value, _ in example_assignments())["PANEL_VAR_DIR"] == "/var/lib/panel"


def test_the_example_environments_values_are_accepted(monkeypatch):
    for name, value, commented in example_assignments():
        if not commented:
            monkeypatch.setenv(name, value)
    for name, _, commented in example_assignments():
        if not commented and name in conf.CATALOGUE:
            conf.value(name, *(("",) if conf.CATALOGUE[name].default is DERIVED else ()))  # raises if refused


def test_sh_reads_the_example_environment_as_systemd_does():
    """Operator commands source the file with `sh` (README): every value must read the same there."""
    result = subprocess.run(
        ["sh", "-c", 'set -a; . "$0"; env', str(DEPLOY / "panel.env.example")],
        capture_output=True,
        text=True,
        env={},
        check=True,
    )
    from_sh = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    for name, value, commented in example_assignments():
        if not commented:
            assert from_sh[name] == value, name
