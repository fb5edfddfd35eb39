"""A pseudo-locale for the test that every visible message passes through gettext.

``build(directory)`` reads every msgid of the project's catalogs (``<app>/locale/zh_Hans/LC_MESSAGES/*.po``) and of
Django's own English catalogs (the framework's and its installed contrib apps'), and writes them as a language of
their own, ``PSEUDO`` (``en-xa``), in which each message reads ``⟪message⟫``: placeholders (``%(name)s``, ``%s``,
``{}``) stay inside and keep working, plural entries have both forms wrapped. A page rendered in that language
shows every translated message between markers; ``unmarked()`` returns what is shown outside them.

Why ``en-xa``: Django has no catalog of its own for it, so nothing else translates into it. gettext also looks
for a base language's catalog (``en``), but Django's English catalogs translate nothing (empty ``msgstr``) and
LOCALE_PATHS (where this one goes) is merged last, over them. ``get_language_info("en-xa")`` falls back to
English's, so a language switcher lists it without a KeyError. Activating it needs it in LANGUAGES (the test
overrides LANGUAGES, LANGUAGE_CODE and LOCALE_PATHS, and Django's setting_changed handlers clear
``trans_real``'s caches).

The .po files are parsed here and the .mo written with ``struct`` (the format is in GNU gettext's manual, "The
Format of GNU MO Files"), so the check needs neither msgfmt nor a new dependency.
"""

import ast
import re
import struct
import unicodedata
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import django
from django.apps import apps

PSEUDO = "en-xa"
PSEUDO_LOCALE = "en_XA"  # django.utils.translation.to_locale(PSEUDO)
OPEN, CLOSE = "⟪", "⟫"
ROOT = Path(__file__).resolve().parent.parent
APPS = ["core", "usersessions", "organisation", "accounts", "tokens", "mfa", "passkeys", "panel"]
DOMAINS = ("django", "djangojs")
_HEADER = "Content-Type: text/plain; charset=UTF-8\nPlural-Forms: nplurals=2; plural=(n != 1);\n"


# Reading .po files


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict = field(default_factory=dict)  # plural index (0 for a singular entry) -> text
    flags: set = field(default_factory=set)
    obsolete: bool = False

    @property
    def key(self):
        """The entry's key in a .mo file: context, EOT, msgid (NUL and plural for a plural entry)."""
        key = self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"
        return key if self.msgid_plural is None else f"{key}\x00{self.msgid_plural}"


_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


def _string(quoted):
    return ast.literal_eval(quoted)  # a C string literal reads as a Python one (no \x or octal in our catalogs)


def parse_po(path):
    """The entries of the .po file at ``path`` (the header, msgid "", included; obsolete ``#~`` ones marked)."""
    entries, entry, current = [], Entry(), None

    def finish():
        nonlocal entry, current
        if current is not None:
            entries.append(entry)
        entry, current = Entry(), None

    for raw in Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line or (line.startswith("#") and not obsolete):
            if line.startswith("#,"):
                if current is not None and current.startswith("msgstr"):
                    finish()
                entry.flags.update(flag.strip() for flag in line[2:].split(","))
            elif not line and current is not None:
                finish()
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, quoted = match.groups()
            if keyword in ("msgctxt", "msgid") and current is not None and current.startswith("msgstr"):
                finish()
            entry.obsolete = entry.obsolete or obsolete
            if keyword.startswith("msgstr"):
                current = f"msgstr{int(index or 0)}"
                entry.msgstr[int(index or 0)] = _string(quoted)
            else:
                current = keyword
                setattr(entry, keyword, _string(quoted))
        elif line.startswith('"') and current is not None:
            if current.startswith("msgstr"):
                entry.msgstr[int(current[6:])] += _string(line)
            else:
                setattr(entry, current, getattr(entry, current) + _string(line))
        else:
            raise ValueError(f"{path}: cannot read the line {raw!r}")
    finish()
    return entries


