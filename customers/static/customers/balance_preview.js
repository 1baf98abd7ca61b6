// The recharge and debit forms show the picked customer's current balance: asks the admin's balance view
// whenever the customer field changes (and on load, for a form shown again after a refused save).
(function () {
  "use strict";
  function setup() {
    var shown = document.getElementById("balance-preview");
    var input = document.getElementById("id_customer");
    if (!shown || !input) return;
    var timer = null;
    function refresh() {
      if (!input.value.trim()) { shown.textContent = "–"; return; }
      var params = new URLSearchParams({customer: input.value});
      fetch(shown.dataset.balanceUrl + "?" + params.toString(), {credentials: "same-origin"})
        .then(function (response) { return response.json(); })
        .then(function (data) { shown.textContent = data.ok ? data.balance : data.error; })
        .catch(function () {});
    }
    ["input", "change"].forEach(function (type) {
      input.addEventListener(type, function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    });
    if (input.value) refresh();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
