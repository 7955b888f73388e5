"""The app the passkey admin browser test serves (``passkey_admin_server:app``): passkeys,
and the admin with users (their passkeys inline) and passkeys of their own."""

from __future__ import annotations

from authbrowser import served_site

from kettle.admin import AdminSite, ModelAdmin
from kettle.auth import User
from kettle.auth.passkeys import Passkeys, passkey_model_for
from kettle.auth.passkeys.admin import PasskeyAdmin, passkey_inline


class UserAdmin(ModelAdmin):
    list_display = ["username", "email"]
    fields = ["username", "email"]
    inlines = [passkey_inline(User)]


site = served_site()
Passkeys(site.auth)
admin = AdminSite(site.app)
admin.register(User, UserAdmin)
admin.register(passkey_model_for(User), PasskeyAdmin)
app = site.app
