// Dialogs: links marked data-dialog-open="<id>" open that <dialog> instead of navigating,
// data-dialog-close closes the dialog it sits in, and a dialog rendered with
// data-open-on-load (a form with errors, a new secret) opens as a modal at once, and so
// does a closed dialog that htmx has just filled.
// Without JavaScript the links lead to plain pages and open dialogs show in place.
// Quick actions: a link marked data-quick-action loads its page's form (the server answers
// htmx with the fragment alone) into the page's shared dialog #quick-action; the form posts
// into it again, and on success the server sends the whole window back to the list.
(function () {
  "use strict";

  function showModal(dialog) {
    if (dialog.open) dialog.close();
    dialog.showModal();
  }

  function openQuickAction(link) {
    htmx.ajax("GET", link.href, { target: "#quick-action", swap: "innerHTML" });
  }

  document.addEventListener("click", function (event) {
    const quickAction = event.target.closest("a[data-quick-action]");
    if (quickAction && window.htmx && document.getElementById("quick-action")) {
      event.preventDefault();
      openQuickAction(quickAction);
      return;
    }
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
    if (dialog && (!closer.href || dialog.id === "quick-action")) {
      event.preventDefault();
      dialog.close();
    } else if (dialog && closer.href) {
      dialog.close(); // and follow the link, so the page no longer holds what the dialog showed
    }
  });

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!window.htmx || !form.closest("dialog#quick-action")) return;
    event.preventDefault();
    htmx.ajax("POST", form.action, { source: form, target: "#quick-action", swap: "innerHTML" });
  });

  // Content htmx loads into a closed dialog (an enrolment step, a quick action) opens it, and
  // showModal focuses its first field. Content that replaces an open quick action's (the form
  // refused, the password prompt) gets the focus on its first refused field, else its first one,
  // at once, so nothing typed meanwhile lands elsewhere.
  document.body.addEventListener("htmx:afterSwap", function (event) {
    const dialog = event.detail.target.closest("dialog");
    if (dialog && !dialog.open) {
      dialog.showModal();
    } else if (dialog && dialog.id === "quick-action") {
      const field = 'input:not([type="hidden"]):not([hidden]), select, textarea, button';
      const first = dialog.querySelector('[aria-invalid="true"]') || dialog.querySelector(field);
      if (first) first.focus();
    }
  });

  // A quick action the server will not show as a fragment (gone, not allowed) opens as its page.
  document.body.addEventListener("htmx:responseError", function (event) {
    const config = event.detail.requestConfig;
    if (event.detail.target.id === "quick-action" && config.verb === "get") window.location.assign(config.path);
  });

  document.querySelectorAll("dialog[data-open-on-load]").forEach(showModal);
})();
