// Engram member page (/me): own memories, tokens, browser sessions, TOTP, password.
// Runs on the session cookie only (no Authorization header); every request goes through
// engramFetch (account.js), which sends the CSRF token and re-prompts on 403 reauth_required.
// Memory text is untrusted: it is only ever set with textContent / text nodes.
"use strict";

(() => {
  const A = window.EngramAccount;
  const { h, clear, fmtTime } = A;
  const $ = (id) => document.getElementById(id);
  const NEXT = "/signin?next=/me";
  const LIST_LIMIT = 50;
  const SEARCH_LIMIT = 20;

  let session = null;
  let fullPage = false;

  // ---------------------------------------------------------------- messages

  function say(text, kind) {
    const box = $("me-message");
    box.textContent = text || "";
    box.className = `message message-${kind || "error"}`;
    box.dataset.kind = kind || "error";
    box.hidden = !text;
  }

  function sayError(e) {
    say(A.describe(e), "error");
  }

  function info(text) {
    say(text, "info");
  }

  // ---------------------------------------------------------------- API

  /** engramFetch, plus: an ended session goes to sign-in; an enrol-only session shows the TOTP section. */
  async function call(method, path, body) {
    try {
      return await A.engramFetch(method, path, body);
    } catch (e) {
      if (e && e.status === 401) {
        window.location.replace(NEXT);
      } else if (e && e.status === 403 && e.code === "totp_enrolment_required") {
        if (session) session.totp_enrolment_required = true;
        applyMode();
      }
      throw e;
    }
  }

  async function refreshSession() {
    const s = await A.loadSession();
    if (!s) {
      window.location.replace(NEXT);
      throw new A.EngramError(401, "unauthorized", "signed out");
    }
    session = s;
    renderHeader();
    return s;
  }

  function q(params) {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") u.append(k, String(v));
    }
    const s = u.toString();
    return s ? `?${s}` : "";
  }

  function shortId(id) {
    return id ? String(id).slice(0, 8) : "";
  }

  function label(s) {
    return String(s || "").replace(/_/g, " ");
  }

  // ---------------------------------------------------------------- header and layout

  function renderHeader() {
    $("me-user").textContent = session.user_id || "";
    $("me-org").textContent = session.org_id ? `org ${session.org_id}` : "no organisation";
    $("me-role").textContent = session.role || "";
    $("password-username").value = session.user_id || "";
    const canAdmin = (session.role === "admin" || session.role === "owner") && !session.totp_enrolment_required;
    $("admin-link").hidden = !canAdmin;
    $("whoami").hidden = false;
  }

  /** Full page, or only the TOTP section while the org requires an enrolment. */
  function applyMode() {
    const enrolOnly = !!(session && session.totp_enrolment_required);
    $("totp-notice").hidden = !enrolOnly;
    for (const id of ["memories", "tokens", "sessions", "password", "page-nav"]) $(id).hidden = enrolOnly;
    $("totp").hidden = false;
    if (session) renderHeader();
    renderTotp();
    const wasFull = fullPage;
    fullPage = !enrolOnly;
    if (fullPage && !wasFull) {
      loadMemories(true);
      loadTokens();
      loadSessions();
    }
  }

  // ---------------------------------------------------------------- memories

  const mem = { mode: "list", cursor: null, seq: 0, count: 0 };

  function setMemoryStatus(text) {
    $("memory-status").textContent = text;
  }

  async function loadMemories(reset) {
    const seq = ++mem.seq;
    if (reset) {
      mem.mode = "list";
      mem.cursor = null;
      mem.count = 0;
    }
    let data;
    try {
      data = await call("GET", `/v1/memories${q({ limit: LIST_LIMIT, cursor: reset ? null : mem.cursor })}`);
    } catch (e) {
      if (seq === mem.seq) sayError(e);
      return;
    }
    if (seq !== mem.seq) return;
    const list = $("memory-list");
    if (reset) clear(list);
    const items = (data && data.memories) || [];
    for (const m of items) list.append(memoryRow(m));
    mem.count += items.length;
    mem.cursor = (data && data.next_cursor) || null;
    $("memory-more").hidden = !mem.cursor;
    $("memory-show-all").hidden = true;
    $("memory-empty").textContent = "No memories yet.";
    $("memory-empty").hidden = mem.count > 0;
    setMemoryStatus(mem.count ? `${mem.count}${mem.cursor ? "+" : ""} shown` : "");
  }

  async function searchMemories() {
    const text = $("memory-query").value.trim();
    if (!text) {
      await loadMemories(true);
      return;
    }
    const seq = ++mem.seq;
    let data;
    try {
      data = await call("GET", `/v1/memories/search${q({ q: text, limit: SEARCH_LIMIT })}`);
    } catch (e) {
      if (seq === mem.seq) sayError(e);
      return;
    }
    if (seq !== mem.seq) return;
    mem.mode = "search";
    mem.cursor = null;
    const list = $("memory-list");
    clear(list);
    const hits = ((data && data.results) || []).map((r) => r.memory).filter(Boolean);
    for (const m of hits) list.append(memoryRow(m));
    mem.count = hits.length;
    $("memory-more").hidden = true;
    $("memory-show-all").hidden = false;
    $("memory-empty").textContent = "Nothing found.";
    $("memory-empty").hidden = hits.length > 0;
    setMemoryStatus(`${hits.length} result${hits.length === 1 ? "" : "s"} for “${text}”`);
  }

  function badge(text, cls, attrs) {
    return h("span", { class: `badge ${cls || ""}`.trim(), ...(attrs || {}) }, text);
  }

  /** One memory: its text as a text node, kind, state, time, and the history / edit / delete actions. */
  function memoryRow(m) {
    const li = h("li", { class: "memory-row", "data-testid": "memory-row", "data-memory-id": m.id, "data-state": m.state });
    const textBox = h("div", { class: "memory-text", "data-testid": "memory-text" });
    textBox.textContent = m.content || "";

    const head = h("div", { class: "memory-head" },
      badge(m.kind || "", "badge-kind", { "data-testid": "memory-kind" }),
      badge(label(m.state), `badge-state badge-${m.state}`, { "data-testid": "memory-state", "data-state": m.state }),
      m.scope ? h("span", { class: "muted" }, m.scope === "org" ? `org${m.org_id ? ` ${m.org_id}` : ""}` : "personal") : null,
      session && m.user_id && m.user_id !== session.user_id ? h("span", { class: "muted" }, `by ${m.user_id}`) : null,
      h("span", { class: "spacer" }),
      h("time", { class: "muted", datetime: m.updated_at || "", title: m.updated_at || "", "data-testid": "memory-updated" },
        `updated ${fmtTime(m.updated_at)}`));

    const historyButton = h("button", { type: "button", class: "btn btn-small", "data-testid": "memory-history", "aria-expanded": "false" }, "View history");
    const editButton = h("button", { type: "button", class: "btn btn-small", "data-testid": "memory-edit" }, "Edit");
    const deleteButton = h("button", { type: "button", class: "btn btn-small btn-danger", "data-testid": "memory-delete" }, "Delete");
    const actions = h("div", { class: "actions actions-tight" }, historyButton, editButton, deleteButton);

    const editId = `memory-edit-${m.id}`;
    const textarea = h("textarea", { id: editId, rows: "5", maxlength: "8192", "data-testid": "memory-edit-text", spellcheck: "true" });
    const saveButton = h("button", { type: "submit", class: "btn btn-primary btn-small", "data-testid": "memory-save" }, "Save");
    const cancelButton = h("button", { type: "button", class: "btn btn-small", "data-testid": "memory-edit-cancel" }, "Cancel");
    const editForm = h("form", { class: "memory-edit", "data-testid": "memory-edit-form", hidden: true },
      h("label", { for: editId }, "Text"),
      textarea,
      h("div", { class: "actions actions-tight" }, saveButton, cancelButton,
        h("span", { class: "muted small" }, "Edits are checked for secrets again; the previous text stays in the history.")));

    const history = h("div", { class: "memory-history", "data-testid": "memory-history-box", hidden: true });

    editButton.addEventListener("click", () => {
      textarea.value = m.content || "";
      editForm.hidden = false;
      editButton.disabled = true;
      textarea.focus();
    });
    const closeEdit = () => {
      editForm.hidden = true;
      editButton.disabled = false;
      editButton.focus();
    };
    cancelButton.addEventListener("click", closeEdit);
    editForm.addEventListener("keydown", (ev) => {
      if (ev.key === "Escape") { ev.preventDefault(); closeEdit(); }
    });
    editForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const content = textarea.value;
      if (content === m.content) { closeEdit(); info("Nothing changed."); return; }
      if (!content.trim()) { say("The text cannot be empty.", "error"); textarea.focus(); return; }
      saveButton.disabled = true;
      try {
        const data = await call("PATCH", `/v1/memories/${encodeURIComponent(m.id)}`, { content });
        const fresh = memoryRow((data && data.memory) || { ...m, content });
        li.replaceWith(fresh);
        const edit = fresh.querySelector("[data-testid=memory-edit]");
        if (edit) edit.focus();
        info(data && data.warning ? `Saved. ${data.warning}` : "Saved.");
      } catch (e) {
        saveButton.disabled = false;
        sayError(e);
      }
    });

    historyButton.addEventListener("click", async () => {
      if (!history.hidden) {
        history.hidden = true;
        historyButton.textContent = "View history";
        historyButton.setAttribute("aria-expanded", "false");
        return;
      }
      historyButton.disabled = true;
      try {
        const data = await call("GET", `/v1/memories/${encodeURIComponent(m.id)}/versions`);
        renderHistory(history, (data && data.versions) || []);
        history.hidden = false;
        historyButton.textContent = "Hide history";
        historyButton.setAttribute("aria-expanded", "true");
      } catch (e) {
        sayError(e);
      } finally {
        historyButton.disabled = false;
      }
    });

    deleteButton.addEventListener("click", async () => {
      const preview = String(m.content || "").replace(/\s+/g, " ").slice(0, 80);
      if (!window.confirm(`Delete this memory?\n\n${preview}${(m.content || "").length > 80 ? "…" : ""}`)) return;
      deleteButton.disabled = true;
      try {
        await call("DELETE", `/v1/memories/${encodeURIComponent(m.id)}`);
        const next = li.nextElementSibling || li.previousElementSibling;
        li.remove();
        mem.count = Math.max(0, mem.count - 1);
        $("memory-empty").hidden = mem.count > 0;
        info(`Memory ${shortId(m.id)} deleted.`);
        const focus = next && next.querySelector("[data-testid=memory-delete]");
        if (focus) focus.focus();
        else $("memory-query").focus();
      } catch (e) {
        deleteButton.disabled = false;
        sayError(e);
      }
    });

    li.append(head, textBox, actions, editForm, history);
    return li;
  }

  /** The versions, newest first; each version's text is a text node. */
  function renderHistory(box, versions) {
    clear(box);
    if (versions.length === 0) {
      box.append(h("p", { class: "muted" }, "No versions recorded."));
      return;
    }
    const list = h("ol", { class: "version-list", reversed: true });
    for (const v of [...versions].reverse()) {
      const text = h("div", { class: "memory-text version-text" });
      const withheld = v.withheld_rules && v.withheld_rules.length;
      text.textContent = withheld ? "(text withheld: it holds a secret)" : ((v.memory && v.memory.content) || "");
      list.append(h("li", { class: "version", "data-testid": "memory-version", "data-version": v.version },
        h("div", { class: "memory-head" },
          h("strong", {}, `v${v.version}`),
          h("time", { class: "muted", datetime: v.at || "", title: v.at || "" }, fmtTime(v.at)),
          h("span", { class: "muted" }, `${v.actor || ""}${v.channel ? ` via ${v.channel}` : ""}`),
          v.reason ? badge(v.reason, "badge-reason") : null,
          v.state ? badge(label(v.state), `badge-state badge-${v.state}`) : null),
        text));
    }
    box.append(h("h3", { class: "sr-only" }, "History"), list);
  }

  // ---------------------------------------------------------------- tokens

  function tokenStatus(t) {
    if (t.revoked) return "revoked";
    const exp = t.expires_at ? Date.parse(t.expires_at) : NaN;
    if (!Number.isNaN(exp) && exp <= Date.now()) return "expired";
    return "active";
  }

  async function loadTokens() {
    let data;
    try {
      data = await call("GET", "/v1/me/tokens");
    } catch (e) {
      sayError(e);
      return;
    }
    const body = $("token-list");
    clear(body);
    const tokens = (data && data.tokens) || [];
    for (const t of tokens) body.append(tokenRow(t));
    $("token-empty").hidden = tokens.length > 0;
  }

  function tokenRow(t) {
    const status = tokenStatus(t);
    const revoke = h("button", {
      type: "button", class: "btn btn-small btn-danger", "data-testid": "token-revoke", "aria-label": `Revoke token ${t.name || shortId(t.id)}`,
    }, "Revoke");
    revoke.disabled = status === "revoked";
    revoke.addEventListener("click", async () => {
      if (!window.confirm(`Revoke the token “${t.name || shortId(t.id)}”? Programs using it stop working.`)) return;
      revoke.disabled = true;
      try {
        await call("DELETE", `/v1/me/tokens/${encodeURIComponent(t.id)}`);
        info(`Token ${t.name || shortId(t.id)} revoked.`);
        await loadTokens();
      } catch (e) {
        revoke.disabled = false;
        sayError(e);
      }
    });
    return h("tr", { "data-testid": "token-row", "data-token-id": t.id, "data-status": status },
      h("td", {}, t.name || ""),
      h("td", {}, t.org_id || "—"),
      h("td", {}, t.role || ""),
      h("td", { class: "nowrap", title: t.created_at || "" }, fmtTime(t.created_at)),
      h("td", { class: "nowrap", title: t.expires_at || "" }, t.expires_at ? fmtTime(t.expires_at) : "never"),
      h("td", {}, badge(status, `badge-${status}`, { "data-testid": "token-status" })),
      h("td", { class: "col-actions" }, revoke));
  }

  async function createToken(ev) {
    ev.preventDefault();
    const name = $("token-name").value.trim();
    const days = parseInt($("token-days").value, 10);
    if (!name) { say("Give the token a name.", "error"); $("token-name").focus(); return; }
    if (!Number.isInteger(days) || days < 1 || days > 366) {
      say("Days must be a whole number from 1 to 366.", "error");
      $("token-days").focus();
      return;
    }
    $("token-create").disabled = true;
    try {
      const data = await call("POST", "/v1/me/tokens", { name, days });
      $("token-value").value = (data && data.token) || "";
      $("token-command").value = (data && data.claude_command) || "";
      $("token-created").hidden = false;
      $("token-name").value = "";
      info(`Token ${name} created; it expires ${fmtTime(data && data.expires_at)}. Copy it now: it is shown once.`);
      $("token-value").focus();
      $("token-value").select();
      await loadTokens();
    } catch (e) {
      sayError(e);
    } finally {
      $("token-create").disabled = false;
    }
  }

  function closeCreatedToken() {
    $("token-value").value = "";
    $("token-command").value = "";
    $("token-created").hidden = true;
    $("token-name").focus();
  }

  // ---------------------------------------------------------------- sessions

  async function loadSessions() {
    let data;
    try {
      data = await call("GET", "/v1/me/sessions");
    } catch (e) {
      sayError(e);
      return;
    }
    const body = $("session-list");
    clear(body);
    const sessions = (data && data.sessions) || [];
    for (const s of sessions) body.append(sessionRow(s));
    $("session-empty").hidden = sessions.length > 0;
  }

  function sessionRow(s) {
    const revoke = h("button", { type: "button", class: "btn btn-small btn-danger", "data-testid": "session-revoke" },
      s.current ? "Sign out" : "Revoke");
    revoke.addEventListener("click", async () => {
      revoke.disabled = true;
      try {
        await call("DELETE", `/v1/me/sessions/${encodeURIComponent(s.id)}`);
        if (s.current) {
          window.location.assign("/signin");
          return;
        }
        info("Session revoked.");
        await loadSessions();
      } catch (e) {
        revoke.disabled = false;
        sayError(e);
      }
    });
    return h("tr", { "data-testid": "session-row", "data-session-id": s.id, "data-current": s.current ? "true" : "false" },
      h("td", { class: "nowrap", title: s.created_at || "" }, fmtTime(s.created_at),
        s.current ? h("span", { class: "badge badge-current", "data-testid": "session-current" }, "this session") : null),
      h("td", { class: "nowrap", title: s.last_seen_at || "" }, fmtTime(s.last_seen_at)),
      h("td", { class: "nowrap" }, s.ip || "—"),
      h("td", { class: "user-agent" }, s.user_agent || "—"),
      h("td", { class: "col-actions" }, revoke));
  }

  // ---------------------------------------------------------------- TOTP

  function renderTotp() {
    const on = !!(session && session.totp_enabled);
    const status = $("totp-status");
    status.textContent = on ? "on" : "off";
    status.className = `badge ${on ? "badge-active" : "badge-off"}`;
    status.dataset.enabled = on ? "true" : "false";
    $("totp-on").hidden = !on;
    $("totp-off").hidden = on;
    if (on) hideSetup();
  }

  function hideSetup() {
    $("totp-setup-box").hidden = true;
    $("totp-secret").textContent = "";
    $("totp-uri").textContent = "";
    $("totp-code").value = "";
  }

  function showBackupCodes(codes) {
    $("backup-codes").textContent = (codes || []).join("\n");
    $("backup-box").hidden = false;
    $("backup-codes").focus();
  }

  function closeBackupCodes() {
    $("backup-codes").textContent = "";
    $("backup-box").hidden = true;
  }

  async function setupTotp() {
    $("totp-setup").disabled = true;
    try {
      const data = await call("POST", "/v1/me/totp/setup");
      $("totp-secret").textContent = (data && data.secret) || "";
      $("totp-uri").textContent = (data && data.otpauth_uri) || "";
      $("totp-setup-box").hidden = false;
      $("totp-code").value = "";
      $("totp-code").focus();
    } catch (e) {
      sayError(e);
    } finally {
      $("totp-setup").disabled = false;
    }
  }

  async function enableTotp(ev) {
    ev.preventDefault();
    const code = $("totp-code").value.replace(/\s+/g, "");
    if (!code) { say("Enter the code your app shows.", "error"); $("totp-code").focus(); return; }
    $("totp-enable").disabled = true;
    let data;
    try {
      data = await call("POST", "/v1/me/totp/enable", { code });
    } catch (e) {
      sayError(e);
      $("totp-code").value = "";
      $("totp-code").focus();
      return;
    } finally {
      $("totp-enable").disabled = false;
    }
    hideSetup();
    // The server issued a new session cookie: read the session (and its CSRF token) again.
    try {
      await refreshSession();
    } catch (e) {
      if (e.status !== 401) sayError(e);
      if (session) session.totp_enabled = true;
    }
    applyMode();
    showBackupCodes(data && data.backup_codes);
    info("Two-factor authentication is on. Store the backup codes now: they are shown once.");
  }

  async function disableTotp() {
    if (!window.confirm("Turn off two-factor authentication? Sign-ins then need only your password.")) return;
    $("totp-disable").disabled = true;
    try {
      await call("DELETE", "/v1/me/totp");
      closeBackupCodes();
      try {
        await refreshSession();
      } catch (_) {
        if (session) session.totp_enabled = false;
      }
      applyMode();
      info("Two-factor authentication is off.");
    } catch (e) {
      sayError(e);
    } finally {
      $("totp-disable").disabled = false;
    }
  }

  async function regenerateBackupCodes() {
    if (!window.confirm("Create new backup codes? The old ones stop working.")) return;
    $("backup-regenerate").disabled = true;
    try {
      const data = await call("POST", "/v1/me/totp/backup-codes");
      showBackupCodes(data && data.backup_codes);
      info("New backup codes: the old ones no longer work. Store these now: they are shown once.");
    } catch (e) {
      sayError(e);
    } finally {
      $("backup-regenerate").disabled = false;
    }
  }

  // ---------------------------------------------------------------- password

  async function changePassword(ev) {
    ev.preventDefault();
    const current = $("password-current").value;
    const next = $("password-new").value;
    const repeat = $("password-repeat").value;
    if (!current) { say("Enter your current password.", "error"); $("password-current").focus(); return; }
    const bytes = new TextEncoder().encode(next).length;
    if (bytes < 12 || bytes > 72) { say("The new password must be 12 to 72 bytes long.", "error"); $("password-new").focus(); return; }
    if (next !== repeat) {
      say("The two new passwords differ.", "error");
      $("password-repeat").value = "";
      $("password-repeat").focus();
      return;
    }
    $("password-submit").disabled = true;
    try {
      await call("POST", "/v1/me/password", { current_password: current, new_password: next });
      $("password-form").reset();
      $("password-username").value = session ? session.user_id : "";
      info("Password changed. Your other sessions are signed out.");
      try { await refreshSession(); } catch (_) { /* a 401 already went to sign-in */ }
      await loadSessions();
    } catch (e) {
      if (e.code === "invalid_credentials") {
        $("password-current").value = "";
        $("password-current").focus();
      }
      sayError(e);
    } finally {
      $("password-submit").disabled = false;
    }
  }

  // ---------------------------------------------------------------- sign-out and start

  async function signOut() {
    $("signout").disabled = true;
    try {
      await A.engramFetch("DELETE", "/v1/session");
    } catch (_) {
      // Gone or expired already: the sign-in page is the answer either way.
    }
    window.location.assign("/signin");
  }

  function on(id, event, fn) {
    $(id).addEventListener(event, (ev) => {
      if (event === "submit") ev.preventDefault();
      fn(ev);
    });
  }

  async function init() {
    on("signout", "click", signOut);
    on("memory-search-form", "submit", () => { say(""); searchMemories(); });
    on("memory-show-all", "click", () => { $("memory-query").value = ""; loadMemories(true); });
    on("memory-more", "click", () => loadMemories(false));
    on("token-form", "submit", createToken);
    on("token-created-close", "click", closeCreatedToken);
    on("sessions-refresh", "click", loadSessions);
    on("totp-setup", "click", setupTotp);
    on("totp-enable-form", "submit", enableTotp);
    on("totp-disable", "click", disableTotp);
    on("backup-regenerate", "click", regenerateBackupCodes);
    on("backup-close", "click", closeBackupCodes);
    on("password-form", "submit", changePassword);

    let s;
    try {
      s = await A.loadSession();
    } catch (e) {
      sayError(e);
      return;
    }
    if (!s) {
      window.location.replace(NEXT);
      return;
    }
    session = s;
    renderHeader();
    applyMode();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
