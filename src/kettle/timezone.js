// kettle.timezones: remember the browser's time zone in a cookie, so the next page
// shows datetimes in it (unless the account chose a zone). No inline script: CSP-safe.
(function () {
  "use strict";
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  // Zone names ("America/New_York") need no escaping in a cookie; anything else is skipped.
  if (!zone || zone.length > 64 || !/^[A-Za-z0-9_+\/-]+$/.test(zone)) { return; }
  var cookie = "kettle_tz=" + zone;
  if (document.cookie.split("; ").indexOf(cookie) !== -1) { return; }
  var secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = cookie + "; Path=/; Max-Age=31536000; SameSite=Lax" + secure;
})();
