// syncd status page: live updates without a reload. The server says "changed" on /events
// (server-sent events); the page then fetches /page/content and swaps it in, keeping open
// <details> open. Without this script the page still works: it is complete on every load.
"use strict";
(function () {
  const content = document.getElementById("content");
  const live = document.getElementById("live");
  if (!content) return;

  // Times arrive in UTC (<time datetime>); shown in the reader's own time zone.
  function localTimes() {
    content.querySelectorAll("time[datetime]").forEach((t) => {
      const at = new Date(t.getAttribute("datetime"));
      if (!isNaN(at)) {
        t.title = t.textContent;
        t.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
      }
    });
  }
  localTimes();
  if (!window.EventSource) return;
  let pending = false;
  let again = false;

  function openDetails() {
    const open = new Set();
    content.querySelectorAll("details[open] > summary").forEach((s) => open.add(s.textContent));
    return open;
  }

  async function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    try {
      const answer = await fetch("/page/content", { credentials: "same-origin", cache: "no-store" });
      if (answer.status === 401) { window.location.assign("/signin"); return; }
      if (answer.ok) {
        const open = openDetails();
        content.innerHTML = await answer.text();  // the server's own escaped markup
        content.querySelectorAll("details > summary").forEach((s) => {
          if (open.has(s.textContent)) s.parentElement.open = true;
        });
        localTimes();
        content.dataset.refreshed = String(Date.now());
      }
    } catch (err) {
      live.className = "live off";
    } finally {
      pending = false;
      if (again) { again = false; refresh(); }
    }
  }

  const events = new EventSource("/events");
  events.addEventListener("hello", () => { live.className = "live on"; refresh(); });
  events.addEventListener("changed", refresh);
  events.onerror = () => { live.className = "live off"; };
})();
