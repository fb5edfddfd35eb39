// Inline edits in the user list: Escape puts the stored value back.
// Enter submits the form natively; htmx swaps the cell with the server's answer.
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape") return;
  const form = event.target.closest("form.inline-edit");
  if (!form || !window.htmx) return;
  event.preventDefault();
  const cell = form.closest("td");
  window.htmx.ajax("GET", form.dataset.cancelUrl, { target: cell, swap: "innerHTML" }).then(() => {
    const link = cell.querySelector("a.inline-value");
    if (link) link.focus();
  });
});
