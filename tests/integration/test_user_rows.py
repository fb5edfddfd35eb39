"""The user list's rows, rendered in Python (accounts.rows, mfa's ``two_factor_switches``), read like the
templates they replaced: ``REFERENCE`` is that markup, kept here as the specification. Compared with every run
of whitespace as one space (what a browser shows) and the CSRF tokens (random masks) blanked."""

import datetime
import re

import pytest
from django.contrib.auth.models import Permission
from django.template import Engine, RequestContext, Template, engines
from django.test import RequestFactory
from django.utils import timezone, translation

from accounts import selectors
from accounts.rows import UserRows
from mfa import selectors as mfa_selectors
from tests.factories import AdminFactory, AuthenticatorDeviceFactory, CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

# The rows as templates rendered them, before accounts.rows (with {% url %} where they had {% row_url %}).
REFERENCE = """{% load i18n moments %}{% url 'accounts:user_create' as create_url %}
{% for row in page %}
<tr id="user-{{ row.pk }}"{% if row.tree_depth %} class="nested-row" data-depth="{{ row.tree_depth }}"{% endif %}>
{% for field in inline_fields %}<td class="inline-cell" data-label="{% if field == 'username' %}{% translate 'Username' %}{% else %}{% translate 'Email' context 'user field' %}{% endif %}">{% include "cell" %}</td>{% endfor %}
<td data-label="{% translate 'Company' %}">{{ row.company.name|default:"—" }}{% if perms.accounts.change_user and not row.parent_id %} <a class="quiet" href="{% url 'accounts:user_move' row.pk %}" data-quick-action aria-label="{% blocktranslate trimmed with name=row.username %}Move {{ name }} to another company{% endblocktranslate %}">{% translate "Move" %}</a>{% endif %}{% if row.parent_id %}<br><span class="muted sub-user">{% blocktranslate trimmed with name=row.parent.username %}sub-user of {{ name }}{% endblocktranslate %}</span>{% endif %}</td>
<td data-label="{% translate 'Enabled' %}">{% include "enabled" %}</td>
<td data-label="{% translate 'Two-Factor Auth' %}">
{% if row.pk in two_factor_on %}
  {% if row.pk == user.pk or perms.mfa.reset_two_factor %}<a class="badge success" href="{% url 'mfa:two_factor' row.pk %}" title="{% blocktranslate trimmed with username=row.username %}Two-factor authentication of {{ username }}{% endblocktranslate %}">{% translate "On" context "two-factor state" %}</a>{% else %}<span class="badge success">{% translate "On" context "two-factor state" %}</span>{% endif %}
{% elif row.pk == user.pk or perms.mfa.reset_two_factor %}
  <form method="post" action="{% url 'mfa:totp_enable' row.pk %}" hx-post="{% url 'mfa:totp_enable' row.pk %}" hx-target="#mfa-dialog .mfa-target">
    {% csrf_token %}<button type="submit" class="switch" role="switch" aria-checked="false" aria-label="{% blocktranslate trimmed with username=row.username %}Turn on two-factor authentication for {{ username }}{% endblocktranslate %}">{% translate "Off" context "two-factor state" %}</button>
  </form>
{% else %}
  <span class="badge">{% translate "Off" context "two-factor state" %}</span>
{% endif %}
</td>
<td data-label="{% translate 'Creation Time' %}">{% moment row.date_joined stacked=True %}</td>
<td data-label="{% translate 'Expires' %}">{% if row.expires_at %}{% moment row.expires_at stacked=True %}{% if row.is_expired %} <span class="badge failure">{% translate "Expired" %}</span>{% endif %}{% else %}<span class="muted">{% translate "Never" context "expires" %}</span>{% endif %}{% if perms.accounts.change_user %} <a class="quiet" href="{% url 'accounts:user_expiry' row.pk %}" data-quick-action aria-label="{% blocktranslate trimmed with name=row.username %}Change the expiry of {{ name }}{% endblocktranslate %}">{% translate "Change" %}</a>{% endif %}</td>
<td class="actions">
  {% if perms.accounts.change_user or row.pk == user.pk %}<a href="{% url 'accounts:user_password' row.pk %}" data-quick-action>{% translate "Change Password" %}</a>{% endif %}
  {% if perms.accounts.delete_user %}<a class="danger" href="{% url 'accounts:user_delete' row.pk %}" data-quick-action>{% translate "Delete" %}</a>{% endif %}
  {% if perms.tokens.manage_others_tokens or perms.passkeys.manage_others_passkeys or perms.accounts.change_user or perms.accounts.add_user or row.pk == user.pk %}
  <details class="row-menu">
    <summary aria-label="{% blocktranslate trimmed with name=row.username %}More actions for {{ name }}{% endblocktranslate %}">{% translate "More" %}</summary>
    <div class="menu">
      {% if perms.tokens.manage_others_tokens or row.pk == user.pk %}<a href="{% url 'tokens:token_list' row.pk %}">{% translate "Access Tokens" %}</a>{% endif %}
      {% if perms.passkeys.manage_others_passkeys or row.pk == user.pk %}<a href="{% url 'passkeys:passkey_list' row.pk %}">{% translate "Passkeys" %}</a>{% endif %}
      {% if perms.accounts.change_user %}<a href="{% url 'access:user_access' row.pk %}">{% translate "Access" %}</a>{% endif %}
      {% if perms.accounts.change_user or row.pk == user.pk %}<a href="{% url 'sessions:session_list' row.pk %}">{% translate "Sessions" context "a user's login sessions" %}</a>{% endif %}
      {% if perms.accounts.change_user %}<a href="{% url 'sessions:user_session_policy' row.pk %}">{% translate "Session Policy" %}</a>{% endif %}
      {% if perms.accounts.add_user %}<a href="{{ create_url }}?parent={{ row.pk }}" data-quick-action>{% translate "Add Sub-user" %}</a>{% endif %}
    </div>
  </details>
  {% endif %}
</td>
</tr>
{% endfor %}
"""  # noqa: E501
REFERENCE_CELL = """{% load i18n %}{% if perms.accounts.change_user %}<a class="inline-value" href="{% url 'accounts:user_field_edit' row.pk field %}" hx-get="{% url 'accounts:user_field_edit' row.pk field %}" hx-target="closest td" hx-swap="innerHTML" {% if field == "username" %}title="{% translate 'Edit username' %}" aria-label="{% blocktranslate trimmed with name=row.username %}Edit username of {{ name }}{% endblocktranslate %}"{% else %}title="{% translate 'Edit email' %}" aria-label="{% blocktranslate trimmed with name=row.username email=row.email %}Edit email of {{ name }}: {{ email }}{% endblocktranslate %}"{% endif %}>{% if field == "username" %}{{ row.username }}{% else %}{{ row.email }}{% endif %}</a>{% else %}{% if field == "username" %}{{ row.username }}{% else %}{{ row.email }}{% endif %}{% endif %}"""  # noqa: E501
REFERENCE_ENABLED = """{% load i18n %}
{% if perms.accounts.change_user and row.pk != user.pk %}
<form class="enabled-switch" method="post" action="{% url 'accounts:user_enabled' row.pk %}" hx-post="{% url 'accounts:user_enabled' row.pk %}" hx-target="this" hx-swap="outerHTML">
  {% csrf_token %}<input type="hidden" name="enabled" value="{{ row.is_active|yesno:'false,true' }}">
  <button type="submit" class="switch{% if row.is_active %} on{% endif %}" role="switch" aria-checked="{{ row.is_active|yesno:'true,false' }}" aria-label="{% blocktranslate trimmed with name=row.username %}Account of {{ name }} enabled{% endblocktranslate %}">{% if row.is_active %}{% translate "On" context "switch" %}{% else %}{% translate "Off" context "switch" %}{% endif %}</button>
  {% if refusal %}<span class="errors" role="alert">{{ refusal }}</span>{% endif %}
</form>
{% else %}
<span class="badge{% if row.is_active %} success{% else %} failure{% endif %}">{% if row.is_active %}{% translate "On" context "switch" %}{% else %}{% translate "Off" context "switch" %}{% endif %}</span>
{% endif %}
"""  # noqa: E501
ODD = """o'<b>&"x"""
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def normalised(markup):
    return re.sub(r"\s+", " ", _CSRF.sub('name="csrfmiddlewaretoken" value=""', str(markup))).strip()


