// Engram invitation and reset links (/invite#t=SECRET, /reset#t=SECRET).
// The secret lives in the URL fragment (never sent to a server log or a Referer); it is read
// once, removed from the address bar, kept in memory only and sent in JSON bodies.
"use strict";

(() => {
  const A = window.EngramAccount;
  const $ = (id) => document.getElementById(id);
  const INVALID = "This link is invalid, expired or already used.";

  /** Reads `t` from the fragment and drops the fragment from the address bar and history. */
  function takeSecret() {
    const hash = window.location.hash || "";
    // Read by hand, not with URLSearchParams: a "+" in the secret must stay a "+".
    let t = null;
    const m = /(?:^#|&)t=([^&]*)/.exec(hash);
    if (m) {
      try {
        t = decodeURIComponent(m[1]);
      } catch (_) {
        t = m[1];
      }
    }
    if (hash) {
      try {
        window.history.replaceState(window.history.state, "", window.location.pathname + window.location.search);
      } catch (_) {
        // keep going: the fragment never leaves the browser anyway
      }
    }
    return t && t.trim() ? t.trim() : null;
  }

  // Read and drop the fragment before anything else runs (history, bookmarks, screenshots).
  let secret = takeSecret();

  let link = null; // the answer of POST /v1/links/inspect
  let busy = false;

  function say(text, kind) {
    const box = $("link-message");
    box.textContent = text || "";
    box.className = `message message-${kind || "error"}`;
    box.hidden = !text;
  }

  function title(text) {
    $("link-title").textContent = text;
    document.title = `${text} · Engram`;
  }

  function invalid() {
    title("Link not usable");
    A.clear($("link-summary"));
    $("link-form").hidden = true;
    say(INVALID);
  }

  function row(dl, name, value) {
    dl.append(A.h("dt", {}, name), A.h("dd", {}, value === undefined || value === null || value === "" ? "—" : String(value)));
  }

  /** What the link is; every value from the server is a text node. */
  function renderSummary(l) {
    const box = $("link-summary");
    A.clear(box);
    const dl = A.h("dl", { class: "meta" });
    if (l.kind === "invitation") {
      title("Invitation");
      box.append(A.h("p", {}, "You are invited to join an organisation on this Engram server."));
      row(dl, "User id", l.user_id);
      row(dl, "Organisation", l.org_id);
      row(dl, "Role", l.role);
    } else {
      title("Reset your password");
      box.append(A.h("p", {}, "Choose a new password. Every session of this user is signed out."));
      row(dl, "User id", l.user_id);
    }
    if (l.expires_at) row(dl, "Link expires", A.fmtTime(l.expires_at));
    box.append(dl);
  }

  function renderForm(l) {
    const existing = l.kind === "invitation" && l.has_password === true;
    $("link-username").value = l.user_id || "";
    const pw = $("link-password");
    pw.value = "";
    $("link-password-repeat").value = "";
    if (existing) {
      $("link-password-label").textContent = "Your current password";
      pw.setAttribute("autocomplete", "current-password");
      $("link-password-hint").textContent = "You already have a password on this server: enter it to accept.";
      $("link-password-repeat-row").hidden = true;
      $("link-submit").textContent = "Accept the invitation";
    } else {
      $("link-password-label").textContent = "New password";
      pw.setAttribute("autocomplete", "new-password");
      $("link-password-repeat-row").hidden = false;
      $("link-submit").textContent = l.kind === "invitation" ? "Set password and join" : "Change password";
    }
    $("link-form").hidden = false;
    pw.focus();
  }

  async function inspect() {
    if (!secret) {
      invalid();
      return;
    }
    let answer;
    try {
      answer = await A.send("POST", "/v1/links/inspect", { token: secret });
    } catch (e) {
      title("Link");
      say(A.describe(e));
      return;
    }
    const { res, data } = answer;
    if (!res.ok) {
      const e = A.errorOf(res, data);
      if (res.status === 404 || e.code === "invalid_link") invalid();
      else { title("Link"); say(A.describe(e)); }
      return;
    }
    if (!data || (data.kind !== "invitation" && data.kind !== "reset")) {
      invalid();
      return;
    }
    link = data;
    renderSummary(data);
    renderForm(data);
  }

  function byteLength(s) {
    return new TextEncoder().encode(s).length;
  }

  async function submit(ev) {
    ev.preventDefault();
    if (busy || !link) return;
    const existing = link.kind === "invitation" && link.has_password === true;
    const password = $("link-password").value;
    if (!password) {
      say(existing ? "Enter your current password." : "Enter a new password.");
      $("link-password").focus();
      return;
    }
    if (!existing) {
      const n = byteLength(password);
      if (n < 12 || n > 72) {
        say("The password must be 12 to 72 bytes long.");
        $("link-password").focus();
        return;
      }
      if (password !== $("link-password-repeat").value) {
        say("The two passwords differ.");
        $("link-password-repeat").value = "";
        $("link-password-repeat").focus();
        return;
      }
    }
    const path = link.kind === "invitation" ? "/v1/links/invitation" : "/v1/links/reset";
    busy = true;
    $("link-submit").disabled = true;
    say("");
    let answer;
    try {
      answer = await A.send("POST", path, { token: secret, password });
    } catch (e) {
      say(A.describe(e));
      return;
    } finally {
      busy = false;
      $("link-submit").disabled = false;
    }
    const { res, data } = answer;
    if (!res.ok) {
      const e = A.errorOf(res, data);
      if (res.status === 404 || e.code === "invalid_link") {
        invalid();
        return;
      }
      if (e.code === "invalid_credentials") {
        $("link-password").value = "";
        $("link-password").focus();
      }
      say(A.describe(e));
      return;
    }
    $("link-password").value = "";
    $("link-password-repeat").value = "";
    link = null; // single-use: the secret is spent
    if (path === "/v1/links/invitation") {
      say("Welcome: you are signed in.", "info");
      window.location.assign("/me");
      return;
    }
    $("link-form").hidden = true;
    title("Password changed");
    $("link-done").hidden = false;
    $("link-signin").focus();
  }

  function init() {
    $("link-form").addEventListener("submit", submit);
    // Another link opened in this tab on the same path only changes the fragment: start over.
    window.addEventListener("hashchange", () => {
      const t = takeSecret();
      if (!t) return;
      secret = t;
      link = null;
      say("");
      $("link-done").hidden = true;
      $("link-form").hidden = true;
      A.clear($("link-summary"));
      title("Checking the link…");
      inspect();
    });
    inspect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
