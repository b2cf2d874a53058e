// Ask: the question goes to POST /ask as a Server-Sent Events stream; text appears as it is
// written, then the verified answer replaces it with numbered citation links. Each exchange
// is an <article> appended to the thread, so history and follow-ups can build on it.
import { api, announce, el, readableCollections, startPage } from "./api.js";
import { sourceCard, viewerHref } from "./sources.js";

const form = document.getElementById("ask-form");
const thread = document.getElementById("thread");

async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length) yield { event, data: JSON.parse(data.join("\n")) };
    }
  }
}

// The answer's text with each [n] marker as a link to citation n in the viewer.
function answerWithMarkers(text, citations) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(/\[(\d+)\]/g)) {
    const citation = citations[Number(match[1]) - 1];
    if (!citation) continue;
    parts.push(text.slice(last, match.index));
    parts.push(
      el(
        "a",
        {
          href: viewerHref(citation),
          class: "marker",
          "aria-label": `source ${match[1]}: ${citation.title}, ${citation.start_s != null ? "at " + Math.floor(citation.start_s) + " s" : "page " + citation.page}`,
        },
        `[${match[1]}]`,
      ),
    );
    last = match.index + match[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}

async function closestPassages(question, body, into) {
  const response = await api("/search", { method: "POST", json: { ...body, query: question, top_k: 3 } });
  const { hits } = await response.json();
  into.replaceChildren(
    el("h3", {}, "Closest passages"),
    hits.length ? el("ol", { class: "sources" }, hits.map((h) => sourceCard(h, { score: h.score }))) : el("p", {}, "No passage matched at all."),
  );
}

async function ask(event) {
  event.preventDefault();
  const question = form.question.value.trim();
  if (!question) {
    announce("Type a question first.");
    form.question.focus();
    return;
  }
  const body = { question };
  if (form.mode.value) body.mode = form.mode.value;
  if (form.collection.value) body.filters = { collection: form.collection.value };
  const answer = el("div", { class: "answer", "aria-busy": "true" });
  const extra = el("div", { class: "extra" });
  const exchange = el("article", { class: "exchange" }, el("h2", { class: "question" }, question), answer, extra);
  thread.prepend(exchange);
  form.ask.disabled = true;
  announce("Answering…");
  const started = performance.now();
  try {
    const response = await api("/ask", { method: "POST", json: body, accept: "text/event-stream" });
    let streamed = "";
    for await (const { event, data } of serverSentEvents(response)) {
      if (event === "delta") {
        if (!streamed) performance.mark("first-answer-token", { detail: performance.now() - started });
        streamed += data.text;
        answer.textContent = streamed;
      } else if (event === "answer") {
        answer.replaceChildren(el("p", {}, answerWithMarkers(data.answer, data.citations)));
        if (data.grounded) {
          extra.replaceChildren(
            el("h3", {}, "Sources"),
            el("ol", { class: "sources" }, data.citations.map((c, i) => sourceCard(c, { number: i + 1 }))),
          );
        } else {
          answer.prepend(el("p", { class: "notice", role: "note" }, "Not grounded: no passage in the documents supports an answer."));
          await closestPassages(question, body.mode ? { mode: body.mode, filters: body.filters ?? {} } : { filters: body.filters ?? {} }, extra);
        }
      }
    }
    announce(answer.textContent.slice(0, 300));
  } catch (error) {
    answer.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not answer: ${error.message}`));
  } finally {
    answer.setAttribute("aria-busy", "false");
    form.ask.disabled = false;
  }
}

const me = await startPage();
for (const name of await readableCollections(me)) form.collection.append(el("option", { value: name }, name));
form.addEventListener("submit", ask);
document.body.dataset.ready = "true";

