"""``Providers``: the sign-in providers of one ``Auth``, their routes and their settings.

::

    auth = Auth(app)
    oidc = Providers(auth, [
        OIDCProvider("acme", discovery_url="https://id.acme.example/.well-known/"
                     "openid-configuration"),          # credentials from the settings
        GitHub(client_id="Iv1.8a61f9b3a7aba766", client_secret=github_secret),
    ])

A provider given no ``client_id`` / ``client_secret`` reads them from the app's settings
``oidc_<name>_client_id`` and ``oidc_<name>_client_secret``: declare them on the project's
``Settings`` subclass and set ``KETTLE_OIDC_ACME_CLIENT_ID`` and so on in the environment.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from kettle.auth.account import AccountLink
from kettle.auth.models import AbstractUser
from kettle.auth.oidc.models import AbstractIdentity, identity_model_for
from kettle.auth.oidc.providers import Provider
from kettle.exceptions import ConfigurationError
from kettle.i18n._gettext import gettext_noop as N_
from kettle.requests import Request
from kettle.routing import files_root

if TYPE_CHECKING:
    from kettle.auth.core import Auth


class Providers:
    """The sign-in providers of ``auth`` (``app.state.oidc``); see the module docstring.

    ``site_url`` (``"https://news.example"``) pins the address the providers send people
    back to; by default it is the address the request came to (a trusted host: see
    ``Settings.allowed_hosts``). Register ``<site_url><prefix>/oidc/<name>/callback`` as
    the redirect URI at each provider::

        Providers(auth, [GitHub()], site_url="https://news.example")
    """

    def __init__(
        self, auth: Auth, providers: Iterable[Provider], *, site_url: str | None = None
    ) -> None:
        self.auth = auth
        self.site_url = site_url.rstrip("/") if site_url else None
        self.providers: dict[str, Provider] = {}
        for provider in providers:
            if provider.name in self.providers:
                raise ConfigurationError(
                    f"Two sign-in providers are named {provider.name!r}: give each its own "
                    "name, the one its identities are stored under."
                )
            _credentials_from_settings(auth, provider)
            self.providers[provider.name] = provider
        #: The identity model of ``auth``'s user model (``<user table>_identity``).
        self.identity_model: type[AbstractIdentity] = identity_model_for(auth.user_model)
        from kettle.auth.oidc.views import make_group

        self.group = make_group(self)
        auth.app.include(self.group)
        auth.ways_in(self.aways_in)
        auth.add_account_link(
            AccountLink(N_("Linked accounts"), "oidc.identities", N_("Sign in with another site."))
        )
        auth.app.state.oidc = self

    async def aways_in(self, user: AbstractUser) -> list[str]:
        """``user``'s linked providers as ways in (``auth.aways_in``): ``["identity:4"]``."""
        query = self.identity_model.objects.filter(user_id=user.id)
        return [f"identity:{id}" for id in await query.values_list("id", flat=True).alist()]

    def __iter__(self) -> Iterator[Provider]:
        return iter(self.providers.values())

    def get(self, name: str) -> Provider | None:
        """The provider named ``name``, or None: ``oidc.get("github")``."""
        return self.providers.get(name)

    def redirect_uri(self, request: Request, provider: Provider) -> str:
        """Where ``provider`` sends the browser back with the code: one address whatever
        the page's language (the root path without the ``/fr`` prefix), as providers
        want the redirect URI registered exactly."""
        path = request.app.url_for("oidc.callback", provider=provider.name)
        if self.site_url is not None:
            return self.site_url + path
        return f"{request.scheme}://{request.host}{files_root(request.scope)}{path}"


def _credentials_from_settings(auth: Auth, provider: Provider) -> None:
    settings = auth.app.settings
    for part in ("client_id", "client_secret"):
        if getattr(provider, part):
            continue
        name = f"oidc_{provider.name}_{part}"
        value = getattr(settings, name, "")
        if not isinstance(value, str) or not value:
            raise ConfigurationError(
                f"The sign-in provider {provider.name!r} has no {part}: pass {part}= to it, "
                f"or declare `{name}: str` on your Settings subclass and set "
                f"KETTLE_{name.upper()}."
            )
        setattr(provider, part, value)


__all__ = ["Providers"]
