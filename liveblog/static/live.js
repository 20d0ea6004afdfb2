/* liveblog: the readers' live page, kept up to date in place.
 *
 * The server sends a complete page (it works without this script) and says which story
 * version it shows: <main data-version>. This script subscribes to the story's live delivery
 * from exactly that version (docs/api.md "Live delivery"), over a WebSocket or, where WebSockets
 * are missing or blocked, Server-Sent Events, and applies every later event once, in order:
 * each event carries the story header and the affected update as they now stand, so applying
 * one is re-rendering that update's element (and the header) from the event.
 *
 * A redacted update (docs/redaction.md) arrives as an event like any other, the update now
 * holding no text and a `redaction`; its element is replaced by the tombstone at once, and
 * every other trace of its text on the page (its key-event excerpt, its JSON-LD) goes too.
 *
 * For the reader (docs/api.md "Pages and browsers"): times in their own zone ("15:34 CEST",
 * UTC on hover, "3 min ago" for the first hour), a "Copy link" button on each update, an
 * "Oldest first" toggle (remembered), and a post that arrives while the reader has scrolled
 * down held hidden behind an "N new updates" button, so that nothing above them moves.
 *
 * Security: the only HTML ever inserted is an update's `body_html`, which the server has
 * sanitised (nh3). Everything else goes in as text (textContent, setAttribute), and links
 * only with http(s) URLs. No inline script or style, so the page's strict CSP holds.
 *
 * Social embeds (docs/api.md "Social embeds") are privacy placeholders: the provider's frame
 * is created only when the reader presses "Load content from <provider>", and only for an
 * https frame whose origin the page lists (<meta name="liveblog-frame-origins">, the same
 * origins as its CSP frame-src). Until then nothing on the page points at the provider.
 * This part runs on every page with the script (permalinks and older pages too).
 *
 * No dependencies and no build step.
 */
"use strict";

