"""kettle.auth.oidc: sign in with OpenID Connect and OAuth 2 providers (GitHub, Google...).

::

    from kettle.auth.oidc import GitHub, Google, OIDCProvider, Providers

    auth = Auth(app)
    Providers(auth, [
        OIDCProvider("acme", discovery_url="https://id.acme.example/.well-known/"
                     "openid-configuration", client_id="kettle-news", client_secret="..."),
        GitHub(client_id="Iv1.8a61f9b3a7aba766", client_secret="..."),
    ])

The login page then shows "Sign in with ..." buttons; ``/auth/identities`` lists the
providers linked to an account. Each flow uses PKCE, ``state`` and ``nonce``; an account
is linked to a provider only when its owner proves it (signed in, or a verified address
on both sides). Install with ``pip install "kettle[oidc]"``; see the "Sign in with other
providers" guide.
"""

from kettle.auth.oidc.core import Providers
from kettle.auth.oidc.idtoken import IdTokenChecker, SignInError
from kettle.auth.oidc.models import AbstractIdentity, identity_model_for
from kettle.auth.oidc.providers import Assertion, GitHub, Google, OIDCProvider, Provider

__all__ = [
    "AbstractIdentity",
    "Assertion",
    "GitHub",
    "Google",
    "IdTokenChecker",
    "OIDCProvider",
    "Provider",
    "Providers",
    "SignInError",
    "identity_model_for",
]
