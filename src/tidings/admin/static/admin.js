// The admin panel's only script: the overview's numbers refresh by polling a
// fragment, and dangerous buttons ask first. Every form works without it.
(() => {
  const box = document.querySelector("[data-refresh]");
  if (box) {
    const every = Number(box.querySelector("[data-every]")?.dataset.every || 3) * 1000;
    const refresh = async () => {
      try {
        const r = await fetch(box.dataset.refresh, { credentials: "same-origin" });
        if (r.redirected || r.url.includes("/admin/login")) { location.reload(); return; }
        if (r.ok) box.innerHTML = await r.text();
      } catch (_) { /* offline for a moment: try again at the next tick */ }
      setTimeout(refresh, every);
    };
    setTimeout(refresh, every);
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
})();
