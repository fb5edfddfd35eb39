// Copy buttons: data-copy="<id>" copies the text of that element to the clipboard.
// Its words come from the JavaScript catalog (base.html loads it first: gettext).
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      button.textContent = gettext("Select and copy");
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        button.textContent = gettext("Copied");
        setTimeout(function () { button.textContent = gettext("Copy"); }, 2000);
      },
      function () { button.textContent = gettext("Select and copy"); }
    );
  });
})();
