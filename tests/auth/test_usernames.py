"""Usernames that cannot pass for one another: NFKC, case, TS #39 skeletons, one script.

Look-alike letters are written as escapes (``\\u0430`` is Cyrillic a): in this file, what
you see is what the test uses.
"""

from __future__ import annotations

import pytest
from authsite import PASSWORD, Site, csrf_from
from sqlalchemy import exc as sa_exc

from kettle.auth import User
from kettle.auth.usernames import (
    TAKEN,
    check_username,
    lookalike_keys,
    mixed_scripts,
    normalize_username,
    skeleton,
    username_key,
    username_skeleton,
)
from kettle.db import ModelValidationError
from kettle.testing import TestClient

CYRILLIC_PAOLO = "p\u0430\u043elo"  # Cyrillic a and o
CYRILLIC_ADMIN = "\u0430dmin"
GREEK_ALPHA = "\u03b1lpha"


# --- the rules ---------------------------------------------------------------------------------
def test_names_are_stored_in_their_nfkc_form() -> None:
    assert normalize_username(" \uff41\uff4e\uff4e ") == "ann"  # full-width letters
    assert normalize_username("zoe\u0308") == "zo\u00eb"  # one code point, however typed
    assert User(username="\uff41\uff4e\uff4e").username == "ann"


@pytest.mark.parametrize(
    ("name", "lookalike"),
    [
        ("paolo", CYRILLIC_PAOLO),
        ("paolo", "PAOLO"),
        ("paolo", "pao1o"),  # digit one
        ("bobo", "bob0"),  # digit zero, whose prototype is a capital O
        ("admin", CYRILLIC_ADMIN),
        ("admin", "adrnin"),  # r n
        ("alpha", GREEK_ALPHA),
        ("strasse", "stra\u00dfe"),  # sharp s case-folds to ss
        ("ann", "\uff21\uff2e\uff2e"),
    ],
)
def test_look_alikes_share_a_key(name: str, lookalike: str) -> None:
    assert username_key(name) == username_key(lookalike)
    assert len(username_key(name)) == 64


def test_different_names_have_different_keys() -> None:
    assert username_key("paolo") != username_key("paula")
    assert username_key("ann") != username_key("anna")
    assert username_skeleton("PAOLO") == "paolo"
    assert skeleton("p\u0430ypal") == skeleton("paypal")


def test_a_capital_i_is_seen_as_the_l_it_looks_like() -> None:
    # Case-folding turns I into i; the key of the name as written catches the look.
    assert username_key("paoIo") != username_key("paolo")
    assert username_key("paolo") in lookalike_keys("paoIo")


@pytest.mark.parametrize(
    ("name", "scripts"),
    [
        (CYRILLIC_PAOLO, ["Cyrillic", "Latin"]),
        (CYRILLIC_ADMIN, ["Cyrillic", "Latin"]),
        (GREEK_ALPHA, ["Greek", "Latin"]),
        ("paolo", []),
        ("zo\u00eb_1987", []),  # Latin with a diacritic, digits and _
        ("\u043f\u0430\u0443\u043b\u043e.1985", []),  # Cyrillic only, with . and digits
        ("\u03b1\u03bb\u03c6\u03b1-2", []),  # Greek only
        ("\u3072\u3089\u30ab\u30bf\u6f22\u5b57", []),  # Japanese: hiragana, katakana, kanji
        ("\ud55c\uad6d\u6f22\u5b57", []),  # Korean: hangul and hanja
    ],
)
def test_names_of_one_script(name: str, scripts: list[str]) -> None:
    assert mixed_scripts(name) == scripts


def test_the_messages_say_what_is_wrong() -> None:
    assert check_username(CYRILLIC_PAOLO) == [
        "Use letters of one script only: this name mixes Cyrillic and Latin letters "
        "(\u0430, \u043e), which can make it look like another name."
    ]
    assert check_username("no spaces") == ["Use at most 150 letters, digits and @ . + - _ only."]
    assert check_username("x" * 151) == ["Use at most 150 letters, digits and @ . + - _ only."]
    assert check_username("   ") == ["Choose a username."]
    assert check_username("ann.smith+news@example.org") == []