def _request(viewer):
    request = RequestFactory().get("/users/")
    request.user = viewer
    return request


def _reference(request, page, **extra):
    engine = Engine(
        libraries=engines["django"].engine.libraries,
        loaders=[("django.template.loaders.locmem.Loader", {"cell": REFERENCE_CELL, "enabled": REFERENCE_ENABLED})],
        context_processors=["django.template.context_processors.csrf", "django.contrib.auth.context_processors.auth"],
    )
    two_factor_on = mfa_selectors.users_with_two_factor([row.pk for row in page])
    context = {"page": page, "inline_fields": ("username", "email"), "two_factor_on": two_factor_on, **extra}
    return engine.from_string(REFERENCE).render(RequestContext(request, context))


@pytest.fixture
def people():
    """Users of every kind a row shows differently."""
    now = timezone.now()
    odd_company = CompanyFactory(name="Acme <&> \"Söhne\" 'Ltd'")
    parent = UserFactory(username="parent-one", company=odd_company)
    people = [
        parent,
        UserFactory(username=ODD, email='a&b"<c>@example.com', company=odd_company),
        UserFactory(username="no-email", email=""),
        UserFactory(username="disabled", is_active=False, company=CompanyFactory(name="")),
        AdminFactory(username="another-superuser"),
        UserFactory(username="名前-ünï", email="名前@例え.jp", expires_at=now + datetime.timedelta(days=3)),
        UserFactory(username="expired", expires_at=now - datetime.timedelta(days=1)),
        UserFactory(username="child-of-parent", parent=parent, company=odd_company),
    ]
    AuthenticatorDeviceFactory(user=people[1])
    AuthenticatorDeviceFactory(user=people[4])
    return people


