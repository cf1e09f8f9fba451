// Confirm page: a new duration or voucher shows its price at once. The server renders the
// price part (and its quote token) again and we swap it in; until it has arrived the book
// button waits, so it always books the price on screen. Without script, "Update price" does
// the same by a round trip.
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  if (!form) { return; }
  var updateRow = document.getElementById("update-price-row");
  var update = document.getElementById("update-price");
  var submit = document.getElementById("confirm-submit");
  var latest = 0;
  updateRow.hidden = true;

  function fallBack() {
    // The price could not be fetched: let the server answer the whole form instead.
    updateRow.hidden = false;
    update.click();
  }

  function refresh() {
    var params = new URLSearchParams();
    ["date", "time", "minutes", "voucher_code", "use_quota"].forEach(function (name) {
      var field = form.elements.namedItem(name);
      if (field) { params.set(name, field.value); }
    });
    var ticket = ++latest;
    submit.disabled = true;
    fetch(form.dataset.quoteUrl + "?" + params.toString(), {credentials: "same-origin"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (ticket !== latest) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("quote");
        if (!fresh) { fallBack(); return; }
        document.getElementById("quote").replaceWith(fresh);
        submit.disabled = false;
      })
      .catch(function () { if (ticket === latest) { fallBack(); } });
  }

  form.addEventListener("change", function (event) {
    var name = event.target.name;
    if (name === "minutes" || name === "voucher_code") { refresh(); }
  });
}());
