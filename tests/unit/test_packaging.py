"""The wheel carries the compiled translations: pyproject.toml's package-data takes every app's locale/ files.

deploy/smoke.py builds the real wheel and checks that it holds some of them (CI runs it); this checks the rule
itself, quickly, for every .mo and .po in the checkout.
"""

import fnmatch
import tomllib

from tests import pseudo_locale

ROOT = pseudo_locale.ROOT


def _package_data():
    with open(ROOT / "pyproject.toml", "rb") as pyproject:
        return tomllib.load(pyproject)["tool"]["setuptools"]["package-data"]["*"]


def _in_the_wheel(path_in_package):
    # fnmatch's * also matches "/", as setuptools' recursive ** does here.
    return any(fnmatch.fnmatch(path_in_package, pattern) for pattern in _package_data())


def test_the_wheel_takes_every_apps_translations():
    examples = [
        f"locale/{language}/LC_MESSAGES/{domain}.{kind}"
        for language in ("zh_Hans", "zh_Hant")
        for domain in ("django", "djangojs")
        for kind in ("mo", "po")
    ]
    files = [path for app in pseudo_locale.APPS for path in (ROOT / app).glob("locale/**/*.[mp]o")]
    left_out = [
        str(path.relative_to(ROOT)) for path in files if not _in_the_wheel(str(path.relative_to(path.parents[3])))
    ]
    left_out += [example for example in examples if not _in_the_wheel(example)]
    assert not left_out, f"pyproject.toml's package-data leaves out {left_out}"
