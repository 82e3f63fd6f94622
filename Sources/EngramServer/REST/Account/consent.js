// The OAuth consent page (/oauth/authorize with a signed-in session): shows which client asks for
// which resource, and sends the person's answer. The server checks the request again on every call;
// this page only carries the query string along.
(function () {
  "use strict";
  const A = window.EngramAccount;
  const $ = (id) => document.getElementById(id);
  const query = window.location.search.replace(/^\?/, "");

  function say(text) {
    const box = $("consent-message");
    box.textContent = text;
    box.hidden = false;
  }

  async function decide(approve) {
    $("consent-allow").disabled = true;
    $("consent-deny").disabled = true;
    const { res, data } = await A.send("POST", "/v1/oauth/consent", { query, approve });
    if (data && data.redirect) {
      say(approve ? "Access allowed; returning to the application…" : "Access denied; returning to the application…");
      window.location.assign(data.redirect);
      return;
    }
    say(A.describe(A.errorOf(res, data)));
  }

  async function start() {
    const session = await A.loadSession();
    if (!session) {
      window.location.assign("/signin?next=" + encodeURIComponent("/oauth/authorize?" + query));
      return;
    }
    const { res, data } = await A.send("POST", "/v1/oauth/consent/inspect", { query });
    if (!res.ok) {
      if (data && data.redirect) {
        say("This request cannot be allowed (" + (data.error || "error") + "); returning to the application…");
        window.location.assign(data.redirect);
      } else {
        say(A.describe(A.errorOf(res, data)));
      }
      return;
    }
    $("consent-client").textContent = data.client_name;
    $("consent-user").textContent = data.user_id;
    $("consent-resource").textContent = data.resource;
    $("consent-host").textContent = data.redirect_host;
    if (data.client_host) {
      $("consent-client-host").textContent = data.client_host;
      $("consent-verified").hidden = false;
    }
    $("consent-summary").hidden = false;
    $("consent-allow").addEventListener("click", () => decide(true));
    $("consent-deny").addEventListener("click", () => decide(false));
  }

  document.addEventListener("DOMContentLoaded", () => {
    start().catch((e) => say(A.describe(e)));
  });
})();
