// Dialogs: links marked data-dialog-open="<id>" open that <dialog> instead of navigating,
// data-dialog-close closes the dialog it sits in, and a dialog rendered with
// data-open-on-load (a form with errors, a new secret) opens as a modal at once, and so
// does a closed dialog that htmx has just filled.
// Without JavaScript the links lead to plain pages and open dialogs show in place.
(function () {
  "use strict";

  function showModal(dialog) {
    if (dialog.open) dialog.close();
    dialog.showModal();
  }

  document.addEventListener("click", function (event) {
    const opener = event.target.closest("[data-dialog-open]");
    if (opener) {
      const dialog = document.getElementById(opener.dataset.dialogOpen);
      if (dialog) {
        event.preventDefault();
        showModal(dialog);
      }
      return;
    }
    const closer = event.target.closest("[data-dialog-close]");
    const dialog = closer && closer.closest("dialog");
    if (dialog && !closer.href) {
      event.preventDefault();
      dialog.close();
    } else if (dialog && closer.href) {
      dialog.close(); // and follow the link, so the page no longer holds what the dialog showed
    }
  });

  // Content htmx loads into a closed dialog (an enrolment step) opens it.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const dialog = event.detail.target.closest("dialog");
    if (dialog && !dialog.open) dialog.showModal();
  });

  document.querySelectorAll("dialog[data-open-on-load]").forEach(showModal);
})();
