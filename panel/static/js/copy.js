// Copy buttons: data-copy="<id>" copies the text of that element to the clipboard.
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      button.textContent = "Select and copy";
      return;
    }
    navigator.clipboard.writeText(source.textContent.trim()).then(
      function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = "Copy"; }, 2000);
      },
      function () { button.textContent = "Select and copy"; }
    );
  });
})();