def _viewer(kind):
    if kind == "superuser":
        return AdminFactory(username="viewer")
    viewer = UserFactory(username="viewer")
    names = {"viewer": ["view_user"], "editor": ["view_user", "change_user"], "manager": ["view_user", "add_user"]}
    perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=names[kind])
    viewer.user_permissions.add(*perms)
    if kind == "manager":
        viewer.user_permissions.add(Permission.objects.get(codename="manage_others_tokens"))
    if kind == "editor":  # the viewer's own row, with two-factor on
        AuthenticatorDeviceFactory(user=viewer)
    return type(viewer).objects.get(pk=viewer.pk)


@pytest.mark.parametrize("kind", ["superuser", "viewer", "editor", "manager"])
@pytest.mark.parametrize("nested", [False, True])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_rows_read_as_the_templates_did(people, kind, nested, language):
    viewer = _viewer(kind)
    request = _request(viewer)
    with translation.override(language):
        page = selectors.user_list(actor=viewer, nested=nested, per_page=50)
        assert len(page) >= len(people) and any(row.tree_depth for row in page) == nested
        new = Template("{% load two_factor user_rows %}{% two_factor_switches page as s %}{% user_rows page s %}")
        rendered = new.render(RequestContext(request, {"page": page}))
        assert normalised(rendered) == normalised(_reference(request, page))


@pytest.mark.parametrize("refusal", [None, 'Refused <because> & "so".'])
def test_the_enabled_switch_reads_as_its_template_did(people, refusal):
    viewer = _viewer("editor")
    request = _request(viewer)
    for user in [*people, viewer]:
        expected = Template(REFERENCE_ENABLED).render(RequestContext(request, {"row": user, "refusal": refusal}))
        assert normalised(UserRows(request).enabled_switch(user, refusal)) == normalised(expected)
