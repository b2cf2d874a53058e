// The one way pages talk to the service: same-origin fetches of the JSON API, carrying the
// sign-in cookie and, on changes, the session's CSRF token. Every string from the service
// reaches the page through text nodes (el() below), never as HTML.

let session = null;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

function goToSignIn() {
  const next = location.pathname + location.search;
  location.assign(`/app/sign-in?next=${encodeURIComponent(next)}`);
}

export async function loadSession() {
  const response = await fetch("/auth/session", { credentials: "same-origin" });
  session = await response.json();
  return session;
}

export function currentSession() {
  return session;
}

export async function api(path, { method = "GET", json, body, accept, signingIn = false } = {}) {
  const headers = {};
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  }
  if (accept) headers.Accept = accept;
  if (method !== "GET" && session && session.csrf_token) headers["X-CSRF-Token"] = session.csrf_token;
  const response = await fetch(path, { method, headers, body, credentials: "same-origin" });
  if (response.status === 401 && !signingIn && session && session.auth_required) {
    goToSignIn();
    throw new ApiError(401, "signed out");
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // not a problem body: keep the status line
    }
    throw new ApiError(response.status, detail);
  }
  return response;
}

// el("a", {href: "/x", class: "c"}, "text", child): attributes by name, children as nodes or text.
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function announce(message) {
  const status = document.getElementById("status");
  if (status) status.textContent = message;
}

// Marks the current page in the navigation, shows who is signed in; sends signed-out
// browsers to the sign-in page. Returns the session.
export async function startPage() {
  const me = await loadSession();
  if (me.auth_required && !me.signed_in) {
    goToSignIn();
    return new Promise(() => {});
  }
  for (const link of document.querySelectorAll("nav a")) {
    if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
  }
  const who = document.getElementById("who");
  const signOut = document.getElementById("sign-out");
  if (who) who.textContent = me.auth_required ? `Signed in as ${me.name}` : "Local mode";
  if (signOut && me.auth_required) {
    signOut.hidden = false;
    signOut.addEventListener("click", async () => {
      await api("/auth/session", { method: "DELETE" });
      location.assign("/app/sign-in");
    });
  }
  return me;
}

// The collections this browser may read: the grants, or (all readable) those the catalog has.
export async function readableCollections(me) {
  if (me.readable) return me.readable;
  const response = await api("/documents?limit=500");
  const page = await response.json();
  return [...new Set(page.items.map((d) => d.collection))].sort();
}

export function mayWrite(me, collection) {
  return me.writable === null || me.writable.includes(collection) || me.writable.includes("*");
}