# --- in the database ---------------------------------------------------------------------------
def test_the_key_is_kept_with_the_name(site: Site) -> None:
    site.user("ann")
    with site.db.session():
        ann = User.objects.get(username="ann")
        assert ann.username_key == username_key("ann")
        ann.username = "Annie"
        ann.save()
    with site.db.session():
        assert User.objects.get(username_key=username_key("ANNIE")).username == "Annie"


def test_the_database_refuses_a_look_alike_from_any_path(site: Site) -> None:
    site.user("paolo")
    for twin in ("PAOLO", "pao1o", "Pao1o"):
        with pytest.raises(sa_exc.IntegrityError), site.db.session():
            User.objects.create(username=twin)
    with site.db.session():
        assert User.objects.count() == 1


def test_a_mixed_script_name_is_refused_by_the_model(site: Site) -> None:
    with pytest.raises(ModelValidationError, match="one script only"), site.db.session():
        User.objects.create(username=CYRILLIC_ADMIN)


def test_an_existing_mixed_script_name_still_saves(site: Site) -> None:
    # A name from before the rule (or set by a bulk update) keeps working: only a new or
    # changed name is checked.
    site.user("legacy")
    with site.db.session():
        User.objects.filter(username="legacy").update(username=CYRILLIC_PAOLO)
    with site.db.session():
        user = User.objects.get(username=CYRILLIC_PAOLO)
        user.is_staff = True
        user.save()


# --- the sign-up page ----------------------------------------------------------------------------
def sign_up(site: Site, username: str) -> object:
    with TestClient(site.app) as client:
        page = client.get("/auth/signup")
        form = {
            "username": username,
            "password1": "kettles-whistle-at-dawn",
            "password2": "kettles-whistle-at-dawn",
            "csrf_token": csrf_from(page.text),
        }
        return client.post("/auth/signup", data=form)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (CYRILLIC_PAOLO, "Use letters of one script only"),
        ("PAOLO", TAKEN),
        ("pao1o", TAKEN),
        ("paoIo", TAKEN),
        ("\uff50\uff41\uff4f\uff4c\uff4f", TAKEN),  # full-width
    ],
)
def test_signup_refuses_look_alikes(site: Site, name: str, message: str) -> None:
    site.user("paolo")
    response = sign_up(site, name)
    assert response.status_code == 422  # type: ignore[attr-defined]
    html = response.text  # type: ignore[attr-defined]
    assert message.replace("'", "&#39;") in html
    with site.db.session():
        assert User.objects.count() == 1


def test_signup_refuses_a_look_alike_of_admin(site: Site) -> None:
    site.user("admin")
    response = sign_up(site, CYRILLIC_ADMIN)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "mixes Cyrillic and Latin letters (\u0430)" in response.text  # type: ignore[attr-defined]


def test_signup_takes_names_of_any_one_script(site: Site) -> None:
    site.user("paolo")
    cyrillic = "\u043f\u0430\u0443\u043b\u043e"  # another name, all in Cyrillic
    assert sign_up(site, cyrillic).status_code == 303  # type: ignore[attr-defined]
    with site.db.session():
        assert User.objects.get(username=cyrillic).username_key == username_key(cyrillic)


def test_login_is_by_the_exact_name(site: Site) -> None:
    # A look-alike or another case never signs in: nothing to guess, nothing to confuse.
    site.user("ann")
    with TestClient(site.app) as client:
        page = client.get("/auth/login")
        for name, status in (("ANN", 422), ("\u0430nn", 422), ("\uff41\uff4e\uff4e", 303)):
            form = {"username": name, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
            assert client.post("/auth/login", data=form).status_code == status, name


@pytest.mark.parametrize(
    ("char", "prototype"),
    [
        ("0", "O"),  # confusables.txt: 0030 ; 004F
        ("1", "l"),  # 0031 ; 006C
        ("I", "l"),  # 0049 ; 006C
        ("m", "rn"),  # 006D ; 0072 006E
        ("\u0430", "a"),  # CYRILLIC SMALL LETTER A
        ("\u03bf", "o"),  # GREEK SMALL LETTER OMICRON
        ("\u01c0", "l"),  # LATIN LETTER DENTAL CLICK
    ],
)
def test_the_skeleton_follows_unicodes_table(char: str, prototype: str) -> None:
    assert skeleton(char) == prototype
    assert skeleton(prototype) == prototype  # prototypes are their own skeleton
