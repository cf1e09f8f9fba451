// Menus are <details> elements: a tap opens them on a phone, and without script they still
// work. On a wide screen there is room for every link, so they stay open there.
(function () {
  if (!window.matchMedia) return;
  var wide = window.matchMedia("(min-width: 760px)");
  var menus = document.querySelectorAll("#site-menu, details[data-wide-open]");
  function follow() { menus.forEach(function (menu) { menu.open = wide.matches; }); }
  follow();
  if (wide.addEventListener) wide.addEventListener("change", follow);
})();
