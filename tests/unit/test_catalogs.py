"""The Chinese catalogs are complete and current: every app has both, msgfmt finds nothing untranslated, fuzzy or
malformed, each committed .mo says what its .po says, and each .po holds exactly the messages the app's source
marks today (``makemessages`` was re-run after the last change).

These need GNU gettext (msgfmt, xgettext, msgmerge, msguniq): without it they skip, saying so; .ci/run installs it,
so CI never skips them.
"""

import gettext
import os
import re
import shutil
import subprocess
import sys

import pytest

from tests import pseudo_locale

ROOT = pseudo_locale.ROOT
LANGUAGES = ("zh_Hans", "zh_Hant")
APPS = pseudo_locale.APPS  # every app has text a person reads
JS_APPS = ("panel",)  # the apps whose JavaScript has strings (djangojs)
# What makemessages is told for the JavaScript: the vendored htmx and minified files are not ours.
JS_IGNORE = ["--ignore=static/vendor/*", "--ignore=*.min.js"]
GETTEXT_TOOLS = ("msgfmt", "xgettext", "msgmerge", "msguniq")

needs_gettext = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in GETTEXT_TOOLS),
    reason="GNU gettext (msgfmt, xgettext, msgmerge, msguniq) is not installed: apt-get install gettext "
    "(.ci/run installs it)",
)


def catalogs():
    """(app, language, domain) of every catalog the apps must have."""
    wanted = [(app, language, "django") for app in APPS for language in LANGUAGES]
    return wanted + [(app, language, "djangojs") for app in JS_APPS for language in LANGUAGES]


def po_path(app, language, domain):
    return ROOT / app / "locale" / language / "LC_MESSAGES" / f"{domain}.po"


def committed_catalogs():
    """Every Chinese .po in the project, wherever it is (an app may have a catalog nobody listed here)."""
    return sorted(path for language in LANGUAGES for path in ROOT.glob(f"*/locale/{language}/LC_MESSAGES/*.po"))


def _id(path):
    return str(path.relative_to(ROOT))


def test_every_app_has_both_chinese_catalogs():
    missing = [_id(po_path(*catalog)) for catalog in catalogs() if not po_path(*catalog).is_file()]
    missing += [_id(path.with_suffix(".mo")) for path in committed_catalogs() if not path.with_suffix(".mo").is_file()]
    assert not missing, (
        "missing catalogs (make them with makemessages, compile with msgfmt, commit both): " + ", ".join(missing)
    )


_STATISTICS = re.compile(r"(\d+) (translated message|fuzzy translation|untranslated message)")


@needs_gettext
@pytest.mark.parametrize("po", committed_catalogs(), ids=_id)
def test_a_catalog_has_nothing_untranslated_fuzzy_or_malformed(po, tmp_path):
    result = subprocess.run(
        ["msgfmt", "--statistics", "-c", "-o", str(tmp_path / "checked.mo"), str(po)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},  # the statistics line in English, to read it
    )
    assert result.returncode == 0, f"msgfmt -c refuses {_id(po)}:\n{result.stderr}"
    counts = {kind: int(count) for count, kind in _STATISTICS.findall(result.stderr)}
    assert counts.get("translated message", 0) > 0, result.stderr
    assert counts.get("fuzzy translation", 0) == 0, f"{_id(po)}: {result.stderr.strip()}"
    assert counts.get("untranslated message", 0) == 0, f"{_id(po)}: {result.stderr.strip()}"
    obsolete = [line for line in po.read_text(encoding="utf-8").splitlines() if line.startswith("#~")]
    assert not obsolete, f"{_id(po)} keeps obsolete entries (re-run makemessages with --no-obsolete): {obsolete[:3]}"


def _messages(mo_path):
    """A compiled catalog's messages and plural rule, as Python's gettext reads them."""
    with open(mo_path, "rb") as mo:
        translations = gettext.GNUTranslations(mo)
    plural = [translations.plural(n) for n in range(0, 30)]
    return translations._catalog, plural


@needs_gettext
@pytest.mark.parametrize("po", committed_catalogs(), ids=_id)
def test_the_committed_mo_is_compiled_from_its_po(po, tmp_path):
    """Compared as messages, not bytes: msgfmt versions lay a .mo out differently (hash table, order)."""
    mo = po.with_suffix(".mo")
    assert mo.is_file(), f"{_id(mo)} is missing: compile it (msgfmt -o django.mo django.po) and commit it"
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True, capture_output=True)
    assert _messages(mo) == _messages(fresh), f"{_id(mo)} is not what {_id(po)} compiles to: re-run msgfmt"


def _keys(po):
    """The messages of a .po file as (context, msgid, plural): what must match the source."""
    return {
        (entry.msgctxt, entry.msgid, entry.msgid_plural)
        for entry in pseudo_locale.parse_po(po)
        if entry.msgid and not entry.obsolete
    }


def _made_afresh(app, domain, tmp_path):
    """The catalog makemessages makes today from a copy of ``app`` (its Simplified Chinese one)."""
    copy = tmp_path / app
    shutil.copytree(ROOT / app, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.pyc"))
    # manage.py by its path: ``python -m`` would put the copy first on sys.path, and an app's module named like
    # one of the standard library's (mfa/selectors.py) would shadow it.
    command = [sys.executable, str(ROOT / "manage.py"), "makemessages", "-l", "zh_Hans", "-d", domain]
    command += ["--no-obsolete", "--add-location=file"] + (JS_IGNORE if domain == "djangojs" else [])
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "panel.settings"}
    (copy / "locale").mkdir(exist_ok=True)
    result = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return copy / "locale" / "zh_Hans" / "LC_MESSAGES" / f"{domain}.po"


@needs_gettext
@pytest.mark.parametrize(("app", "domain"), [(app, "django") for app in APPS] + [(app, "djangojs") for app in JS_APPS])
def test_each_catalog_holds_exactly_what_the_source_marks(app, domain, tmp_path):
    """Run makemessages on a copy of the app: the messages it finds are the committed catalogs' messages.

    A message marked since (or reworded) and not in the catalog would show in English; one no longer in the
    source is dead weight for the translators.
    """
    committed = [po_path(app, language, domain) for language in LANGUAGES]
    if not all(path.is_file() for path in committed):
        pytest.fail(f"{app} lacks its {domain} catalogs (see test_every_app_has_both_chinese_catalogs)")
    source = _keys(_made_afresh(app, domain, tmp_path))
    for path in committed:
        catalog = _keys(path)
        new, gone = sorted(source - catalog, key=str), sorted(catalog - source, key=str)
        assert not new and not gone, (
            f"{_id(path)} is not what makemessages makes from {app}/ today: "
            f"{len(new)} marked messages missing (first: {new[:5]}), {len(gone)} no longer in the source "
            f"(first: {gone[:5]}). Re-run makemessages (see README, Translations) and translate."
        )