(() => {
  const RETRY_BASE_MS = 500; // first reconnect within 0.5 s, then up to 1 s, 2 s, ... 30 s
  const RETRY_CAP_MS = 30_000;
  const SOCKET_FAILURES_BEFORE_SSE = 3; // WebSockets that never opened, in a row
  const QUIET_LIMIT_MS = 45_000; // the server sends a heartbeat at least every 30 s
  const GIVE_UP_CODES = new Set([4400, 4401, 4404]); // the story is not there for us: don't retry
  const EXCERPT_CHARS = 100; // as pages.py's `excerpt`
  const PROVIDERS = { // as liveblog/domain/social.py's LABELS
    x: "X (Twitter)", youtube: "YouTube", vimeo: "Vimeo", telegram: "Telegram",
    instagram: "Instagram", bluesky: "Bluesky", mastodon: "Mastodon",
  };
  const FRAME_SANDBOX = "allow-scripts allow-same-origin allow-popups allow-popups-to-escape-sandbox allow-presentation";

  // ------------------------------------------------------------------ times

  // Every time is shown in the reader's own time zone, with the zone's abbreviation
  // ("14:32 CEST"), UTC on hover (the server's own rendering, "2023-06-04 12:32 UTC", which
  // is also what readers without JavaScript see); a recent one also says how long ago it was
  // ("3 min. ago · 14:32 CEST"), kept current every RELATIVE_REFRESH_MS. The live page, the
  // permalinks and the history page all run this, so they show times alike.
  const RECENT_MS = 60 * 60_000; // "N min ago" for the first hour
  const RELATIVE_REFRESH_MS = 30_000;
  const zoned = (options) => new Intl.DateTimeFormat(undefined, { ...options, timeZoneName: "short" });
  const timeOfDay = zoned({ hour: "2-digit", minute: "2-digit" });
  const dayAndTime = zoned({ year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
  const dayOnly = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

  /** "2023-06-04 10:45 UTC", as the server writes it. */
  function utcText(date) {
    return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  /** "now", "3 min ago" (in the reader's language) for a moment within RECENT_MS, else "". */
  function ago(date, now) {
    const elapsed = Math.max(0, now - date.getTime());
    if (elapsed >= RECENT_MS) return "";
    return elapsed < 60_000 ? relative.format(0, "second") : relative.format(-Math.floor(elapsed / 60_000), "minute");
  }

  /** Show every <time datetime> under `root` in the reader's time zone, UTC on hover
   *  (a <time class="date"> as a date alone, "Removed for legal reasons on 4 June 2023"). */
  function localiseTimes(root) {
    const now = Date.now();
    const today = new Date(now).toDateString();
    for (const element of root.querySelectorAll("time[datetime]")) {
      const date = new Date(element.dateTime);
      if (Number.isNaN(date.getTime())) continue;
      if (element.classList.contains("date")) {
        element.textContent = dayOnly.format(date);
      } else {
        const local = (date.toDateString() === today ? timeOfDay : dayAndTime).format(date);
        const recently = ago(date, now);
        element.textContent = recently ? `${recently} · ${local}` : local;
      }
      element.title = utcText(date);
    }
  }

  // ------------------------------------------------------------------ social embeds

  function providerLabel(provider) {
    return Object.hasOwn(PROVIDERS, provider) ? PROVIDERS[provider] : String(provider);
  }

  /** The embed frame origins this page may load (its CSP's frame-src). */
  function frameOrigins() {
    const meta = document.querySelector('meta[name="liveblog-frame-origins"]');
    return new Set((meta?.content || "").split(/\s+/).filter(Boolean));
  }

  /** `url` if it is an https URL whose origin the page may frame, else null. */
  function frameUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "https:" && frameOrigins().has(parsed.origin) ? url : null;
    } catch {
      return null;
    }
  }

  /** A social embed's placeholder, the same element as the server's _embed.html. */
  function buildEmbed(item) {
    const label = providerLabel(item.provider);
    const loadable = item.embed_url ? frameUrl(item.embed_url) : null;
    const button = loadable && h("button", { type: "button", class: "embed-load" }, `Load content from ${label}`);
    if (button) button.hidden = true; // shown by activateEmbeds, as on a served page
    return h(
      "figure",
      { class: `embed embed-${item.provider}`, "data-provider": item.provider, "data-embed-url": loadable },
      h(
        "div", { class: "embed-placeholder" },
        h("p", { class: "embed-source" }, `Content from ${label}: `, link(item.url, item.url)),
        loadable && h("p", { class: "embed-privacy" },
          `Loading it connects your browser to ${label}, which may set cookies and record your visit.`),
        button,
      ),
      item.caption && h("figcaption", {}, item.caption),
    );
  }

  /** Replace the placeholder of `figure` by the provider's frame (the reader asked for it). */
  function loadEmbed(figure) {
    const url = frameUrl(figure.dataset.embedUrl);
    const placeholder = figure.querySelector(".embed-placeholder");
    if (!url || !placeholder) return;
    const frame = h("iframe", {
      class: "embed-frame",
      src: url,
      title: `Content from ${providerLabel(figure.dataset.provider)}`,
      sandbox: FRAME_SANDBOX,
      allow: "fullscreen; encrypted-media; picture-in-picture",
      referrerpolicy: "strict-origin-when-cross-origin",
    });
    placeholder.replaceWith(frame);
    figure.classList.add("is-loaded");
    frame.focus();
  }

  /** Show the load button of every placeholder under `root` (hidden without this script). */
  function activateEmbeds(root) {
    for (const figure of root.querySelectorAll("figure.embed[data-embed-url]")) {
      const button = figure.querySelector("button.embed-load");
      if (!button || !frameUrl(figure.dataset.embedUrl)) continue;
      button.hidden = false;
      button.addEventListener("click", () => loadEmbed(figure), { once: true });
    }
  }

  document.documentElement.classList.add("js"); // styles for what only works with this script
  localiseTimes(document);
  activateEmbeds(document);
  setInterval(() => localiseTimes(document), RELATIVE_REFRESH_MS);
  // Content another script put in place (history.js's stepping) gets local times too.
  document.addEventListener("liveblog:content", (event) => {
    if (event.target instanceof Element) localiseTimes(event.target);
  });

  // ------------------------------------------------------------------ copying a permalink

  const copyStatus = document.createElement("p");
  copyStatus.className = "visually-hidden";
  copyStatus.setAttribute("role", "status");
  document.body.append(copyStatus);

  /** Put `text` on the clipboard: the Clipboard API where the page may use it, else the
   *  old select-and-copy. True if it worked. */
  async function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      try {
        await navigator.clipboard.writeText(text);
        return true;
      } catch {
        // denied (a frame without clipboard-write, a browser setting): try the old way
      }
    }
    const buffer = document.createElement("textarea");
    buffer.value = text;
    buffer.setAttribute("readonly", "");
    buffer.className = "copy-buffer";
    document.body.append(buffer);
    buffer.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    buffer.remove();
    return copied;
  }

  // One listener for every copy button, those live.js inserts later included.
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.copy-link") : null;
    if (!button) return;
    const url = new URL(button.dataset.url, location.href).href;
    const copied = await copyText(url);
    button.dataset.copied = copied ? "yes" : "no";
    copyStatus.textContent = copied ? `Link copied: ${url}` : `Copy this link: ${url}`;
    if (!copied) window.prompt("Copy this link", url);
    setTimeout(() => { delete button.dataset.copied; }, 2000);
  });

  const main = document.querySelector("main[data-live]");
  if (!main) return; // a static page (older updates, a permalink, the history): times and copying are all it needs

  // ------------------------------------------------------------------ building elements

  /** An element with attributes (set as text) and children (strings become text nodes). */
  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    const present = (value) => value !== null && value !== undefined && value !== false && value !== "";
    for (const [name, value] of Object.entries(attributes)) {
      if (present(value)) element.setAttribute(name, String(value));
    }
    element.append(...children.flat(Infinity).filter(present));
    return element;
  }

  /** `url` if it is an http(s) URL, else null (never a javascript: or data: link). The URL
   *  is kept as written, as the server's template writes it (not normalised, which would
   *  add a "/" to "https://example.org" and make the two renderings differ). */
  function webUrl(url) {
    try {
      const parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? url : null;
    } catch {
      return null;
    }
  }

  /** A link to `url` showing `text`, or just the text if `url` is not a web address. */
  function link(url, text) {
    const href = webUrl(url);
    return href ? h("a", { href, rel: "noopener noreferrer nofollow" }, text) : text;
  }

  function timeElement(moment) {
    const date = new Date(moment);
    return h("time", { datetime: moment, title: utcText(date) }, utcText(date));
  }

  function capitalise(word) {
    return word.charAt(0).toUpperCase() + word.slice(1).toLowerCase();
  }

  function copyButton(update) {
    return h(
      "button",
      { type: "button", class: "copy-link", "data-url": permalink(update), "aria-label": "Copy link to this update" },
      "Copy link",
    );
  }

  function permalink(update) {
    return `/stories/${encodeURIComponent(update.story)}/updates/${encodeURIComponent(update.id)}`;
  }

  /** The sanitised body as a fragment. The one place HTML from the server is parsed. */
  function bodyFragment(update) {
    const template = document.createElement("template");
    template.innerHTML = update.body_html; // sanitised server-side (nh3); inert until inserted
    return template.content;
  }

  /** The update's label in the key events: its headline, else the start of its text, cut
   * at a word (as pages.py's `excerpt`). */
  function excerpt(update) {
    if (update.title) return update.title;
    const text = (bodyFragment(update).textContent || "").split(/\s+/).filter(Boolean).join(" ");
    if (text.length <= EXCERPT_CHARS) return text;
    const cut = text.slice(0, EXCERPT_CHARS);
    const space = cut.lastIndexOf(" ");
    return `${space > 0 ? cut.slice(0, space) : cut}…`;
  }

  /** "2023-06-04": the UTC date of `moment`, as pages.py's `day` filter writes it. */
  function utcDay(moment) {
    return new Date(moment).toISOString().slice(0, 10);
  }

  /** What stands in for a redacted update's text (as pages.py's `removed_notice`). */
  function removedNotice(update) {
    return `Removed for legal reasons on ${utcDay(update.redaction.at)}`;
  }

  /** A redacted update's tombstone, the same element as the server's _update.html: where
   *  the update was, when it was removed, the public note and the legal basis. */
  function buildTombstone(update) {
    const redaction = update.redaction;
    const heading = `update-${update.id}-removed`;
    const at = h("time", { class: "date", datetime: redaction.at, title: utcText(new Date(redaction.at)) },
      utcDay(redaction.at));
    const article = h(
      "article",
      {
        class: "update redacted",
        id: `update-${update.id}`,
        "data-update-id": update.id,
        "data-revision": update.revision,
        "data-published": update.published_at,
        "aria-labelledby": heading,
      },
      h("header", {}, h("a", { class: "permalink", href: permalink(update) }, timeElement(update.published_at))),
      h(
        "div", { class: "tombstone", role: "note" },
        h("h3", { class: "tombstone-heading", id: heading }, "Removed for legal reasons on ", at),
        redaction.note && h("p", { class: "tombstone-note" }, redaction.note),
        redaction.legal_basis && h(
          "p", { class: "tombstone-basis" }, h("strong", {}, "Legal basis:"), " ", redaction.legal_basis,
        ),
      ),
    );
    localiseTimes(article);
    return article;
  }

  /** An update's <article>, the same element as the server's _update.html. */
  /** An uploaded image (an Update's media item with an `id`): as _update.html renders it. */
  function buildImage(item) {
    const variants = item.variants || [];
    const src = variants.find((v) => v.width >= 640) || variants[variants.length - 1];
    const caption = item.caption || item.credit ? h(
      "figcaption", {},
      item.caption || "",
      item.caption && item.credit ? " — " : "",
      item.credit && h("span", { class: "credit" }, item.credit),
    ) : null;
    return h(
      "figure", { class: "media-image" },
      h("img", {
        src: src && src.url,
        srcset: variants.map((v) => `${v.url} ${v.width}w`).join(", "),
        sizes: "(max-width: 46rem) 100vw, 44rem",
        alt: item.alt,
        loading: "lazy",
        width: item.width,
        height: item.height,
      }),
      caption,
    );
  }

  function buildUpdate(update) {
    if (update.status === "redacted") return buildTombstone(update);
    const classes = ["update"];
    if (update.status === "retracted") classes.push("retracted");
    if (update.key_event) classes.push("key-event");
    const claim = update.verification;
    const body = h("div", { class: "body" });
    body.append(bodyFragment(update));
    const article = h(
      "article",
      {
        class: classes.join(" "),
        id: `update-${update.id}`,
        "data-update-id": update.id,
        "data-revision": update.revision,
        "data-published": update.published_at,
      },
      h(
        "header", {},
        h("a", { class: "permalink", href: permalink(update) }, timeElement(update.published_at)),
        update.pinned && h("span", { class: "badge pinned" }, "Pinned"),
        update.key_event && h("span", { class: "badge key" }, "Key event"),
        claim && h(
          "span", { class: `badge claim claim-${claim.status}` },
          h("span", { class: "visually-hidden" }, "Claim status: "), capitalise(claim.status),
        ),
        copyButton(update),
      ),
      update.title && h("h3", { class: "update-title" }, update.title),
      update.retraction && h(
        "p", { class: "retraction-notice", role: "note" }, h("strong", {}, "Retracted:"), " ", update.retraction.note,
      ),
      body,
      claim && claim.note && h(
        "p", { class: `claim-note claim-note-${claim.status}` }, h("strong", {}, "Claim note:"), " ", claim.note,
      ),
      update.sources.length > 0 && h(
        "p", { class: "sources" }, "Source: ",
        update.sources.map((source, index) => [
          index > 0 && "; ",
          source.url ? link(source.url, source.name) : source.name,
        ]),
      ),
      (update.media || []).map((item) => (item.kind === "embed" ? buildEmbed(item)
        : item.id ? buildImage(item)
          : h("p", { class: "media" }, `${capitalise(item.kind)}: `, link(item.url, item.caption || item.url)))),
      update.notes.map((note) => h(
        "p", { class: `note note-${note.kind}` },
        h("strong", {}, capitalise(note.kind)), " (", timeElement(note.at), "): ", note.note,
      )),
      update.byline && h("p", { class: "byline" }, update.byline),
    );
    localiseTimes(article);
    activateEmbeds(article);
    return article;
  }

  function buildKeyEvent(update) {
    const onPage = document.getElementById(`update-${update.id}`);
    const item = h(
      "li", { "data-update-id": update.id, "data-published": update.published_at },
      h("a", { href: onPage ? `#update-${update.id}` : permalink(update) },
        timeElement(update.published_at), " ", h("span", { class: "excerpt" }, excerpt(update))),
    );
    localiseTimes(item);
    return item;
  }

  // ------------------------------------------------------------------ applying events

  const $ = (id) => document.getElementById(id);
  const updateList = $("updates");
  const pinnedList = $("pinned");
  const keyEventList = $("key-events");
  const newUpdatesBar = $("new-updates");
  const hasOlderPages = Boolean(main.dataset.older);
  let version = Number(main.dataset.version);

  const publishedAt = (element) => Date.parse(element.dataset.published);

  // ------------------------------------------------------------------ order

  // Newest first unless the reader asked for oldest first (remembered in localStorage).
  // Only the list of updates follows it; pinned updates and key events stay newest first.
  const ORDER_KEY = "liveblog.order";
  const orderToggle = $("order-toggle");
  let oldestFirst = false;
  try {
    oldestFirst = window.localStorage.getItem(ORDER_KEY) === "oldest";
  } catch {
    oldestFirst = false; // storage refused (a sandboxed frame, a privacy setting): newest first
  }

  /** Put the list in the chosen order and say so on the toggle. */
  function applyOrder() {
    revealHeld();
    const items = [...updateList.children];
    items.sort((a, b) => (oldestFirst ? publishedAt(a) - publishedAt(b) : publishedAt(b) - publishedAt(a)));
    updateList.append(...items);
    main.dataset.order = oldestFirst ? "oldest" : "newest";
    if (orderToggle) orderToggle.setAttribute("aria-pressed", String(oldestFirst));
  }

  if (orderToggle) {
    orderToggle.hidden = false;
    orderToggle.addEventListener("click", () => {
      oldestFirst = !oldestFirst;
      try {
        window.localStorage.setItem(ORDER_KEY, oldestFirst ? "oldest" : "newest");
      } catch {
        // not remembered, but applied
      }
      applyOrder();
    });
  }

  /** Put `element` among `container`'s children, in the container's order (the list of
   *  updates: the reader's; others: newest first). Returns false (and does not insert it) if
   *  it would go at the oldest end while older updates live on older pages. */
  function insertByTime(container, element, olderPagesFollow) {
    const moment = publishedAt(element);
    const ascending = container === updateList && oldestFirst;
    const children = [...container.children];
    const next = children.find((child) => (ascending ? publishedAt(child) > moment : publishedAt(child) < moment));
    const atOldestEnd = ascending ? children.length === 0 || next === children[0] : next === undefined;
    if (olderPagesFollow && atOldestEnd) return false;
    if (next) container.insertBefore(element, next);
    else container.append(element);
    return true;
  }

  // ------------------------------------------------------------------ new updates above the fold

  // A reader who has scrolled down the list is not pushed about: an update posted meanwhile
  // is put in place but held hidden, and a "N new updates" button offers it; the held ones
  // appear when it is pressed, or when the reader scrolls back to the top of the list.

  /** Has the reader scrolled past the top of the list (so a new update would be out of sight)? */
  function readerIsBelowTop() {
    return updateList.getBoundingClientRect().top < 0;
  }

  const heldUpdates = () => updateList.querySelectorAll("article.held");

  /** Show (or update, or remove) the "N new updates" bar; its region is role=status, so it
   *  is announced. */
  function showNewUpdatesBar() {
    const unseen = heldUpdates().length;
    if (unseen === 0) {
      newUpdatesBar.replaceChildren();
      return;
    }
    const button = h("button", { type: "button" }, `${unseen} new update${unseen === 1 ? "" : "s"}`);
    button.addEventListener("click", () => {
      revealHeld();
      const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      $("updates-heading").scrollIntoView({ behavior: smooth ? "smooth" : "auto" });
      $("updates-heading").focus({ preventScroll: true });
    });
    newUpdatesBar.replaceChildren(button);
  }

  function hold(element) {
    element.hidden = true;
    element.classList.add("held");
  }

  function revealHeld() {
    for (const element of heldUpdates()) {
      element.hidden = false;
      element.classList.remove("held");
    }
    newUpdatesBar.replaceChildren();
  }

  window.addEventListener("scroll", () => {
    if (heldUpdates().length > 0 && !readerIsBelowTop()) revealHeld();
  }, { passive: true });

  // A key event's link to an update still held shows the held ones first.
  document.addEventListener("click", (event) => {
    const anchor = event.target instanceof Element ? event.target.closest('a[href^="#update-"]') : null;
    const target = anchor && document.getElementById(anchor.getAttribute("href").slice(1));
    if (target && target.classList.contains("held")) revealHeld();
  });

  /** Re-render `update` where it belongs: the pinned section, or the list. */
  function placeUpdate(update, justPosted) {
    const existing = document.getElementById(`update-${update.id}`);
    const pinned = update.pinned && update.status === "published";
    const container = pinned ? pinnedList : updateList;
    const element = buildUpdate(update);
    if (existing && existing.parentElement === container) {
      if (existing.classList.contains("held")) hold(element); // still unseen
      existing.replaceWith(element); // a correction, a retraction, a flag: same place
    } else if (justPosted && !existing && !pinned) {
      element.classList.add("is-new");
      if (oldestFirst) {
        updateList.append(element); // the newest end; nothing above the reader moves
      } else {
        if (readerIsBelowTop()) hold(element);
        updateList.prepend(element);
      }
    } else {
      existing?.remove(); // pinned or unpinned: it moves
      insertByTime(container, element, container === updateList && hasOlderPages);
    }
    showNewUpdatesBar();
    placeKeyEvent(update);
    if (update.status === "redacted") scrubStructuredData(update);
    $("pinned-section").hidden = pinnedList.children.length === 0;
    $("no-updates").hidden = updateList.children.length + pinnedList.children.length > 0;
  }

  function placeKeyEvent(update) {
    const existing = [...keyEventList.children].find((item) => item.dataset.updateId === update.id);
    if (update.key_event && update.status === "published") {
      const item = buildKeyEvent(update);
      if (existing) existing.replaceWith(item);
      else insertByTime(keyEventList, item, false);
    } else {
      existing?.remove();
    }
    $("key-events-nav").hidden = keyEventList.children.length === 0;
  }

  /** Replace a redacted update's entry in the page's JSON-LD (which search engines read and
   *  which holds its text) by its tombstone, as the server renders it (pages.py). */
  function scrubStructuredData(update) {
    for (const script of document.querySelectorAll('script[type="application/ld+json"]')) {
      let document_;
      try {
        document_ = JSON.parse(script.textContent);
      } catch {
        script.remove(); // unreadable, so it cannot be cleaned: it goes
        continue;
      }
      const entries = Array.isArray(document_.liveBlogUpdate) ? document_.liveBlogUpdate : [];
      const suffix = `#update-${update.id}`;
      const notice = removedNotice(update);
      document_.liveBlogUpdate = entries.map((entry) => (typeof entry["@id"] === "string" && entry["@id"].endsWith(suffix)
        ? {
          "@type": "BlogPosting",
          "@id": entry["@id"],
          url: entry.url,
          headline: notice,
          articleBody: update.redaction.note ? `${notice}. ${update.redaction.note}` : notice,
          datePublished: update.published_at,
          dateModified: update.redaction.at,
        }
        : entry));
      // textContent, and "<" escaped as the server does, so nothing can close the element.
      script.textContent = JSON.stringify(document_).replace(/</g, "\\u003c");
    }
  }

  /** The header as it now stands: headline, summary, live or ended. */
  function renderHeader(story) {
    $("headline").textContent = story.title;
    document.title = story.title;
    $("summary").textContent = story.summary;
    $("summary").hidden = !story.summary;
    if (main.dataset.status !== story.status) {
      main.dataset.status = story.status;
      setConnection(main.dataset.connection);
    }
    $("live-badge").hidden = story.status !== "live";
    const ended = $("coverage-ended");
    ended.hidden = story.status !== "closed";
    ended.replaceChildren("Coverage has ended");
    if (story.closed_at) ended.append(" · ", timeElement(story.closed_at));
    const updated = timeElement(story.updated_at);
    updated.id = "updated-at";
    $("updated-at").replaceWith(updated);
    localiseTimes(ended.parentElement);
  }

  function applyEvent(message) {
    if (message.version <= version) return; // already shown: never apply anything twice
    renderHeader(message.story);
    if (message.update) placeUpdate(message.update, message.event === "UpdatePosted");
    version = message.version;
    main.dataset.version = String(version);
  }

  // ------------------------------------------------------------------ the connection

  const liveUrl = new URL(main.dataset.live, location.href);
  let transport = "WebSocket" in window ? "websocket" : "sse";
  let failures = 0; // connections in a row that did not get going: the backoff exponent
  let socketFailures = 0; // WebSockets in a row that never opened
  let retryTimer = null;
  let connection = null;
  let reloading = false;

  const CONNECTION_TEXT = {
    connecting: "Connecting to live updates…",
    open: "Live: new updates appear here as they are posted.",
    ended: "Any later corrections will appear here.",
    reconnecting: "Connection lost; reconnecting…",
    stopped: "Live updates are not available; reload the page for the latest.",
  };

  /** Say how the page is following the story (and, for tests and styles, in data-*). */
  function setConnection(state) {
    main.dataset.connection = state;
    main.dataset.transport = connection?.transport ?? transport;
    const line = $("connection");
    line.hidden = false;
    const ended = state === "open" && main.dataset.status === "closed";
    line.textContent = CONNECTION_TEXT[ended ? "ended" : state];
  }

  function handle(message) {
    switch (message.type) {
      case "hello":
        failures = 0;
        setConnection("open");
        break;
      case "event":
        applyEvent(message);
        break;
      case "reset": // the server cannot replay from our version: start again from a fresh page
        reloading = true;
        connection?.close();
        location.reload();
        break;
      default: // heartbeat: being heard from is all it is for
        break;
    }
  }

  /** One attempt to connect, whatever the transport. It ends once, saying what comes next:
   *  "retry" (after the backoff), "stop" (the story is not there for us), or "probe" (try
   *  Server-Sent Events at once, see openWebSocket). */
  function session(kind, close) {
    let ended = false;
    let quiet = null;
    const current = {
      listen() { // no message for too long: the connection is dead even if nobody said so
        clearTimeout(quiet);
        quiet = setTimeout(() => { close(); current.end("retry"); }, QUIET_LIMIT_MS);
      },
      receive(text) {
        if (ended) return;
        current.listen();
        let message;
        try {
          message = JSON.parse(text);
        } catch {
          return;
        }
        handle(message);
      },
      end(next) {
        if (ended) return;
        ended = true;
        clearTimeout(quiet);
        if (reloading) return;
        if (next === "stop") setConnection("stopped");
        else if (next === "probe") connect("sse");
        else retryLater();
      },
      close,
      transport: kind,
    };
    current.listen();
    return current;
  }

  function openWebSocket() {
    const url = new URL(liveUrl);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    url.searchParams.set("after", String(version));
    const socket = new WebSocket(url);
    let opened = false;
    const current = session("websocket", () => socket.close());
    socket.addEventListener("open", () => {
      opened = true;
      socketFailures = 0;
    });
    socket.addEventListener("message", (event) => current.receive(event.data));
    socket.addEventListener("close", (event) => {
      if (GIVE_UP_CODES.has(event.code)) return current.end("stop");
      // A WebSocket that never opens, again and again, is blocked on the way (a proxy, a
      // firewall) or the server is down. Server-Sent Events, tried at once, tell which: if
      // they get through, the page uses them from then on (see openEventSource).
      if (!opened && ++socketFailures >= SOCKET_FAILURES_BEFORE_SSE) return current.end("probe");
      current.end("retry");
    });
    return current;
  }

  function openEventSource(probe) {
    // EventSource asks for text/event-stream itself. Rather than let it reconnect on its own
    // (after a fixed delay, with Last-Event-ID), we close it on error and reconnect with
    // `after` = the last version applied: the same resume, with our backoff and jitter.
    const url = new URL(liveUrl);
    url.searchParams.set("after", String(version));
    const source = new EventSource(url);
    const current = session("sse", () => source.close());
    for (const type of ["hello", "event", "reset", "heartbeat"]) {
      source.addEventListener(type, (event) => current.receive(event.data));
    }
    source.addEventListener("open", () => {
      if (probe) transport = "sse"; // HTTP gets through where WebSockets did not: stay on SSE
    });
    source.addEventListener("error", () => {
      source.close();
      current.end("retry"); // a probe that failed too: the server is down, WebSockets next time
    });
    return current;
  }

  /** Connect with `transport`, or probe with Server-Sent Events once. */
  function connect(probe = null) {
    retryTimer = null;
    setConnection(failures === 0 ? "connecting" : "reconnecting");
    if (transport === "websocket" && !probe) {
      try {
        connection = openWebSocket();
        return;
      } catch {
        transport = "sse"; // the browser refused to even try
      }
    }
    connection = openEventSource(Boolean(probe));
  }

  /** Exponential backoff with full jitter: a random wait up to 0.5 s, 1 s, 2 s, ... 30 s, so
   *  that readers dropped together (a server restart) do not all come back at once. */
  function retryLater() {
    const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** failures);
    failures += 1;
    setConnection("reconnecting");
    retryTimer = setTimeout(connect, Math.random() * ceiling);
  }

  // Back online: no need to wait out the backoff.
  window.addEventListener("online", () => {
    if (retryTimer !== null) {
      clearTimeout(retryTimer);
      connect();
    }
  });

  applyOrder();
  connect();
})();
