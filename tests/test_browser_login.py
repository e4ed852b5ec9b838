import pytest

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_alice_signs_in_with_the_real_form_and_sees_the_navigation(demo_users, login, live_server):
    page = login("alice")
    assert page.url.endswith("/dashboards/")
    assert page.get_by_role("link", name="My exports").is_visible()
    assert page.get_by_role("link", name="History").count() == 0
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
