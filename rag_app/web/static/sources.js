// Shared by Ask and Search: where a passage is (page or time) and the link that opens it
// in the source viewer.
import { el } from "./api.js";

export function formatTime(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

export function whereLabel(source) {
  if (source.start_s !== null && source.start_s !== undefined) {
    return `${formatTime(source.start_s)}–${formatTime(source.end_s ?? source.start_s)}`;
  }
  return `page ${source.page}`;
}

// source: a citation (quote) or a search hit (text).
export function viewerHref(source) {
  const params = new URLSearchParams({ doc: source.document_id, page: String(source.page) });
  const quote = source.quote ?? source.text;
  if (quote) params.set("q", quote.slice(0, 1500));
  if (source.start_s !== null && source.start_s !== undefined) {
    params.set("t", String(source.start_s));
    if (source.end_s !== null && source.end_s !== undefined) params.set("end", String(source.end_s));
  }
  if (source.ocr) params.set("ocr", "1");
  return `/app/viewer?${params}`;
}

export function sourceCard(source, { number, score } = {}) {
  const quote = source.quote ?? source.text;
  return el(
    "li",
    { class: "source" },
    el(
      "p",
      { class: "source-head" },
      number ? el("span", { class: "marker" }, `[${number}] `) : null,
      el("a", { href: viewerHref(source), class: "open-source" }, source.title),
      el("span", { class: "where" }, ` · ${whereLabel(source)}`),
      source.ocr ? el("span", { class: "tag" }, " · OCR") : null,
      score !== undefined ? el("span", { class: "where" }, ` · score ${score.toFixed(3)}`) : null,
    ),
    el("blockquote", {}, quote),
  );
}
