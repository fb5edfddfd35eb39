// Row menus (<details class="row-menu">): the menu floats over the list, so it should close as a
// menu does. Escape closes the open one and gives focus back to its "More"; a click or focus
// outside it closes it; opening one closes the others.
// Without JavaScript the <details> still opens and closes with its summary.
(function () {
  "use strict";

  function openMenus() {
    return document.querySelectorAll("details.row-menu[open]");
  }

  function closeAllBut(keep) {
    openMenus().forEach(function (menu) {
      if (menu !== keep) menu.open = false;
    });
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    openMenus().forEach(function (menu) {
      menu.open = false;
      if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
    });
  });

  document.addEventListener("click", function (event) {
    closeAllBut(event.target.closest("details.row-menu"));
  });

  document.addEventListener("focusin", function (event) {
    closeAllBut(event.target.closest("details.row-menu"));
  });
})();
