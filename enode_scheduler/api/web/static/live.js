// Live parts of a page: every element with data-live="SECONDS" is re-rendered by the server
// (same URL, X-Fragment header) while the tab is visible. A 401 means the login ran out.
"use strict";
for (const el of document.querySelectorAll("[data-live]")) {
  const everyMs = Math.max(2, Number(el.dataset.live) || 10) * 1000;
  const refresh = async () => {
    if (document.hidden) return;
    try {
      const response = await fetch(location.href, {
        headers: { "X-Fragment": "1" }, credentials: "same-origin", cache: "no-store",
      });
      if (response.status === 401) { location.reload(); return; }
      if (response.ok) el.innerHTML = await response.text();
    } catch (_) {
      // The daemon restarting: try again at the next tick.
    }
  };
  setInterval(refresh, everyMs);
  document.addEventListener("visibilitychange", refresh);
}
