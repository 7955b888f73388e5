"""A second factor for tests of the seam (kettle.auth.factors) and of the sign-in paths
that go through it::

    site.auth.add_second_factor(Marked("ann"))   # ann now waits on /auth/2fa
"""

from __future__ import annotations

from kettle.auth.models import AbstractUser


class Marked:
    """A test factor: enrolled for the users whose username is in ``users``."""

    name = "marked"
    label = "A marked account"

    def __init__(self, *users: str) -> None:
        self.users = set(users)

    async def aenrolled(self, user: AbstractUser) -> bool:
        return user.username in self.users
