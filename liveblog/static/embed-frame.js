/* liveblog: the frame's side of an embed (templates/embed.html, inside the iframe that
 * embed.js put on another site's page).
 *
 * It tells the embedding page how tall the content is, so the iframe can be as tall as the
 * story and never scroll on its own. The conversation, origin-checked both ways:
 *
 *   host page (embed.js)  -> frame:  {liveblog: "hello"}               to this server's origin
 *   frame (this script)   -> host:   {liveblog: "height", story, height} to the hello's origin
 *
 * The frame answers only a hello that comes from its own parent window (event.source), and
 * posts only to window.parent, with the origin the browser reported for that hello as the
 * target: no other window, no "*". A height is all it ever sends. Framing itself is limited
 * by the page's Content-Security-Policy (frame-ancestors, LIVEBLOG_EMBED_FRAME_ANCESTORS).
 *
 * Links open in a new tab (<base target="_blank">), except links within the page
 * (#update-…), which scroll to the update here.
 */
"use strict";

(() => {
  const main = document.querySelector("main[data-embed]");
  if (!main || window.parent === window) return; // opened on its own: nothing to tell anyone
  const story = main.dataset.embed;
  const hosts = new Set(); // the origins of the host page that said hello (one, in practice)
  let lastHeight = 0;

  function height() {
    return Math.ceil(document.documentElement.getBoundingClientRect().height);
  }

  function tell(origin, force) {
    const current = height();
    if (!force && current === lastHeight) return;
    lastHeight = current;
    window.parent.postMessage({ liveblog: "height", story, height: current }, origin);
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent) return;
    const data = event.data;
    if (typeof data !== "object" || data === null || data.liveblog !== "hello") return;
    if (typeof event.origin !== "string" || !/^https?:\/\//.test(event.origin)) return;
    hosts.add(event.origin);
    tell(event.origin, true);
  });

  const report = () => {
    const current = height();
    if (current === lastHeight) return;
    for (const origin of hosts) tell(origin, true);
  };
  new ResizeObserver(report).observe(document.documentElement);
  window.addEventListener("load", report);

  // In-page links: scroll here rather than open the embed in a new tab.
  document.addEventListener("click", (event) => {
    const anchor = event.target instanceof Element ? event.target.closest("a[href^='#']") : null;
    if (!anchor) return;
    const target = document.getElementById(anchor.getAttribute("href").slice(1));
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView();
  });
})();
