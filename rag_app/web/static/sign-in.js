// Sign in with an API key (kept by the server in an HttpOnly cookie, never by this page),
// or with SSO when the service has an OIDC client configured.
import { api, el, loadSession } from "./api.js";

const form = document.getElementById("sign-in-form");
const status = document.getElementById("status");

function nextPage() {
  const next = new URLSearchParams(location.search).get("next") || "/app/ask";
  // Only a path on this site: never an open redirect.
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/app/ask";
}

const me = await loadSession();
if (!me.auth_required || me.signed_in) location.replace(nextPage());
document.getElementById("sso").hidden = !me.sso;
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  status.textContent = "Signing in…";
  try {
    await api("/auth/session", { method: "POST", json: { api_key: form.api_key.value }, signingIn: true });
    form.api_key.value = "";
    location.assign(nextPage());
  } catch (error) {
    status.replaceChildren(el("span", { class: "error" }, `Sign-in failed: ${error.message}`));
    form.api_key.focus();
  }
});
document.body.dataset.ready = "true";
