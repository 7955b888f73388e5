"""The site's admin registrations: API tokens for admins, to watch and revoke."""

from __future__ import annotations

from news.roles import ADMIN, EDITOR
from newssite import Site

from htmlforms import csrf_from
from kettle.auth import ApiToken


def test_admins_see_and_revoke_api_tokens_editors_do_not(site: Site) -> None:
    ann = site.user("ann")
    site.user("editor", EDITOR)
    site.user("boss", ADMIN)
    with site.db.session():
        token, _ = ApiToken.issue(ann, "ann's script")
    assert site.client("editor").get("/admin/auth_api_token/").status_code == 403
    boss = site.client("boss")
    page = boss.get("/admin/auth_api_token/")
    assert page.status_code == 200
    assert "ann&#39;s script" in page.text
    assert token.prefix in page.text
    assert token.key_hash not in page.text
    done = boss.post(
        "/admin/auth_api_token/",
        data={
            "action": "revoke_tokens",
            "_selected": [str(token.id)],
            "csrf_token": csrf_from(page.text),
        },
    )
    assert done.status_code == 303
    with site.db.session():
        assert ApiToken.objects.get(id=token.id).state == "revoked"
