// The token form's permissions: ticking one chooses "Only the permissions ticked", and "Read-only" ticks
// the view_ ones, so that the list shows what the shortcut gives. Without JavaScript the radio alone decides.
(function () {
  "use strict";

  function radio(form, value) {
    return form.querySelector('input[name="access"][value="' + value + '"]');
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    const form = input.form;
    if (!form || !form.querySelector('input[name="access"]')) return;
    if (input.name === "permissions" && radio(form, "chosen")) {
      radio(form, "chosen").checked = true;
    } else if (input.name === "access" && input.value === "read_only") {
      form.querySelectorAll('input[name="permissions"]').forEach(function (box) {
        box.checked = box.value.split(".")[1].startsWith("view_");
      });
    }
  });
})();
