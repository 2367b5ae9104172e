// Starts Swagger UI on /schema (conference.web.swagger): no inline script under the CSP.
"use strict";
window.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("swagger-container");
  document.body.style.margin = "0";
  window.SwaggerUIBundle({
    url: container.dataset.specUrl,
    dom_id: "#swagger-container",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
  });
});
