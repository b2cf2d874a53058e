// Ask: the question goes to POST /ask as a Server-Sent Events stream; text appears as it is
// written, then the verified answer replaces it with numbered citation links. Each exchange
// is an <article> in the thread (newest first), with feedback buttons and export links.
// Every answer belongs to a conversation (?conversation=<id>): the history lists the
// caller's conversations; opening one shows its turns, and the next question follows up.
import { api, announce, el, readableCollections, startPage } from "./api.js";
import { sourceCard, viewerHref } from "./sources.js";

const form = document.getElementById("ask-form");
const thread = document.getElementById("thread");
const historyList = document.getElementById("history");
let conversationId = new URLSearchParams(location.search).get("conversation");

function setConversation(id) {
  conversationId = id;
  const tools = document.getElementById("conversation-tools");
  tools.hidden = !id;
  if (!id) return;
  const base = `/conversations/${encodeURIComponent(id)}/export`;
  document.getElementById("export-md").href = `${base}?format=md`;
  document.getElementById("export-docx").href = `${base}?format=docx`;
  if (new URLSearchParams(location.search).get("conversation") !== id) {
    history.replaceState(null, "", `/app/ask?conversation=${encodeURIComponent(id)}`);
  }
  for (const link of historyList.querySelectorAll("a")) {
    link.setAttribute("aria-current", String(link.dataset.id === id));
  }
}

async function loadHistory() {
  const response = await api("/conversations?limit=50");
  const { items } = await response.json();
  historyList.replaceChildren(
    ...items.map((c) =>
      el(
        "li",
        {},
        el(
          "a",
          { href: `/app/ask?conversation=${encodeURIComponent(c.conversation_id)}`, "data-id": c.conversation_id, "aria-current": String(c.conversation_id === conversationId) },
          c.title || "Untitled",
        ),
        el("span", { class: "when" }, new Date(c.updated_at).toLocaleString()),
      ),
    ),
  );
  if (!items.length) historyList.replaceChildren(el("li", {}, "None yet."));
}

// Thumbs up / down (a new rating replaces the last) and this answer's exports.
function turnTools(answerId, feedback) {
  const rated = feedback ? feedback.rating : null;
  const up = el("button", { type: "button", class: "rate", "aria-pressed": String(rated === "up") }, "Helpful");
  const down = el("button", { type: "button", class: "rate", "aria-pressed": String(rated === "down") }, "Not helpful");
  const rate = async (rating, pressed, other) => {
    try {
      await api(`/answers/${encodeURIComponent(answerId)}/feedback`, { method: "POST", json: { rating } });
      pressed.setAttribute("aria-pressed", "true");
      other.setAttribute("aria-pressed", "false");
      announce(rating === "up" ? "Thanks: marked helpful." : "Thanks: marked not helpful.");
    } catch (error) {
      announce(`Could not record the feedback: ${error.message}`);
    }
  };
  up.addEventListener("click", () => rate("up", up, down));
  down.addEventListener("click", () => rate("down", down, up));
  const base = `/answers/${encodeURIComponent(answerId)}/export`;
  return el(
    "div",
    { class: "turn-tools", role: "group", "aria-label": "This answer" },
    up,
    down,
    el("a", { href: `${base}?format=md`, download: true, class: "export" }, "Export answer (Markdown)"),
    el("a", { href: `${base}?format=docx`, download: true, class: "export" }, "Export answer (Word)"),
  );
}

function newExchange(question) {
  const answer = el("div", { class: "answer", "aria-busy": "true" });
  const extra = el("div", { class: "extra" });
  const exchange = el("article", { class: "exchange" }, el("h2", { class: "question" }, question), answer, extra);
  thread.prepend(exchange);
  return { exchange, answer, extra };
}

// A finished answer (streamed just now, or a past turn): text with markers, then sources.
function showAnswer(answer, extra, data) {
  answer.replaceChildren(el("p", {}, answerWithMarkers(data.answer, data.citations)));
  if (data.grounded) {
    extra.replaceChildren(
      el("h3", {}, "Sources"),
      el("ol", { class: "sources" }, data.citations.map((c, i) => sourceCard(c, { number: i + 1 }))),
    );
  } else {
    answer.prepend(el("p", { class: "notice", role: "note" }, "Not grounded: no passage in the documents supports an answer."));
  }
  answer.setAttribute("aria-busy", "false");
}

async function openConversation(id) {
  const response = await api(`/conversations/${encodeURIComponent(id)}`);
  const conversation = await response.json();
  for (const turn of conversation.turns) {
    const { exchange, answer, extra } = newExchange(turn.question);
    showAnswer(answer, extra, turn);
    exchange.append(turnTools(turn.answer_id, turn.feedback));
  }
  setConversation(conversation.conversation_id);
  announce(`Opened “${conversation.title}”: ${conversation.turns.length} answers. Ask a follow-up.`);
}

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
  if (conversationId) body.conversation_id = conversationId;
  const { exchange, answer, extra } = newExchange(question);
  let answerId = null;
  form.ask.disabled = true;
  announce("Answering…");
  const started = performance.now();
  try {
    const response = await api("/ask", { method: "POST", json: body, accept: "text/event-stream" });
    let streamed = "";
    for await (const { event, data } of serverSentEvents(response)) {
      if (event === "start") {
        answerId = data.answer_id;
        setConversation(data.conversation_id);
      } else if (event === "delta") {
        if (!streamed) performance.mark("first-answer-token", { detail: performance.now() - started });
        streamed += data.text;
        answer.textContent = streamed;
      } else if (event === "answer") {
        showAnswer(answer, extra, data);
        if (!data.grounded) {
          await closestPassages(question, body.mode ? { mode: body.mode, filters: body.filters ?? {} } : { filters: body.filters ?? {} }, extra);
        }
      }
    }
    if (answerId) exchange.append(turnTools(answerId, null));
    announce(answer.textContent.slice(0, 300));
    await loadHistory();
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
await loadHistory();
if (conversationId) {
  try {
    await openConversation(conversationId);
  } catch (error) {
    setConversation(null);
    thread.replaceChildren(el("p", { class: "error", role: "alert" }, `Could not open the conversation: ${error.message}`));
  }
}
document.body.dataset.ready = "true";

