// Live price preview on the order add form: asks the admin's quote view whenever the customer,
// product or quantity changes (and on load, for a form shown again after a refused save), and shows
// the figures (as text) or the reason the order would be refused.
(function () {
  "use strict";
  function setup() {
    var box = document.getElementById("order-preview");
    if (!box) return;
    var inputs = ["id_customer", "id_product", "id_quantity"]
      .map(function (id) { return document.getElementById(id); })
      .filter(Boolean);
    var error = box.querySelector("[data-key=error]");
    var timer = null;
    function show(data) {
      box.querySelectorAll("dd[data-key]").forEach(function (dd) {
        dd.textContent = data.ok ? data[dd.dataset.key] : "–";
      });
      error.textContent = data.ok ? "" : data.error;
      error.style.display = data.ok ? "none" : "";
    }
    function refresh() {
      var params = new URLSearchParams();
      inputs.forEach(function (input) { params.set(input.name, input.value); });
      fetch(box.dataset.quoteUrl + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(show)
        .catch(function () {});
    }
    inputs.forEach(function (input) {
      ["input", "change"].forEach(function (type) {
        input.addEventListener(type, function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
      });
    });
    if (inputs.every(function (input) { return input.value; })) refresh();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
