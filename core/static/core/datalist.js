// Fills the <datalist> of every .datalist-input with up to 20 suggestions from the admin
// autocomplete endpoint as the user types. Options are built with the DOM API, so labels stay text.
(function () {
  "use strict";
  function attach(input) {
    if (input.dataset.datalistReady) return;
    input.dataset.datalistReady = "1";
    var list = document.getElementById(input.getAttribute("list"));
    var timer = null;
    var lastTerm = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var term = input.value.trim();
        if (!term || term === lastTerm) return;
        lastTerm = term;
        var params = new URLSearchParams({
          term: term,
          app_label: input.dataset.appLabel,
          model_name: input.dataset.modelName,
          field_name: input.dataset.fieldName,
        });
        fetch(input.dataset.autocompleteUrl + "?" + params.toString(), {credentials: "same-origin"})
          .then(function (response) { return response.ok ? response.json() : {results: []}; })
          .then(function (data) {
            if (term !== lastTerm) return;  // a newer request is on its way
            list.replaceChildren();
            data.results.slice(0, 20).forEach(function (item) {
              var option = document.createElement("option");
              option.value = item.text;
              list.appendChild(option);
            });
          });
      }, 200);
    });
  }
  function attachAll() {
    document.querySelectorAll("input.datalist-input").forEach(attach);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", attachAll);
  } else {
    attachAll();
  }
})();
