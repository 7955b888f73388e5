"""The site's sign-in features beyond the password: two-factor authentication (required of
editors and admins), passkeys, "Sign in with GitHub" and verified e-mail addresses.

``install(auth, settings)`` adds them after ``Auth`` (``news.app`` calls it)::

    auth = Auth(app, options=AuthOptions(email_verification=verification_mode(settings)))
    install(auth, settings)

GitHub is offered when ``KETTLE_OIDC_GITHUB_CLIENT_ID`` (and its secret) are set; with
``KETTLE_NEWS_GITHUB_URL`` its URLs point at another server, such as the stand-in GitHub
that the demo starts (``news.demo.stand_in_github``).
"""

from __future__ import annotations

from typing import Literal

from kettle import Request
from kettle.auth import Auth
from kettle.auth.models import AbstractUser
from kettle.auth.oidc import GitHub, Providers, identity_model_for
from kettle.auth.passkeys import Passkeys
from kettle.auth.twofactor import TwoFactor, TwoFactorOptions, totp_model_for
from kettle.auth.twofactor.codes import seal
from kettle.db import fields
from news.mail import SITE_NAME
from news.settings import NewsSettings


def verification_mode(settings: NewsSettings) -> Literal["optional", "none"]:
    """``"optional"`` when a worker sends the site's mail (``news_tasks=worker``), else
    ``"none"``: kettle.auth queues its links with kettle.tasks, and with no worker
    (``make demo``) they would never go out."""
    return "optional" if settings.news_tasks == "worker" else "none"


def must_use_two_factor(user: AbstractUser) -> bool:
    """Editors and admins must use a second factor: ``grant_role`` makes both staff, and
    superusers (``kettle createsuperuser``) are staff too. A hook, not the option, so
    the rule is stated where the roles are."""
    return user.is_staff or user.is_superuser


def github(settings: NewsSettings) -> GitHub | None:
    """GitHub, when the settings have its client id; at ``news_github_url`` when set."""
    if not settings.oidc_github_client_id:
        return None
    base = settings.news_github_url.rstrip("/")
    if not base:
        return GitHub()
    return GitHub(
        authorize_url=f"{base}/authorize", token_url=f"{base}/token", api_base=f"{base}/api"
    )


#: The account pages of a signed-in reader, (label, route name), in the site's menu.
ACCOUNT_PAGES = (
    ("Password", "auth.password_change"),
    ("Two-factor authentication", "auth.2fa_setup"),
    ("Passkeys", "auth.passkeys"),
    ("Linked accounts", "oidc.identities"),
    ("E-mail address", "auth.email_change"),
    ("Time zone", "auth.time_zone"),
    ("API tokens", "auth.tokens"),
)


def account_pages(request: Request) -> tuple[tuple[str, str], ...]:
    """The account pages this site has, (label, route name): a template global::

    {% for label, route in account_pages(request) %}<a href="{{ url_for(route) }}">...
    """
    pages: tuple[tuple[str, str], ...] = request.app.state.account_pages
    return pages


def install(auth: Auth, settings: NewsSettings) -> None:
    """Two-factor authentication, passkeys and the configured sign-in providers, and the
    ``account_pages`` template global."""
    TwoFactor(auth, options=TwoFactorOptions(issuer=SITE_NAME, required=must_use_two_factor))
    Passkeys(auth)
    # NOTE: the table of linked accounts exists whatever the configuration, so that the
    # migrations describe one schema.
    identity_model_for(auth.user_model)
    provider = github(settings)
    if provider is not None:
        Providers(auth, [provider])
    linked = provider is not None
    auth.app.state.account_pages = tuple(
        (label, route) for label, route in ACCOUNT_PAGES if linked or route != "oidc.identities"
    )
    auth.app.template_global(account_pages)


def enrol_authenticator(user: AbstractUser, secret: str, secret_key: str) -> bool:
    """Turn two-factor authentication on for ``user`` with a known TOTP ``secret``
    (base32), sealed with the app's ``secret_key``, unless the user has an authenticator
    already; returns whether it did. For the demo accounts and tests, in an open unit of
    work (``with db.session():``)::

        enrol_authenticator(editor, "KETTLENEWSDEMOEDITORAUTHENTICATR", settings.secret_key)
    """
    totp = totp_model_for(type(user))
    if totp.objects.filter(user_id=user.id).exists():
        return False
    totp.objects.create(user_id=user.id, secret=seal(secret, secret_key), confirmed=fields.now())
    return True


__all__ = [
    "ACCOUNT_PAGES",
    "account_pages",
    "enrol_authenticator",
    "github",
    "install",
    "must_use_two_factor",
    "verification_mode",
]
