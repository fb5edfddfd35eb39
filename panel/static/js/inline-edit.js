// Inline edits in the user list. Enter, or leaving the field with a changed value, saves
// (htmx posts the form and swaps the cell with the server's answer); Escape, or leaving it
// unchanged, puts the stored value back without asking the server. The cell's class and
// the page's status line (#inline-edit-status, polite) say "saving", "saved" or why not, in the
// words of the JavaScript catalog (base.html loads it first: gettext, interpolate).
(function () {
  "use strict";

  const STATES = ["is-saving", "is-saved", "is-error"];
  const displays = new WeakMap(); // cell -> the display it showed before its editor opened

  function editorOf(element) {
    return element && element.closest ? element.closest("form.inline-edit") : null;
  }

  function show(cell, state, message) {
    cell.classList.remove(...STATES);
    if (state) cell.classList.add(state);
    const status = document.getElementById("inline-edit-status");
    if (status) status.textContent = message;
  }

  function fieldName(form) {
    const label = form.querySelector("label");
    return label ? label.textContent.trim() : gettext("The value");
  }

  function restore(form, { focus }) {
    const cell = form.closest("td");
    form.dataset.state = "closed"; // a blur that follows (the field leaving the page) must not save
    const display = displays.get(cell);
    if (display === undefined) {
      window.htmx.ajax("GET", form.dataset.cancelUrl, { target: cell, swap: "innerHTML" });
      return;
    }
    cell.innerHTML = display;
    window.htmx.process(cell);
    show(cell, null, "");
    const link = cell.querySelector("a.inline-value");
    if (focus && link) link.focus();
  }

  document.addEventListener("keydown", (event) => {
    const form = editorOf(event.target);
    if (!form || !window.htmx) return;
    if (event.key === "Escape") {
      event.preventDefault();
      restore(form, { focus: true });
    } else if (event.key === "Enter") {
      form.dataset.via = "enter"; // the saved value gets the focus back
    }
  });

  document.addEventListener("focusout", (event) => {
    const form = editorOf(event.target);
    if (!form || !window.htmx || form.dataset.state) return; // closed, or already saving
    if (document.activeElement === event.target) return; // the window lost focus, not the field
    const input = event.target;
    if (input.value === form.dataset.storedValue) {
      restore(form, { focus: false });
    } else if (!(input.getAttribute("aria-invalid") === "true" && input.value === input.defaultValue)) {
      form.requestSubmit(); // a value already refused is not sent again until it changes
    }
  });

  document.addEventListener("htmx:beforeRequest", (event) => {
    const form = editorOf(event.detail.elt);
    if (!form || event.detail.requestConfig.verb !== "post") return;
    form.dataset.state = "saving";
    show(form.closest("td"), "is-saving", interpolate(gettext("%(field)s: saving…"), { field: fieldName(form) }, true));
  });

  document.addEventListener("htmx:beforeSwap", (event) => {
    const cell = event.detail.target;
    if (cell.classList.contains("inline-cell") && !cell.querySelector("form.inline-edit")) {
      displays.set(cell, cell.innerHTML);
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const cell = event.detail.target;
    const form = editorOf(event.detail.requestConfig.elt);
    if (!form || !cell.classList.contains("inline-cell")) return;
    const refused = cell.querySelector("form.inline-edit .errors");
    if (refused) {
      const why = { field: fieldName(form), reason: refused.textContent.trim() };
      show(cell, "is-error", interpolate(gettext("%(field)s: not saved. %(reason)s"), why, true));
      return;
    }
    show(cell, "is-saved", interpolate(gettext("%(field)s: saved."), { field: fieldName(form) }, true));
    const link = cell.querySelector("a.inline-value");
    if (form.dataset.via === "enter" && link) link.focus();
    window.setTimeout(() => cell.classList.remove("is-saved"), 3000);
  });

  function failed(event) {
    const form = editorOf(event.detail.elt);
    if (!form) return;
    delete form.dataset.state; // still open: the next Enter or blur tries again
    const unreachable = gettext("%(field)s: not saved, the panel could not be reached. Try again.");
    show(form.closest("td"), "is-error", interpolate(unreachable, { field: fieldName(form) }, true));
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
})();
