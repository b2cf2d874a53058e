// Library: the documents this browser may read, with what ingestion made of them; upload by
// drag and drop (progress, then the job's live status), replace and delete where writable.
import { api, announce, currentSession, el, mayWrite, readableCollections, startPage } from "./api.js";
import { formatTime } from "./sources.js";

const tbody = document.querySelector("#documents tbody");
const filter = document.getElementById("filter");
const uploads = document.getElementById("uploads");
const dialog = document.getElementById("confirm");
const replaceInput = document.getElementById("replace-file");
const form = document.getElementById("upload-form");
const TRANSCRIPT = /\.(vtt|srt)$/i;
const MEDIA = /\.(mp4|mov|m4a|mp3|wav)$/i;
let me;

function contentSummary(doc) {
  if (doc.duration_s !== null) {
    return `${formatTime(doc.duration_s)} of ${doc.media_type.split("/")[0]}; transcript: ${doc.transcript_source ?? "none"}`;
  }
  if (doc.transcript_source) return `transcript (${doc.transcript_source})`;
  const parts = [`${doc.pages} page${doc.pages === 1 ? "" : "s"}`];
  if (doc.pages_ocr) parts.push(`${doc.pages_ocr} read by OCR`);
  if (doc.pages_empty) parts.push(`${doc.pages_empty} without text`);
  return parts.join(", ");
}

function documentRow(doc) {
  const writable = mayWrite(me, doc.collection);
  const actions = el("td", { class: "actions" });
  if (doc.status === "ready") {
    actions.append(el("a", { href: `/app/viewer?doc=${encodeURIComponent(doc.document_id)}&page=1` }, "View"), " ");
  }
  if (writable) {
    actions.append(
      el("button", { type: "button", onclick: () => replace(doc), "aria-label": `Replace ${doc.title}` }, "Replace"),
      " ",
      el("button", { type: "button", class: "danger", onclick: () => remove(doc), "aria-label": `Delete ${doc.title}` }, "Delete"),
    );
  }
  return el(
    "tr",
    { "data-document": doc.document_id },
    el("th", { scope: "row" }, el("span", { class: "title" }, doc.title), el("br"), el("small", {}, doc.filename)),
    el("td", {}, doc.collection),
    el("td", {}, el("span", { class: `status ${doc.status}` }, doc.status), doc.error ? el("p", { class: "why" }, doc.error) : null),
    el("td", {}, contentSummary(doc)),
    actions,
  );
}

async function refresh() {
  const collection = filter.value ? `&collection=${encodeURIComponent(filter.value)}` : "";
  const page = await (await api(`/documents?limit=500${collection}`)).json();
  tbody.replaceChildren(...page.items.map(documentRow));
  if (!page.items.length) tbody.replaceChildren(el("tr", {}, el("td", { colspan: "5" }, "No documents yet.")));
}

function send(fields, onProgress) {
  // XMLHttpRequest, not fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/documents");
    const token = currentSession().csrf_token;
    if (token) request.setRequestHeader("X-CSRF-Token", token);
    request.upload.addEventListener("progress", (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    request.addEventListener("load", () => {
      let body = {};
      try {
        body = JSON.parse(request.responseText);
      } catch {
        // not JSON
      }
      if (request.status >= 200 && request.status < 300) resolve(body);
      else reject(new Error(body.detail || `${request.status} ${request.statusText}`));
    });
    request.addEventListener("error", () => reject(new Error("the connection failed")));
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) if (value !== undefined) data.append(name, value);
    request.send(data);
  });
}

async function watchJob(jobId, line) {
  for (;;) {
    const job = await (await api(`/jobs/${encodeURIComponent(jobId)}`)).json();
    line.textContent = job.status === "failed" ? `failed: ${job.error}` : `${job.status} (${job.stage})`;
    if (job.status === "succeeded" || job.status === "failed") return job;
    await new Promise((r) => setTimeout(r, 700));
  }
}

async function uploadOne(file, { transcript, documentId } = {}) {
  const progress = el("progress", { max: "1", value: "0", "aria-label": `Upload of ${file.name}` });
  const line = el("span", { class: "job" }, "uploading");
  const item = el("li", { "data-file": file.name }, el("span", { class: "name" }, file.name), " ", progress, " ", line);
  uploads.prepend(item);
  try {
    const submission = await send(
      { file, transcript, collection: form.collection.value, document_id: documentId },
      (share) => (progress.value = share),
    );
    progress.value = 1;
    if (submission.duplicate) {
      line.textContent = "already in the library";
      return;
    }
    await refresh();
    const job = await watchJob(submission.job_id, line);
    announce(`${file.name}: ${job.status === "succeeded" ? "ready" : "failed"}`);
    await refresh();
  } catch (error) {
    line.textContent = `failed: ${error.message}`;
    line.classList.add("error");
    announce(`${file.name}: upload failed`);
  }
}

async function uploadAll(files) {
  const list = [...files];
  // A transcript uploaded with a media file of the same name goes with it.
  const transcripts = new Map(list.filter((f) => TRANSCRIPT.test(f.name)).map((f) => [f.name.replace(TRANSCRIPT, ""), f]));
  const jobs = [];
  for (const file of list) {
    const stem = file.name.replace(/\.[^.]+$/, "");
    if (TRANSCRIPT.test(file.name) && list.some((f) => MEDIA.test(f.name) && f.name.replace(/\.[^.]+$/, "") === stem)) continue;
    jobs.push(uploadOne(file, { transcript: MEDIA.test(file.name) ? transcripts.get(stem) : undefined }));
  }
  await Promise.all(jobs);
}

function replace(doc) {
  replaceInput.onchange = async () => {
    const [file] = replaceInput.files;
    replaceInput.value = "";
    if (file) await uploadOne(file, { documentId: doc.document_id });
  };
  replaceInput.click();
}

function remove(doc) {
  document.getElementById("confirm-text").textContent = `“${doc.title}” and everything indexed from it will be deleted. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.addEventListener("close", async () => {
    if (dialog.returnValue !== "delete") return;
    try {
      await api(`/documents/${encodeURIComponent(doc.document_id)}`, { method: "DELETE" });
      announce(`Deleted ${doc.title}.`);
    } catch (error) {
      announce(`Could not delete: ${error.message}`);
    }
    await refresh();
  }, { once: true });
  dialog.showModal();
}

me = await startPage();
const collections = await readableCollections(me);
for (const name of collections) filter.append(el("option", { value: name }, name));
const writable = me.writable === null ? collections : me.writable.filter((c) => c !== "*");
for (const name of writable) document.getElementById("collection-names").append(el("option", { value: name }));
if (me.writable === null || me.writable.length) {
  document.getElementById("upload").hidden = false;
  if (me.writable && me.writable.length && !me.writable.includes("*")) form.collection.value = me.writable[0];
}
const drop = document.getElementById("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  void uploadAll(e.dataTransfer.files);
});
document.getElementById("files").addEventListener("change", (e) => {
  void uploadAll(e.target.files);
  e.target.value = "";
});
filter.addEventListener("change", refresh);
await refresh();
document.body.dataset.ready = "true";
