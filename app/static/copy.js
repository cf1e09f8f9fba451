// "Copy address" buttons: shown only where script runs; the field beside them stays selectable.
(function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    if (!field) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      field.select();
      var done = function () { button.textContent = button.dataset.copied; };
      if (navigator.clipboard) navigator.clipboard.writeText(field.value).then(done, function () {
        document.execCommand("copy"); done();
      });
      else { document.execCommand("copy"); done(); }
    });
  });
})();