def project_catalogs(domain="django", language="zh_Hans"):
    """The project's catalogs of ``domain`` in ``language``: every ``<app>/locale/<language>/LC_MESSAGES/`` one."""
    return sorted(ROOT.glob(f"*/locale/{language}/LC_MESSAGES/{domain}.po"))


def django_catalogs():
    """Django's English catalogs: the framework's and those of the installed apps that have one (contrib apps)."""
    paths = [Path(django.__file__).parent / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po"]
    for app_config in apps.get_app_configs():
        path = Path(app_config.path) / "locale" / "en" / "LC_MESSAGES" / "django.po"
        # A library's catalog, even when its virtualenv sits inside the checkout (.venv): not one of the project's.
        library = Path(django.__file__).parent.parent in path.parents or ROOT not in path.parents
        if path.is_file() and library:
            paths.append(path)
    return paths


# Writing the pseudo-locale


def wrapped(text):
    return f"{OPEN}{text}{CLOSE}" if text else text


def pseudo_messages(paths):
    """{mo key: pseudo translation} for every live entry of the catalogs at ``paths``."""
    messages = {}
    for path in paths:
        for entry in parse_po(path):
            if entry.obsolete or not entry.msgid:
                continue
            if entry.msgid_plural is None:
                messages[entry.key] = wrapped(entry.msgid)
            else:
                messages[entry.key] = f"{wrapped(entry.msgid)}\x00{wrapped(entry.msgid_plural)}"
    return messages


def write_mo(path, messages):
    """Write ``messages`` ({key: translation}) as a GNU .mo file (little-endian, no hash table), with a header."""
    catalog = {"": _HEADER, **messages}
    keys = sorted(catalog, key=lambda key: key.encode())
    ids, strs, table = b"", b"", []
    for key in keys:
        encoded_id, encoded_str = key.encode(), catalog[key].encode()
        table.append((len(encoded_id), len(ids), len(encoded_str), len(strs)))
        ids += encoded_id + b"\x00"
        strs += encoded_str + b"\x00"
    count = len(keys)
    ids_start = 28 + 16 * count
    strs_start = ids_start + len(ids)
    header = struct.pack("<7I", 0x950412DE, 0, count, 28, 28 + 8 * count, 0, 0)
    originals = b"".join(struct.pack("<2I", length, ids_start + offset) for length, offset, _, _ in table)
    translations = b"".join(struct.pack("<2I", length, strs_start + offset) for _, _, length, offset in table)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + originals + translations + ids + strs)


def build(directory):
    """Write the pseudo-locale's catalogs under ``directory`` (a LOCALE_PATHS entry); returns {domain: messages}."""
    sources = {"django": project_catalogs("django") + django_catalogs(), "djangojs": project_catalogs("djangojs")}
    built = {}
    for domain, paths in sources.items():
        built[domain] = pseudo_messages(paths)
        write_mo(Path(directory) / PSEUDO_LOCALE / "LC_MESSAGES" / f"{domain}.mo", built[domain])
    return built


# Reading what a page shows

# Attributes a person reads or hears: tooltips, accessible names, hints, alternative text, the card layout's
# column names (CSS ``content: attr(data-label)``), confirmation prompts.
TEXT_ATTRIBUTES = {"title", "aria-label", "aria-description", "placeholder", "alt", "data-label", "hx-confirm"}
_BUTTON_INPUTS = {"submit", "button", "reset"}
_HIDDEN_CONTENT = {"script", "style"}
# Shown as stored or as typed: identifiers (audit actions, commands, URLs) and what a refused form gives back.
_DATA_ELEMENTS = {"code", "textarea"}
_BREAK = "\x00"  # between two text nodes


