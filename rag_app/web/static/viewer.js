// The source viewer: a PDF page rendered by the server with the quote's boxes drawn over it
// (fractions of the page, so they stay on the words at any size or zoom), or a player that
// starts where a media passage is spoken.
import { api, announce, el, startPage } from "./api.js";
import { formatTime } from "./sources.js";

const params = new URLSearchParams(location.search);
const documentId = params.get("doc") || "";
const quote = params.get("q") || "";
const status = document.getElementById("status");

function viewerUrl(page) {
  const next = new URLSearchParams(params);
  next.set("page", String(page));
  return `/app/viewer?${next}`;
}

async function showPage(doc, page) {
  const section = document.getElementById("pdf");
  const image = document.getElementById("page-image");
  const sheet = document.getElementById("sheet");
  const base = `/documents/${encodeURIComponent(doc.document_id)}`;
  document.getElementById("page-label").textContent = `Page ${page} of ${doc.pages}`;
  const prev = document.getElementById("prev");
  const next = document.getElementById("next");
  prev.href = viewerUrl(page - 1);
  next.href = viewerUrl(page + 1);
  prev.toggleAttribute("hidden", page <= 1);
  next.toggleAttribute("hidden", page >= doc.pages);
  document.getElementById("download").href = `${base}/content#page=${page}`;
  image.alt = `Page ${page} of ${doc.title}`;
  section.hidden = false;
  const loaded = new Promise((resolve, reject) => {
    image.addEventListener("load", resolve, { once: true });
    image.addEventListener("error", () => reject(new Error("the page image did not load")), { once: true });
  });
  image.src = `${base}/pages/${page}`;
  await loaded;
  const citedPage = Number(params.get("page"));
  if (!quote || page !== citedPage) return;
  const found = await (await api(`${base}/pages/${page}/quote?text=${encodeURIComponent(quote)}`)).json();
  for (const box of found.boxes) {
    const mark = el("div", { class: "highlight", "aria-hidden": "true" });
    mark.style.left = `${box.x * 100}%`;
    mark.style.top = `${box.y * 100}%`;
    mark.style.width = `${box.w * 100}%`;
    mark.style.height = `${box.h * 100}%`;
    sheet.append(mark);
  }
  if (found.found) {
    status.textContent = `The cited passage is highlighted on page ${page}.`;
    sheet.querySelector(".highlight").scrollIntoView({ block: "center" });
  } else {
    status.textContent = params.get("ocr")
      ? "This page was read by OCR and the passage could not be located among its recognised words; it is shown below."
      : "The passage could not be located on the page image; it is shown below.";
  }
}

function showMedia(doc) {
  const start = Number(params.get("t") || "0");
  const end = params.get("end") === null ? null : Number(params.get("end"));
  const kind = doc.media_type.startsWith("video/") ? "video" : "audio";
  const src = `/documents/${encodeURIComponent(doc.document_id)}/content`;
  const player = el(kind, { id: "player-media", controls: true, preload: "metadata", src, "aria-label": `${doc.title}, from ${formatTime(start)}` });
  player.addEventListener("loadedmetadata", () => {
    player.currentTime = start;
  }, { once: true });
  document.getElementById("player").replaceChildren(player);
  document.getElementById("segment").textContent =
    `${formatTime(start)}${end !== null ? "–" + formatTime(end) : ""}: ${quote}`;
  document.getElementById("media-download").href = `${src}#t=${start}`;
  document.getElementById("media").hidden = false;
  document.getElementById("quote-section").hidden = true; // the segment above is the quote
  status.textContent = `The player starts at ${formatTime(start)}, where the passage is spoken.`;
}

await startPage();
try {
  const doc = await (await api(`/documents/${encodeURIComponent(documentId)}`)).json();
  document.getElementById("title").textContent = doc.title;
  document.title = `${doc.title} · Documents`;
  if (quote) {
    document.getElementById("quote").textContent = quote;
    document.getElementById("quote-section").hidden = false;
  }
  if (doc.media_type === "application/pdf") {
    const page = Math.min(Math.max(1, Number(params.get("page")) || 1), Math.max(1, doc.pages));
    await showPage(doc, page);
  } else if (doc.media_type.startsWith("audio/") || doc.media_type.startsWith("video/")) {
    showMedia(doc);
  } else {
    status.textContent = "This document has no page or player view.";
  }
} catch (error) {
  status.replaceChildren(el("span", { class: "error" }, `Cannot show this source: ${error.message}`));
  announce(`Cannot show this source: ${error.message}`);
}
document.body.dataset.ready = "true";
