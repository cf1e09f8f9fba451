// The site menu is a <details> element: a tap opens it on a phone, and without script it still
// works. On a wide screen there is room for every link, so keep it open there.
(function () {
  var menu = document.getElementById("site-menu");
  if (!menu || !window.matchMedia) return;
  var wide = window.matchMedia("(min-width: 760px)");
  function follow() { menu.open = wide.matches; }
  follow();
  if (wide.addEventListener) wide.addEventListener("change", follow);
})();