class _VisibleText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stream, self.attributes, self._skipping = [], [], []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name in TEXT_ATTRIBUTES:
            if attributes.get(name):
                self.attributes.append((f"<{tag} {name}>", attributes[name]))
        if tag == "input" and (attributes.get("type") or "").lower() in _BUTTON_INPUTS and attributes.get("value"):
            self.attributes.append((f"<input {attributes['type']}> value", attributes["value"]))
        if tag in _HIDDEN_CONTENT or tag in _DATA_ELEMENTS:
            self._skipping.append(tag)
        self.stream.append(_BREAK)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_endtag(self, tag):
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()
        self.stream.append(_BREAK)

    def handle_data(self, data):
        if not self._skipping:
            self.stream.append(data)


def visible_text(html):
    """(the text nodes as one string, node boundaries as NUL; [(where, text) of each readable attribute])."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return "".join(parser.stream), parser.attributes


def outside_markers(text):
    """The pieces of ``text`` outside every ⟪…⟫ (nested markers count; a stray ⟫ is ignored)."""
    pieces, depth, current = [], 0, []
    for character in text:
        if character == OPEN:
            if depth == 0:
                pieces.append("".join(current))
                current = []
            depth += 1
        elif character == CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0:
            current.append(character)
    pieces.append("".join(current))
    return [part for piece in pieces for part in re.split(rf"[{_BREAK}\n]", piece)]


class Data:
    """What may be shown untranslated: the fixtures' own values (names, addresses...) and patterns of data."""

    PATTERNS = [
        r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",  # email addresses
        r"(?:https?|otpauth)://\S+",  # URLs and the authenticator's otpauth:// URI
        r"\b\d{4}-\d\d-\d\d(?:[ T]\d\d:\d\d(?::\d\d)?(?:[+-]\d\d:?\d\d)?)?\b",  # dates and times
        r"\b\d{1,2}:\d\d(?::\d\d)?\b",
        r"\b(?:\d{1,3}\.){3}\d{1,3}(?:/\d{1,2})?\b",  # IPv4 addresses and networks
        r"\b[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:/\d{1,3})?",  # IPv6 addresses and networks
        r"\b(?=[\w-]*\d)[\w-]{16,}\b",  # secrets, bearer strings, credential IDs: long runs with a digit
        r"\b(?:[A-Z2-7]{4} ?){4,}\b",  # an authenticator key in groups of four (base32)
        r"\b[a-z0-9]{4}(?:-[a-z0-9]{4}){3}\b",  # recovery codes: four groups of four, digits or not
    ]

    def __init__(self, values=(), words=()):
        values = sorted({value.strip() for value in values if value and value.strip()}, key=len, reverse=True)
        # Whole values only: a name must not eat a word it happens to be part of.
        self._values = re.compile("|".join(rf"(?<!\w){re.escape(value)}(?!\w)" for value in values) or r"(?!)")
        self.words = set(words)
        self._patterns = re.compile("|".join(f"(?:{pattern})" for pattern in self.PATTERNS))

    def residue(self, piece):
        """``piece`` without its data; what is left is text that should have been translated, if it has a letter."""
        piece = self._patterns.sub(" ", piece)
        piece = self._values.sub(" ", piece)
        words = [word for word in re.split(r"[^\w]+", piece) if word and word not in self.words]
        return " ".join(word for word in words if any(unicodedata.category(ch).startswith("L") for ch in word))


def unmarked(html, data):
    """Every piece of visible text of ``html`` outside the markers that is not data, as (where, text)."""
    text, attributes = visible_text(html)
    found = []
    for piece in outside_markers(text):
        if data.residue(piece):
            found.append(("text", " ".join(piece.split())))
    for where, value in attributes:
        for piece in outside_markers(value):
            if data.residue(piece):
                found.append((where, " ".join(value.split())))
                break
    return found


def unmarked_plain(text, data):
    """The same for plain text (an email, an API ``detail``): each line's pieces outside the markers."""
    return [" ".join(piece.split()) for piece in outside_markers(text) if data.residue(piece)]
