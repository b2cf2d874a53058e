// Search: passages best first, each opening the source viewer at its page or time.
import { api, announce, el, readableCollections, startPage } from "./api.js";
import { sourceCard } from "./sources.js";

const form = document.getElementById("search-form");
const results = document.getElementById("results");

async function search(event) {
  event.preventDefault();
  const body = { query: form.query.value.trim(), top_k: Number(form.top_k.value) };
  if (!body.query) return;
  if (form.mode.value) body.mode = form.mode.value;
  if (form.collection.value) body.filters = { collection: form.collection.value };
  form.go.disabled = true;
  results.setAttribute("aria-busy", "true");
  try {
    const { hits } = await (await api("/search", { method: "POST", json: body })).json();
    results.replaceChildren(...hits.map((h) => sourceCard(h, { score: h.score })));
    announce(hits.length ? `${hits.length} passages found.` : "No passage found.");
    if (!hits.length) results.replaceChildren(el("li", {}, "No passage found."));
  } catch (error) {
    results.replaceChildren(el("li", { class: "error", role: "alert" }, `Search failed: ${error.message}`));
  } finally {
    form.go.disabled = false;
    results.setAttribute("aria-busy", "false");
  }
}

const me = await startPage();
for (const name of await readableCollections(me)) form.collection.append(el("option", { value: name }, name));
form.addEventListener("submit", search);
document.body.dataset.ready = "true";
