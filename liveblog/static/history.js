/* liveblog: the history page, stepped through without reloading it.
 *
 * The page works without this script: "Version N" links (the stepper), "Show the story then"
 * and the version picker all load /stories/{slug}/history?version=N#as-of. With it, the same
 * URL is fetched and only its "as it stood" section (#as-of) replaces this page's, the picker
 * and the timeline's current change follow, and the address bar and the Back button work as
 * if the page had been loaded (history.pushState, popstate). Whatever goes wrong, the script
 * falls back to loading the URL.
 *
 * Security: the HTML comes from this server's own page (the same the browser would load);
 * DOMParser documents are inert (nothing in them runs) and the page's CSP holds.
 */
"use strict";

(() => {
  const page = document.querySelector("main.history-page");
  if (!page || !window.fetch || !window.DOMParser || !window.history.pushState) return;

  const STEPS = "a.step, a.show-then, a#as-of-older";

  let latest = 0; // the newest request: an older one answering late is dropped

  /** Show the as-of section of `url` (this page, another version) in place. */
  async function show(url, push) {
    const mine = ++latest;
    let fresh;
    try {
      const response = await fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    } catch {
      if (mine === latest) window.location.assign(url);
      return;
    }
    if (mine !== latest) return;
    const section = fresh.getElementById("as-of");
    if (!section) {
      window.location.assign(url);
      return;
    }
    const adopted = document.importNode(section, true);
    const current = document.getElementById("as-of");
    if (current) current.replaceWith(adopted);
    else document.querySelector(".timeline").before(adopted);
    const picker = document.getElementById("version");
    const picked = fresh.getElementById("version");
    if (picker && picked) picker.value = picked.value;
    for (const item of document.querySelectorAll(".timeline li.change")) {
      if (item.dataset.version === adopted.dataset.version) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    }
    document.title = fresh.title;
    if (push) window.history.pushState({ liveblogHistory: true }, "", url);
    // live.js shows the new section's times in the reader's time zone.
    adopted.dispatchEvent(new CustomEvent("liveblog:content", { bubbles: true }));
    const heading = document.getElementById("as-of-heading");
    if (heading) {
      heading.scrollIntoView({ block: "start" });
      heading.focus({ preventScroll: true });
    }
  }

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target instanceof Element ? event.target.closest(STEPS) : null;
    if (!link) return;
    const url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname !== window.location.pathname) return;
    event.preventDefault();
    show(url.href, true);
  });

  const form = document.querySelector("form.picker");
  if (form) {
    form.addEventListener("submit", (event) => {
      if (!form.checkValidity()) return;
      event.preventDefault();
      const url = new URL(form.action, window.location.href);
      url.search = new URLSearchParams(new FormData(form)).toString();
      show(url.href, true);
    });
  }

  window.history.replaceState({ liveblogHistory: true }, "", window.location.href);
  window.addEventListener("popstate", (event) => {
    if (event.state && event.state.liveblogHistory) show(window.location.href, false);
  });
})();
