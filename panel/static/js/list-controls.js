// Paged lists: a control marked data-autosubmit (the page size, the list's toggles) applies
// itself when changed, so its fallback button (data-autosubmit-fallback) is only for pages without JavaScript.
(function () {
  "use strict";

  document.querySelectorAll("[data-autosubmit-fallback]").forEach((button) => {
    button.hidden = true;
  });

  document.addEventListener("change", (event) => {
    const control = event.target.closest("[data-autosubmit]");
    if (control && control.form) control.form.requestSubmit();
  });
})();
