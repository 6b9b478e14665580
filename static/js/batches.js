// The batch grid's small extras; htmx polling does the live updates (templates/batches/).
// Driven by data attributes only (strict CSP: no inline script).
(() => {
  "use strict";
  const base = document.title;

  // The tab's title shows the progress, so a batch can be watched from another tab.
  function showProgress() {
    const progress = document.querySelector("[data-batch-progress]");
    if (!progress) return;
    const { done, total } = progress.dataset;
    document.title = `${done}/${total} · ${base}`;
  }

  document.addEventListener("DOMContentLoaded", showProgress);
  document.addEventListener("htmx:afterSettle", showProgress);
  document.addEventListener("htmx:oobAfterSwap", showProgress);
})();
