// The inbox's "tick all" box ticks every task row of the page.
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("tick-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll("#inbox input[name=task]").forEach((box) => { box.checked = all.checked; });
  });
});
