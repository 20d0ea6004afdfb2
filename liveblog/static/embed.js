/* liveblog: embed a story in any web page with two lines (docs/api.md "Embeds"):
 *
 *   <div data-liveblog-story="SLUG"><a href="https://live.example.org/stories/SLUG">Follow the live blog</a></div>
 *   <script src="https://live.example.org/embed.js" async></script>
 *
 * The link inside the div is the fallback where scripts do not run. This script replaces it
 * with an iframe of the story's live view (/stories/SLUG/embed, on the server this script
 * came from), with a title for screen readers, and keeps the iframe as tall as its content.
 * An <iframe data-liveblog-story> already in the page (oEmbed's HTML) is resized the same way.
 *
 * Resizing, origin-checked both ways (the frame's side is /static/embed-frame.js): this
 * script posts a hello to each iframe, addressed to the liveblog origin only; it accepts a
 * message only if it comes from that origin AND from one of its own iframes' windows, and
 * only of the shape {liveblog: "height", height: <pixels>}.
 *
 * No dependencies, no globals; safe to include more than once.
 */
"use strict";

(() => {
  const script = document.currentScript;
  if (!script || !script.src) return;
  const ORIGIN = new URL(script.src).origin;
  const SLUG = /^[a-z0-9-]{1,80}$/;
  const MAX_HEIGHT = 100_000;
  const frames = new Map(); // contentWindow -> iframe

  function hello(frame) {
    if (frame.contentWindow) frame.contentWindow.postMessage({ liveblog: "hello" }, ORIGIN);
  }

  function track(frame) {
    if (frame.dataset.liveblogTracked) return;
    frame.dataset.liveblogTracked = "1";
    frame.addEventListener("load", () => {
      frames.set(frame.contentWindow, frame);
      hello(frame);
    });
    if (frame.contentWindow) {
      frames.set(frame.contentWindow, frame);
      hello(frame); // it may have loaded already (this script is async)
    }
  }

  function embed(container) {
    const slug = container.dataset.liveblogStory;
    if (container.dataset.liveblogEmbedded || !SLUG.test(slug || "")) return;
    container.dataset.liveblogEmbedded = "1";
    const fallback = container.querySelector("a");
    const frame = document.createElement("iframe");
    frame.src = `${ORIGIN}/stories/${slug}/embed`;
    frame.title = container.dataset.liveblogTitle
      || (fallback && fallback.textContent.trim())
      || `Live blog: ${slug}`;
    frame.dataset.liveblogStory = slug;
    frame.allow = "clipboard-write"; // the updates' "Copy link" buttons (live.js) inside the frame
    frame.style.width = "100%";
    frame.style.height = "600px";
    frame.style.border = "0";
    frame.style.display = "block";
    container.replaceChildren(frame);
    track(frame);
  }

  window.addEventListener("message", (event) => {
    if (event.origin !== ORIGIN) return;
    const frame = frames.get(event.source);
    if (!frame) return;
    const data = event.data;
    if (typeof data !== "object" || data === null || data.liveblog !== "height") return;
    const height = data.height;
    if (typeof height !== "number" || !Number.isFinite(height) || height < 0 || height > MAX_HEIGHT) return;
    frame.style.height = `${Math.ceil(height)}px`;
  });

  function scan() {
    for (const container of document.querySelectorAll("div[data-liveblog-story]")) embed(container);
    for (const frame of document.querySelectorAll("iframe[data-liveblog-story]")) {
      try {
        if (new URL(frame.src).origin === ORIGIN) track(frame);
      } catch {
        // not a URL: not ours
      }
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
