import pytest
from accounts.models import Company
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

@pytest.mark.parametrize("with_company", [False, True])
@pytest.mark.parametrize("fix", [False, True])
def test_overflow(admin_page, with_company, fix):
    if with_company:
        acme = Company.objects.create(name="Acme")
        UserFactory(username="eve", company=acme)
    admin_page.reload()
    admin_page.wait_for_load_state("load")
    if fix:
        admin_page.add_style_tag(content=".with-sidebar { grid-template-columns: minmax(180px, 240px) minmax(0, 1fr); }")
    print(with_company, fix, admin_page.evaluate("[document.documentElement.scrollWidth, document.querySelector('.table-wrap').scrollWidth, document.querySelector('.table-wrap').clientWidth]"))
