// Starts Swagger UI on /docs. It is a file of its own, not an inline script, so the page's
// Content-Security-Policy can say `script-src 'self'` and nothing more. The page names the
// OpenAPI document in `data-openapi-url` on the element the UI is rendered into.
"use strict";
(function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    deepLinking: true,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    // The online validator badge would send the document to another origin.
    validatorUrl: null,
    // A token lives in this page only: reloading it forgets the token.
    persistAuthorization: false,
  });
})();
