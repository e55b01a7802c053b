// Starts Swagger UI on /docs; a file of its own, since the pages allow no inline script.
window.addEventListener("DOMContentLoaded", function () {
  var target = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: target.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
