// Starts Swagger UI on Kettle's /docs page. Kept in a file of its own, not inline, so the
// page runs under a Content-Security-Policy without 'unsafe-inline'.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var csrf = root.getAttribute("data-csrf");
  var safe = { GET: true, HEAD: true, OPTIONS: true, TRACE: true };
  window.ui = SwaggerUIBundle({
    url: root.getAttribute("data-url"),
    domNode: root,
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    // No badge from the public validator: the page makes no request off this site.
    validatorUrl: null,
    // "Try it out" with the session cookie: unsafe methods carry the CSRF token.
    requestInterceptor: function (request) {
      if (csrf && !safe[(request.method || "GET").toUpperCase()]) {
        request.headers["X-CSRF-Token"] = csrf;
      }
      return request;
    },
  });
})();
