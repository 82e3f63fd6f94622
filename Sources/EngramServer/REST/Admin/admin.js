// Engram admin page: plain ES2020, no framework, no external resources.
// Everything user-written (memory content, tags, ids) is rendered with
// textContent / DOM nodes, never innerHTML. The page's CSP forbids inline
// scripts and styles, so visibility is toggled with the `hidden` attribute and
// classes only. Diffs are built as text nodes inside <del>/<ins> elements.
//
// Two ways in: a browser session (cookie from /signin; requests go through engramFetch
// of /account/account.js: no Authorization header, X-CSRF-Token on writes, the re-prompt
// dialog on 403 reauth_required), or, in dev mode only, a pasted token kept in this tab's
// sessionStorage and sent as a bearer token.
"use strict";

(() => {
  const TOKEN_KEY = "engram.admin.token";
  const ROLES = ["viewer", "member", "admin", "owner"];
  const PAGE_SIZE = 25;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM helpers

  // h() and clear() are shared with the account pages (/account/account.js, loaded first).
  const { h, clear } = window.EngramAccount;

  function show(node, visible) {
    node.hidden = !visible;
  }

  function stateLabel(state) {
    return String(state || "").replace(/_/g, " ");
  }

  function badge(state) {
    return h("span", { class: `badge badge-${state}`, "data-state": state, "data-testid": "state-badge" }, stateLabel(state));
  }

  function setBadge(node, state) {
    node.className = `badge badge-${state}`;
    node.dataset.state = state;
    node.textContent = stateLabel(state);
  }

  /** "flagged: rule-a, rule-b" for a memory the poisoning screen flagged; null when it is not. */
  function flaggedBadge(flags, testid) {
    if (!flags || flags.length === 0) return null;
    return h("span", { class: "badge badge-flagged", "data-testid": testid, "data-rules": flags.join(","), title: "flagged by the poisoning screen" },
      `flagged: ${flags.join(", ")}`);
  }

  function trustBadge(trust, testid) {
    if (!trust) return null;
    return h("span", { class: `badge badge-trust-${trust}`, "data-trust": trust, "data-testid": testid }, trust);
  }

  function fmtTime(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  function shortHash(value) {
    return value ? String(value).slice(0, 10) : "—";
  }

  function shortId(value) {
    return value ? String(value).slice(0, 8) : "";
  }

  // ---------------------------------------------------------------- messages

  let messageTimer = null;

  function showMessage(text, kind) {
    const box = $("message");
    $("message-text").textContent = text;
    box.className = `message message-${kind}`;
    box.dataset.kind = kind;
    show(box, true);
    clearTimeout(messageTimer);
    if (kind === "info") messageTimer = setTimeout(hideMessage, 5000);
  }

  function showError(err) {
    if (err instanceof ApiError) {
      const status = err.status ? ` (HTTP ${err.status})` : "";
      // Some server messages already start with their code ("forbidden: four-eyes review: …").
      const text = String(err.message || "").startsWith(`${err.code}:`) ? err.message : `${err.code}: ${err.message}`;
      showMessage(`${text}${status}`, "error");
    } else {
      showMessage(`error: ${err && err.message ? err.message : String(err)}`, "error");
    }
  }

  function hideMessage() {
    clearTimeout(messageTimer);
    show($("message"), false);
    $("message-text").textContent = "";
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const STATUS_CODES = { 400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "unprocessable", 429: "rate_limited" };

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  async function api(method, path, body) {
    if (sessionMode) return sessionApi(method, path, body);
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "network_error", `cannot reach the server (${e.message})`);
    }
    const text = res.status === 204 ? "" : await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    if (!res.ok) {
      const err = (data && data.error) || {};
      const e = new ApiError(res.status, err.code || STATUS_CODES[res.status] || "http_error", err.message || res.statusText || "request failed");
      if (res.status === 401 && signedIn) {
        signOut();
      }
      throw e;
    }
    return data;
  }

  /** A request on the browser session (account.js); its errors become ApiErrors like the token path's. */
  async function sessionApi(method, path, body) {
    try {
      return await window.engramFetch(method, path, body);
    } catch (e) {
      if (e && e.status === 401) {
        // The session ended (idle, expired, signed out elsewhere): sign in again, then come back.
        signedIn = false;
        window.location.assign(SIGNIN_NEXT);
      }
      const status = e && typeof e.status === "number" ? e.status : 0;
      const code = (e && e.code) || STATUS_CODES[status] || "http_error";
      const message = (e && e.message) || "request failed";
      const retry = e && e.retryAfter !== undefined ? ` Try again in ${e.retryAfter} s.` : "";
      throw new ApiError(status, code, `${message}${retry}`);
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") q.append(k, v);
    }
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  // ---------------------------------------------------------------- session

  const SIGNIN_NEXT = "/signin?next=/admin";

  let me = null;
  let signedIn = false;
  let sessionMode = false; // true when the page runs on a browser session (cookie + CSRF)
  let orgPolicy = null; // the last GET/PATCH /v1/admin/org answer (four-eyes review, …)

  async function signIn(raw) {
    const t = String(raw || "").trim().replace(/^Bearer\s+/i, "");
    if (!t) {
      showMessage("error: paste a token first", "error");
      return;
    }
    sessionStorage.setItem(TOKEN_KEY, t);
    hideMessage();
    try {
      me = await api("GET", "/v1/me");
      // An admin-only call decides whether this token may use the page: the
      // server's answer (403 for members and viewers) is what the user sees.
      const org = await api("GET", "/v1/admin/org");
      renderOrg(org);
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      me = null;
      showSignIn();
      showError(e);
      return;
    }
    signedIn = true;
    $("token-input").value = "";
    $("whoami-text").textContent = `${me.user_id} · ${me.role}${me.org_id ? ` · ${me.org_id}` : ""}`;
    show($("whoami"), true);
    show($("signin"), false);
    show($("app"), true);
    selectTab("queue");
  }

  function signOut() {
    signedIn = false;
    me = null;
    orgPolicy = null;
    sessionStorage.removeItem(TOKEN_KEY);
    resetQueue();
    closeDetail();
    resetContainment();
    clear($("members-body"));
    clear($("audit-body"));
    for (const id of ["usage-most-body", "usage-never-body", "usage-reports-body", "usage-members-body"]) clear($(id));
    showSignIn();
  }

  /** The page on a browser session: the token form stays hidden; /v1/admin answers decide access. */
  async function startSession(session) {
    sessionMode = true;
    sessionStorage.removeItem(TOKEN_KEY); // a session never sends a pasted token
    me = { user_id: session.user_id, org_id: session.org_id || null, role: session.role };
    hideMessage();
    show($("signin"), false);
    $("whoami-text").textContent = `${me.user_id} · ${me.role}${me.org_id ? ` · ${me.org_id}` : ""}`;
    show($("me-link"), true);
    show($("whoami"), true);
    if (session.totp_enrolment_required) {
      showMessage("totp_enrolment_required: your organisation requires two-factor authentication; set it up on your account page (/me) first.", "error");
      return;
    }
    try {
      // As with a token: an admin-only call decides whether this session may use the page
      // (403 forbidden for members and viewers), and the user sees the server's answer.
      const org = await api("GET", "/v1/admin/org");
      renderOrg(org);
    } catch (e) {
      show($("app"), false);
      showError(e);
      return;
    }
    signedIn = true;
    show($("app"), true);
    selectTab("queue");
  }

  async function endSession() {
    $("signout-button").disabled = true;
    try {
      await window.engramFetch("DELETE", "/v1/session");
    } catch (_) {
      // Already gone or expired: the sign-in page follows either way.
    }
    signedIn = false;
    window.location.assign("/signin");
  }

  /**
   * GET /v1/session decides: 200 runs the page on the session; 401 shows the pasted-token form
   * in dev mode (GET /readyz says `"mode": "dev"`) and sends everyone else to /signin.
   */
  async function start() {
    let res = null;
    try {
      res = await fetch("/v1/session", { method: "GET", headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    } catch (_) {
      res = null;
    }
    if (res && res.ok) {
      let session = null;
      try { session = await res.json(); } catch (_) { session = null; }
      if (session && session.user_id && window.EngramAccount) {
        window.EngramAccount.setSession(session);
        await startSession(session);
        return;
      }
    }
    if (res && res.status === 404) {
      // A server without browser sessions: the pasted token, as before.
      startTokenMode();
      return;
    }
    let mode = null;
    try {
      const ready = await fetch("/readyz", { headers: { Accept: "application/json" }, credentials: "omit", cache: "no-store" });
      const data = await ready.json();
      mode = data && data.mode;
    } catch (_) {
      mode = null;
    }
    if (mode === "dev") startTokenMode();
    else window.location.replace(SIGNIN_NEXT);
  }

  function startTokenMode() {
    sessionMode = false;
    show($("me-link"), false);
    const saved = token();
    if (saved) signIn(saved);
    else showSignIn();
  }

  function showSignIn() {
    show($("app"), false);
    show($("whoami"), false);
    show($("signin"), true);
    $("token-input").focus();
  }

  // ---------------------------------------------------------------- tabs

  let currentTab = null;

  function selectTab(name) {
    currentTab = name;
    for (const tab of document.querySelectorAll(".tab")) {
      const on = tab.dataset.tab === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      show($(`panel-${tab.dataset.tab}`), on);
    }
    if (name === "queue") loadQueue(true);
    else if (name === "members") loadMembers();
    else if (name === "audit") loadAudit(null, true);
    else if (name === "usage") loadUsage();
    else if (name === "org") loadOrg();
    else if (name === "containment") loadQuarantine();
  }

  // ---------------------------------------------------------------- review queue

  // One cursor per requested state: "pending review + drafts" is two listings merged.
  const queue = { states: [], cursors: new Map(), items: new Map(), selectedId: null, seq: 0 };

  function resetQueue() {
    queue.states = [];
    queue.cursors = new Map();
    queue.items = new Map();
    clear($("queue-list"));
    $("queue-count").textContent = "";
    show($("queue-empty"), false);
    show($("queue-more"), false);
  }

  function filters() {
    return {
      author: $("filter-author").value.trim(),
      tag: $("filter-tag").value.trim(),
      repo: $("filter-repo").value.trim(),
      q: $("filter-q").value.trim(),
    };
  }

  async function loadQueue(reset) {
    const seq = ++queue.seq;
    if (reset) {
      resetQueue();
      const raw = $("filter-state").value;
      queue.states = raw ? raw.split(",") : [""];
      for (const s of queue.states) queue.cursors.set(s, undefined);
    }
    const f = filters();
    const pending = [...queue.cursors.entries()].filter(([, c]) => c !== null);
    let pages;
    try {
      pages = await Promise.all(pending.map(([state, cursor]) =>
        api("GET", `/v1/admin/memories${query({ state, ...f, cursor, limit: PAGE_SIZE })}`)
          .then((page) => ({ state, page }))));
    } catch (e) {
      if (seq === queue.seq) showError(e);
      return;
    }
    if (seq !== queue.seq) return; // a newer load superseded this one
    const fresh = [];
    for (const { state, page } of pages) {
      queue.cursors.set(state, page.next_cursor || null);
      for (const m of page.memories || []) {
        if (!queue.items.has(m.id)) fresh.push(m);
        queue.items.set(m.id, m);
      }
    }
    fresh.sort((a, b) => String(b.updated_at).localeCompare(String(a.updated_at)));
    const list = $("queue-list");
    for (const m of fresh) list.append(memoryItem(m));
    const more = [...queue.cursors.values()].some((c) => c);
    show($("queue-more"), more);
    show($("queue-empty"), queue.items.size === 0);
    $("queue-count").textContent = queue.items.size ? `${queue.items.size}${more ? "+" : ""} shown` : "";
  }

  function memoryItem(m) {
    const button = h("button", {
      type: "button",
      class: `memory-item${m.id === queue.selectedId ? " selected" : ""}`,
      "data-testid": "memory-item",
      "data-memory-id": m.id,
      "data-state": m.state,
      onclick: () => openMemory(m.id),
    },
    h("div", { class: "memory-item-head" },
      badge(m.state),
      flaggedBadge(m.screen_flags, "memory-item-flagged"),
      h("span", { class: "author" }, m.user_id),
      m.repo ? h("span", { class: "repo" }, m.repo) : null,
      h("span", { class: "when", title: m.updated_at }, fmtTime(m.updated_at))),
    h("div", { class: "memory-snippet" }, m.content),
    (m.tags && m.tags.length) ? h("div", { class: "memory-tags" }, m.tags.map((t) => h("span", { class: "tag" }, t))) : null);
    return h("li", {}, button);
  }

  function replaceListItem(m) {
    const old = document.querySelector(`.memory-item[data-memory-id="${CSS.escape(m.id)}"]`);
    if (!old) return;
    queue.items.set(m.id, m);
    old.parentElement.replaceWith(memoryItem(m));
  }

  function removeListItem(id) {
    const old = document.querySelector(`.memory-item[data-memory-id="${CSS.escape(id)}"]`);
    if (old) old.parentElement.remove();
    queue.items.delete(id);
    show($("queue-empty"), queue.items.size === 0);
  }

  function markSelected(id) {
    queue.selectedId = id;
    for (const item of document.querySelectorAll(".memory-item")) {
      item.classList.toggle("selected", item.dataset.memoryId === id);
    }
  }

  // ---------------------------------------------------------------- memory detail

  let current = null; // the memory shown in the detail panel
  let detailSeq = 0; // the latest detail load; older answers are dropped

  async function openMemory(id) {
    if (currentTab !== "queue") selectTab("queue");
    markSelected(id);
    try {
      await loadDetail(id);
    } catch (e) {
      showError(e);
    }
  }

  /**
   * Loads the memory (with usage, freshness and open reports) and its versions, then renders both.
   * A history that cannot be read is shown in the History section; the memory is still shown.
   */
  async function loadDetail(id) {
    const seq = ++detailSeq;
    const path = `/v1/admin/memories/${encodeURIComponent(id)}`;
    const [detail, versions] = await Promise.all([
      api("GET", path),
      api("GET", `${path}/versions`).then((data) => ({ data }), (error) => ({ error })),
    ]);
    if (seq !== detailSeq) return false;
    renderDetail(detail.memory, detail.reports || [], detail.possible_conflicts || []);
    renderHistory(versions);
    return true;
  }

  /** Reloads the detail after an action; its own errors are shown, never thrown. */
  async function refreshDetail(id) {
    try {
      await loadDetail(id);
    } catch (e) {
      showError(e);
    }
  }

  function orDash(value) {
    return value === undefined || value === null || value === "" ? "—" : String(value);
  }

  /**
   * Shows memory `m`. `reports` and `conflicts` come with reads (GET /v1/admin/memories/{id});
   * the answers of actions leave them out, and then the ones on screen stay until the reload.
   */
  function renderDetail(m, reports, conflicts) {
    const same = current && current.id === m.id;
    current = m;
    setBadge($("detail-state"), m.state);
    renderTrust(m, same);
    $("detail").dataset.memoryId = m.id;
    $("detail-id").textContent = m.id;
    $("detail-author").textContent = m.user_id;
    $("detail-scope").textContent = m.org_id ? `${m.scope} · ${m.org_id}` : m.scope;
    $("detail-created").textContent = fmtTime(m.created_at);
    $("detail-updated").textContent = fmtTime(m.updated_at);
    $("detail-hash").textContent = m.content_hash || "";
    $("detail-hash").title = m.content_hash || "";
    $("detail-model").textContent = m.embedding_model || "—";
    $("detail-content").value = m.content || "";
    $("detail-tags").value = (m.tags || []).join(", ");
    $("detail-kind").value = m.kind || "pattern";
    $("detail-repo").value = m.repo || "";
    $("detail-task").value = m.task_id || "";
    $("btn-approve").disabled = m.state === "published";
    $("btn-reject").disabled = m.state === "rejected";
    $("btn-archive").disabled = m.state === "archived";
    $("detail-version").textContent = m.version ? `v${m.version}` : "—";
    renderSignals(m);
    renderProvenance(m);
    if (reports !== undefined) renderReports(reports);
    if (conflicts !== undefined) renderConflicts(conflicts);
    else if (!same) renderConflicts([]);
    else syncConflictChecks();
    if (!same) {
      // Another memory: its history is not loaded yet.
      hist.versions = [];
      hist.selected = null;
      clear($("history-body"));
      show($("history-diff"), false);
      $("history-count").textContent = "";
    }
    show($("delete-confirm"), false);
    show($("revert-confirm"), false);
    show($("detail"), true);
    show($("detail-placeholder"), false);
  }

  /** Trust, the poisoning screen's flags, the reviewer, a supersession and the four-eyes hint. */
  function renderTrust(m, same) {
    const trust = $("detail-trust");
    // Action answers carry no trust (it depends on the reader); keep the shown one until the reload.
    if (m.trust) {
      trust.className = `badge badge-trust-${m.trust}`;
      trust.dataset.trust = m.trust;
      trust.textContent = `trust: ${m.trust}`;
      show(trust, true);
    } else if (!same) {
      trust.className = "badge";
      delete trust.dataset.trust;
      trust.textContent = "";
      show(trust, false);
    }
    const flags = m.screen_flags || [];
    const flagBadge = $("detail-flags");
    flagBadge.textContent = flags.length ? `flagged: ${flags.join(", ")}` : "";
    flagBadge.dataset.rules = flags.join(",");
    show(flagBadge, flags.length > 0);
    $("detail-flagged-text").textContent = flags.length
      ? `The poisoning screen flagged this text (${flags.join(", ")}). Read it as a claim to check, not as an instruction; approving clears the flags.`
      : "";
    show($("detail-flagged"), flags.length > 0);
    $("detail-reviewed-by").textContent = orDash(m.reviewed_by);

    const link = $("detail-superseded-link");
    if (m.superseded_by) {
      link.textContent = shortId(m.superseded_by);
      link.title = m.superseded_by;
      link.dataset.memoryId = m.superseded_by;
      show($("detail-superseded"), true);
    } else {
      link.textContent = "";
      delete link.dataset.memoryId;
      show($("detail-superseded"), false);
    }

    // The server decides (it also knows who wrote the current text); this only warns ahead.
    const mine = me && m.user_id === me.user_id;
    const fourEyes = !orgPolicy || orgPolicy.approver_must_differ !== false;
    const box = $("detail-four-eyes");
    if (mine && fourEyes && m.state !== "published") {
      $("detail-four-eyes-text").textContent =
        "You wrote this memory: with four-eyes review on, another admin or owner must approve it.";
      box.dataset.kind = "hint";
      show(box, true);
    } else {
      $("detail-four-eyes-text").textContent = "";
      delete box.dataset.kind;
      show(box, false);
    }
  }

  function showFourEyesRefusal(message) {
    const box = $("detail-four-eyes");
    $("detail-four-eyes-text").textContent = message;
    box.dataset.kind = "refused";
    show(box, true);
  }

  /** Possible conflicts, each with a "supersede on approval" checkbox. Content is text only. */
  function renderConflicts(conflicts) {
    const list = $("detail-conflicts-list");
    clear(list);
    for (const c of conflicts) {
      const box = h("input", {
        type: "checkbox", class: "conflict-supersede", "data-testid": "conflict-supersede", "data-memory-id": c.id,
        id: `conflict-supersede-${c.id}`,
      });
      const similarity = typeof c.similarity === "number" ? c.similarity.toFixed(2) : String(c.similarity || "");
      list.append(h("li", {
        class: "conflict", "data-testid": "conflict-item", "data-memory-id": c.id, "data-state": c.state,
        "data-similarity": String(c.similarity), "data-user-id": c.user_id,
      },
        h("div", { class: "conflict-head" },
          h("span", { class: "similarity", "data-testid": "conflict-similarity", title: "cosine similarity" }, `similarity ${similarity}`),
          badge(c.state),
          trustBadge(c.trust, "conflict-trust"),
          h("span", { class: "author" }, c.user_id),
          h("span", { class: "spacer" }),
          h("button", { type: "button", class: "link", title: c.id, "data-testid": "conflict-open", onclick: () => openMemory(c.id) }, shortId(c.id))),
        h("div", { class: "conflict-content", "data-testid": "conflict-content" }, c.content),
        h("label", { class: "check check-small", for: `conflict-supersede-${c.id}` }, box, h("span", {}, "supersede on approval"))));
    }
    $("detail-conflicts-count").textContent = conflicts.length ? `(${conflicts.length})` : "";
    show($("detail-conflicts"), conflicts.length > 0);
    syncConflictChecks();
  }

  /** The checkboxes can be ticked only while the memory can be approved; Approve says what it retires. */
  function syncConflictChecks() {
    const disabled = !current || current.state === "published";
    for (const box of document.querySelectorAll("#detail-conflicts-list .conflict-supersede")) {
      box.disabled = disabled;
      if (disabled) box.checked = false;
    }
    const n = supersedeSelection().length;
    $("btn-approve").textContent = n ? `Approve + supersede ${n}` : "Approve";
  }

  function supersedeSelection() {
    return [...document.querySelectorAll("#detail-conflicts-list .conflict-supersede")]
      .filter((b) => b.checked && !b.disabled)
      .map((b) => b.dataset.memoryId);
  }

  /** Freshness, usage and the code-change mark (present on reads; write answers leave them out). */
  function renderSignals(m) {
    const fresh = $("detail-freshness");
    if (m.freshness !== undefined) {
      const state = m.freshness_state || "unknown";
      fresh.className = `badge badge-fresh-${state}`;
      fresh.dataset.state = state;
      fresh.textContent = m.freshness || stateLabel(state);
    }
    if (m.usage) {
      const u = m.usage;
      const parts = [`served ${u.served_count || 0} time${u.served_count === 1 ? "" : "s"}`];
      if (u.last_served_at) parts.push(`last ${fmtTime(u.last_served_at)}`);
      if (u.last_confirmed_at) parts.push(`confirmed ${fmtTime(u.last_confirmed_at)}`);
      if (u.open_reports) parts.push(`${u.open_reports} open report${u.open_reports === 1 ? "" : "s"}`);
      $("detail-usage").textContent = parts.join(" · ");
    }
    const change = m.anchor_changed;
    const box = $("detail-anchor-changed");
    const text = $("detail-anchor-changed-text");
    if (change && change.commit) {
      const paths = (change.paths || []).join(", ");
      text.textContent = `Code changed since ${String(change.commit).slice(0, 12)}${paths ? ` in ${paths}` : ""}${change.at ? ` (${fmtTime(change.at)})` : ""}`;
      text.title = change.commit;
      box.dataset.commit = change.commit;
      show(box, true);
    } else {
      text.textContent = "";
      delete box.dataset.commit;
      show(box, false);
    }
  }

  function anchorText(a) {
    let t = String(a.path || "");
    if (a.lines) t += `:${a.lines}`;
    if (a.symbol) t += ` (${a.symbol})`;
    return t;
  }

  function renderProvenance(m) {
    const p = m.provenance || {};
    $("prov-author").textContent = orDash(p.author || m.user_id);
    $("prov-channel").textContent = orDash(p.channel);
    $("prov-client").textContent = orDash(p.client);
    $("prov-task").textContent = orDash(p.task_id !== undefined ? p.task_id : m.task_id);
    $("prov-repo").textContent = orDash(p.repo !== undefined ? p.repo : m.repo);
    $("prov-branch").textContent = orDash(p.branch);
    $("prov-commit").textContent = orDash(p.commit);
    $("prov-commit").title = p.commit || "";
    const anchors = $("prov-anchors");
    clear(anchors);
    const list = m.anchors || [];
    if (list.length === 0) anchors.textContent = "—";
    for (const a of list) {
      anchors.append(h("code", { class: "anchor", "data-testid": "prov-anchor", title: a.sha || null }, anchorText(a)));
    }
  }

  function renderReports(reports) {
    const open = reports.filter((r) => !r.resolved);
    const list = $("detail-reports-list");
    clear(list);
    for (const r of open) {
      list.append(h("li", { class: "report", "data-testid": "report-item", "data-verdict": r.verdict, "data-user-id": r.user_id },
        h("div", { class: "report-head" },
          h("span", { class: `badge badge-verdict-${r.verdict}` }, r.verdict),
          h("span", { class: "author" }, r.user_id),
          h("span", { class: "when muted", title: r.at }, fmtTime(r.at))),
        r.note ? h("div", { class: "report-note", "data-testid": "report-note" }, r.note) : null));
    }
    $("detail-reports-count").textContent = open.length ? `(${open.length})` : "";
    show($("detail-reports"), open.length > 0);
  }

  function closeDetail() {
    current = null;
    detailSeq += 1;
    clear($("detail-conflicts-list"));
    show($("detail-conflicts"), false);
    queue.selectedId = null;
    hist.versions = [];
    hist.selected = null;
    show($("detail"), false);
    show($("detail-placeholder"), true);
  }

  // ---------------------------------------------------------------- history, diff, revert

  const hist = { versions: [], selected: null, revertTo: null };

  function renderHistory(result) {
    const body = $("history-body");
    clear(body);
    show($("revert-confirm"), false);
    hist.revertTo = null;
    if (result.error) {
      hist.versions = [];
      hist.selected = null;
      const e = result.error;
      $("history-error").textContent = e instanceof ApiError
        ? `The history could not be loaded: ${e.code}: ${e.message}`
        : `The history could not be loaded: ${e && e.message ? e.message : String(e)}`;
      show($("history-error"), true);
      show($("history-table"), false);
      show($("history-diff"), false);
      $("history-count").textContent = "";
      return;
    }
    show($("history-error"), false);
    show($("history-table"), true);
    const versions = (result.data && result.data.versions) || [];
    hist.versions = versions;
    $("history-count").textContent = versions.length ? `${versions.length} version${versions.length === 1 ? "" : "s"}` : "";
    const latest = versions.length ? versions[versions.length - 1].version : 0;
    for (const v of versions) body.append(historyRow(v, latest));
    if (versions.length === 0) {
      body.append(h("tr", {}, h("td", { colspan: "5", class: "muted" }, "No versions recorded.")));
    }
    // Keep the chosen version when it still exists; otherwise show the latest change.
    const keep = versions.some((v) => v.version === hist.selected);
    selectVersion(keep ? hist.selected : latest || null);
  }

  function historyRow(v, latest) {
    const isCurrent = current && v.version === current.version;
    const diffButton = h("button", {
      type: "button", class: "btn btn-small", "data-testid": "history-diff-button", "data-version": v.version,
      title: `Show what changed in version ${v.version}`, onclick: () => selectVersion(v.version),
    }, "Diff");
    const canRevert = current && v.version < latest && v.state !== "deleted";
    const revertButton = canRevert
      ? h("button", {
        type: "button", class: "btn btn-small btn-reject", "data-testid": "history-revert", "data-version": v.version,
        title: `Restore version ${v.version} as a new version`, onclick: () => askRevert(v),
      }, "Revert")
      : null;
    return h("tr", {
      class: "history-row",
      "data-testid": "history-row",
      "data-version": v.version,
      "data-state": v.state,
      "data-reason": v.reason,
      "data-actor": v.actor,
      "data-recorded": v.recorded === false ? "false" : "true",
    },
    h("td", { class: "nowrap" }, `v${v.version}`,
      isCurrent ? h("span", { class: "muted" }, " (current)") : null,
      v.recorded === false ? h("span", { class: "muted", title: "derived from the stored memory, not recorded when it changed" }, " (derived)") : null),
    h("td", { class: "history-who" },
      h("div", { class: "nowrap", title: v.at }, fmtTime(v.at)),
      h("div", { class: "muted", title: v.client ? `client: ${v.client}` : null },
        h("span", { "data-testid": "history-actor" }, v.actor), " via ",
        h("span", { "data-testid": "history-channel" }, v.channel))),
    h("td", { class: "history-reason", "data-testid": "history-reason" }, v.reason),
    h("td", {}, badge(v.state)),
    h("td", { class: "col-actions" }, diffButton, revertButton));
  }

  function selectVersion(version) {
    hist.selected = version;
    for (const row of document.querySelectorAll("#history-body .history-row")) {
      row.classList.toggle("selected", Number(row.dataset.version) === version);
    }
    renderDiff();
  }

  /** The diff of the selected version against the one before it, or from it to the current memory. */
  function renderDiff() {
    const box = $("history-diff");
    const i = hist.versions.findIndex((v) => v.version === hist.selected);
    if (i < 0 || !current) {
      show(box, false);
      return;
    }
    const v = hist.versions[i];
    const toCurrent = $("history-compare").value === "current";
    let from;
    let to;
    let title;
    if (toCurrent) {
      from = { label: `v${v.version}`, memory: v.memory || {}, state: v.state };
      to = { label: `current (v${current.version})`, memory: current, state: current.state };
      title = `v${v.version} → current (v${current.version})`;
    } else {
      const prev = i > 0 ? hist.versions[i - 1] : null;
      from = prev ? { label: `v${prev.version}`, memory: prev.memory || {}, state: prev.state } : null;
      to = { label: `v${v.version}`, memory: v.memory || {}, state: v.state };
      title = prev ? `v${prev.version} → v${v.version} (${v.reason})` : `v${v.version} (${v.reason}): the first version`;
    }
    box.dataset.from = from ? from.label : "";
    box.dataset.to = to.label;
    $("diff-title").textContent = title;

    const fields = $("diff-fields");
    clear(fields);
    const a = from ? from.memory : {};
    const b = to.memory;
    const fieldRow = (name, ...content) => {
      fields.append(h("dt", {}, name), h("dd", { "data-testid": `diff-${name.toLowerCase()}` }, ...content));
    };
    if (from && from.state !== to.state) {
      fieldRow("State", h("del", { class: "diff-del" }, stateLabel(from.state)), " → ", h("ins", { class: "diff-ins" }, stateLabel(to.state)));
    }
    if (from && (a.kind || "") !== (b.kind || "")) {
      fieldRow("Kind", h("del", { class: "diff-del" }, a.kind || "—"), " → ", h("ins", { class: "diff-ins" }, b.kind || "—"));
    }
    const tagsA = a.tags || [];
    const tagsB = b.tags || [];
    if (from && JSON.stringify(tagsA) !== JSON.stringify(tagsB)) {
      const removed = tagsA.filter((t) => !tagsB.includes(t));
      const added = tagsB.filter((t) => !tagsA.includes(t));
      const kept = tagsB.filter((t) => tagsA.includes(t));
      fieldRow("Tags",
        removed.map((t) => h("del", { class: "tag diff-del", "data-testid": "diff-tag-removed" }, t)),
        added.map((t) => h("ins", { class: "tag diff-ins", "data-testid": "diff-tag-added" }, t)),
        kept.map((t) => h("span", { class: "tag" }, t)),
        removed.length || added.length ? null : h("span", { class: "muted" }, " (reordered)"));
    }
    for (const [name, key] of [["Repo", "repo"], ["Task", "task_id"]]) {
      if (from && (a[key] || "") !== (b[key] || "")) {
        fieldRow(name, h("del", { class: "diff-del" }, a[key] || "—"), " → ", h("ins", { class: "diff-ins" }, b[key] || "—"));
      }
    }
    const anchorsA = (a.anchors || []).map(anchorText).join(", ");
    const anchorsB = (b.anchors || []).map(anchorText).join(", ");
    if (from && anchorsA !== anchorsB) {
      fieldRow("Anchors", h("del", { class: "diff-del" }, anchorsA || "—"), " → ", h("ins", { class: "diff-ins" }, anchorsB || "—"));
    }
    show(fields, fields.childNodes.length > 0);

    const content = $("diff-content");
    clear(content);
    const textA = from ? String(a.content || "") : "";
    const textB = String(b.content || "");
    const same = from !== null && textA === textB;
    if (!same) {
      for (const part of diffText(textA, textB)) {
        if (part.op === "eq") content.append(part.text);
        else if (part.op === "del") content.append(h("del", { class: "diff-del", "data-testid": "diff-del" }, part.text));
        else content.append(h("ins", { class: "diff-ins", "data-testid": "diff-ins" }, part.text));
      }
    } else {
      content.append(textB);
    }
    content.classList.toggle("diff-unchanged", same);
    show($("diff-same"), same);
    show(box, true);
  }

  function askRevert(v) {
    if (!current) return;
    hist.revertTo = v.version;
    // The server brings a stale version back as published.
    const target = v.state === "stale" ? "published" : v.state;
    let text = `Restore version ${v.version} (${v.reason}) as a new version v${current.version + 1}?`;
    if (target !== current.state) text += ` The memory becomes ${stateLabel(target)}.`;
    $("revert-confirm-text").textContent = text;
    $("revert-confirm").dataset.version = String(v.version);
    show($("revert-confirm"), true);
    // Show what the revert would undo: from that version to the current memory.
    $("history-compare").value = "current";
    selectVersion(v.version);
    $("btn-revert-cancel").focus();
  }

  async function revertCurrent() {
    if (!current || hist.revertTo === null) return;
    const id = current.id;
    const version = hist.revertTo;
    await runAction(async () => {
      const data = await api("POST", `/v1/admin/memories/${encodeURIComponent(id)}/revert`, { version });
      hist.revertTo = null;
      show($("revert-confirm"), false);
      $("history-compare").value = "previous";
      renderDetail(data.memory);
      replaceListItem(data.memory);
      hist.selected = data.memory.version;
      showMessage(`Memory ${shortId(id)} reverted to v${version}: now v${data.memory.version}, ${stateLabel(data.memory.state)}.`, "info");
      await refreshDetail(id);
    });
  }

  // ---------------------------------------------------------------- diff

  // Longest-common-subsequence diff over words (whitespace runs are tokens of their own), or over
  // lines when the word table would be too big, or a plain replacement beyond that.
  const MAX_DIFF_CELLS = 4000000;

  function words(text) {
    return text.match(/\s+|[^\s]+/g) || [];
  }

  function lines(text) {
    return text.match(/[^\n]*\n|[^\n]+/g) || [];
  }

  /** [{op: "eq"|"del"|"ins", text}] turning `a` into `b`. */
  function diffText(a, b) {
    let ops = diffTokens(words(a), words(b));
    if (!ops) ops = diffTokens(lines(a), lines(b));
    if (!ops) ops = [{ op: "del", text: a }, { op: "ins", text: b }];
    return tidy(ops);
  }

  /** Token-level LCS diff; null when the table would exceed MAX_DIFF_CELLS. */
  function diffTokens(a, b) {
    let start = 0;
    while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
    let endA = a.length;
    let endB = b.length;
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
      endA -= 1;
      endB -= 1;
    }
    const n = endA - start;
    const m = endB - start;
    if ((n + 1) * (m + 1) > MAX_DIFF_CELLS) return null;
    const out = [];
    for (let i = 0; i < start; i += 1) out.push({ op: "eq", text: a[i] });
    // lcs[i][j]: the LCS length of a[start+i..endA) and b[start+j..endB).
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        lcs[i * w + j] = a[start + i] === b[start + j]
          ? lcs[(i + 1) * w + j + 1] + 1
          : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n && j < m) {
      if (a[start + i] === b[start + j]) {
        out.push({ op: "eq", text: a[start + i] });
        i += 1;
        j += 1;
      } else if (lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
        out.push({ op: "del", text: a[start + i] });
        i += 1;
      } else {
        out.push({ op: "ins", text: b[start + j] });
        j += 1;
      }
    }
    for (; i < n; i += 1) out.push({ op: "del", text: a[start + i] });
    for (; j < m; j += 1) out.push({ op: "ins", text: b[start + j] });
    for (let k = endA; k < a.length; k += 1) out.push({ op: "eq", text: a[k] });
    return out;
  }

  /**
   * Readable runs: whitespace kept between two changes joins them, and each run of changes is
   * shown as everything removed, then everything added.
   */
  function tidy(ops) {
    const absorbed = ops.map((o, k) => {
      if (o.op === "eq" && /^\s+$/.test(o.text) && k > 0 && k < ops.length - 1 && ops[k - 1].op !== "eq" && ops[k + 1].op !== "eq") {
        return { op: "both", text: o.text };
      }
      return o;
    });
    const out = [];
    let del = "";
    let ins = "";
    const flush = () => {
      if (del) out.push({ op: "del", text: del });
      if (ins) out.push({ op: "ins", text: ins });
      del = "";
      ins = "";
    };
    for (const o of absorbed) {
      if (o.op === "eq") {
        flush();
        const last = out[out.length - 1];
        if (last && last.op === "eq") last.text += o.text;
        else out.push({ op: "eq", text: o.text });
      } else {
        if (o.op === "del" || o.op === "both") del += o.text;
        if (o.op === "ins" || o.op === "both") ins += o.text;
      }
    }
    flush();
    return out;
  }

  function parseTags(raw) {
    const seen = new Set();
    for (const t of raw.split(",")) {
      const v = t.trim();
      if (v) seen.add(v);
    }
    return [...seen];
  }

  async function saveDetail() {
    if (!current) return;
    const patch = {};
    const content = $("detail-content").value;
    if (content !== current.content) patch.content = content;
    const tags = parseTags($("detail-tags").value);
    if (JSON.stringify(tags) !== JSON.stringify(current.tags || [])) patch.tags = tags;
    const kind = $("detail-kind").value;
    if (kind !== current.kind) patch.kind = kind;
    const repo = $("detail-repo").value.trim();
    if (repo !== (current.repo || "")) patch.repo = repo || null;
    const task = $("detail-task").value.trim();
    if (task !== (current.task_id || "")) patch.task_id = task || null;
    if (Object.keys(patch).length === 0) {
      showMessage("Nothing changed.", "info");
      return;
    }
    await runAction(async () => {
      const data = await api("PATCH", `/v1/admin/memories/${encodeURIComponent(current.id)}`, patch);
      renderDetail(data.memory);
      replaceListItem(data.memory);
      showMessage("Saved.", "info");
      await refreshDetail(data.memory.id);
    });
  }

  async function transition(action) {
    if (!current) return;
    await runAction(async () => {
      // Approval binds to the text on screen: the server answers 409 if it changed since it was loaded.
      // It may retire the possible conflicts the reviewer ticked.
      let body;
      let supersedes = [];
      if (action === "approve") {
        body = { content_hash: current.content_hash };
        supersedes = supersedeSelection();
        if (supersedes.length) body.supersedes = supersedes;
      }
      let data;
      try {
        data = await api("POST", `/v1/admin/memories/${encodeURIComponent(current.id)}/${action}`, body);
      } catch (e) {
        if (e.status === 409) {
          // Show the text as it is now, so the reviewer reads what they would approve.
          const fresh = await api("GET", `/v1/admin/memories/${encodeURIComponent(current.id)}`);
          renderDetail(fresh.memory, fresh.reports || [], fresh.possible_conflicts || []);
          replaceListItem(fresh.memory);
          await refreshDetail(fresh.memory.id);
        } else if (e.status === 403 && action === "approve") {
          // Four-eyes review: the server's reason, beside the memory as well as in the message bar.
          showFourEyesRefusal(e.message);
        }
        throw e;
      }
      renderDetail(data.memory);
      replaceListItem(data.memory);
      for (const id of supersedes) markSuperseded(id);
      const done = action === "approve" ? "approved" : action === "reject" ? "rejected" : "archived";
      const retired = supersedes.length ? ` ${supersedes.length} older memor${supersedes.length === 1 ? "y" : "ies"} superseded (archived).` : "";
      showMessage(`Memory ${shortId(data.memory.id)} ${done}: now ${stateLabel(data.memory.state)}.${retired}`, "info");
      await refreshDetail(data.memory.id);
    });
  }

  /** A superseded memory listed in the queue shows its new state (archived). */
  function markSuperseded(id) {
    const m = queue.items.get(id);
    if (m) replaceListItem({ ...m, state: "archived", superseded_by: current ? current.id : m.superseded_by });
  }

  async function deleteCurrent() {
    if (!current) return;
    const id = current.id;
    await runAction(async () => {
      await api("DELETE", `/v1/admin/memories/${encodeURIComponent(id)}`);
      removeListItem(id);
      closeDetail();
      showMessage(`Memory ${shortId(id)} deleted.`, "info");
    });
  }

  /** Disables the detail buttons while a request runs; shows errors. */
  async function runAction(fn) {
    const buttons = document.querySelectorAll("#detail button");
    const was = [...buttons].map((b) => b.disabled);
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await fn();
    } catch (e) {
      buttons.forEach((b, i) => { b.disabled = was[i]; });
      showError(e);
      return;
    }
    if (current) {
      // renderDetail already set the state-dependent buttons; re-enable the rest.
      for (const b of buttons) {
        if (!["btn-approve", "btn-reject", "btn-archive"].includes(b.id)) b.disabled = false;
      }
    }
  }

  // ---------------------------------------------------------------- members

  async function loadMembers() {
    let data;
    try {
      data = await api("GET", "/v1/admin/members");
    } catch (e) {
      showError(e);
      return;
    }
    $("members-org").textContent = me && me.org_id ? me.org_id : "";
    const body = $("members-body");
    clear(body);
    const members = data.members || [];
    for (const m of members) body.append(memberRow(m));
    show($("members-empty"), members.length === 0);
    const pending = $("invitations-body");
    clear(pending);
    const invitations = data.invitations || [];
    for (const i of invitations) pending.append(invitationRow(i));
    show($("invitations-empty"), invitations.length === 0);
  }

  function invitationRow(i) {
    const revoke = h("button", { type: "button", class: "btn btn-small", "data-testid": "invitation-revoke" }, "Revoke");
    revoke.addEventListener("click", async () => {
      try {
        await api("DELETE", `/v1/admin/invitations/${encodeURIComponent(i.id)}`);
        row.remove();
        showMessage(`Invitation of ${i.user_id} revoked.`, "info");
      } catch (e) {
        showError(e);
      }
    });
    const row = h("tr", { "data-testid": "invitation-row", "data-user-id": i.user_id },
      h("td", {}, i.user_id),
      h("td", {}, i.role),
      h("td", { class: "nowrap muted" }, fmtTime(i.expires_at)),
      h("td", { class: "col-actions" }, revoke));
    return row;
  }

  function memberRow(m) {
    const roleSelect = h("select", { "data-testid": "member-role-select", "aria-label": `Role of ${m.user_id}` },
      ROLES.map((r) => h("option", { value: r, selected: r === m.role }, r)));
    roleSelect.addEventListener("change", async () => {
      const role = roleSelect.value;
      try {
        const data = await api("PATCH", `/v1/admin/members/${encodeURIComponent(m.user_id)}`, { role });
        m.role = (data.member && data.member.role) || role;
        showMessage(`${m.user_id} is now ${m.role}.`, "info");
      } catch (e) {
        roleSelect.value = m.role;
        showError(e);
      }
    });
    const remove = h("button", { type: "button", class: "btn btn-danger btn-small", "data-testid": "member-remove" }, "Remove");
    let armed = null;
    remove.addEventListener("click", async () => {
      if (!armed) {
        // Two-step confirm without a modal dialog.
        remove.textContent = "Confirm remove";
        armed = setTimeout(() => { armed = null; remove.textContent = "Remove"; }, 4000);
        return;
      }
      clearTimeout(armed);
      armed = null;
      try {
        await api("DELETE", `/v1/admin/members/${encodeURIComponent(m.user_id)}`);
        row.remove();
        showMessage(`${m.user_id} removed.`, "info");
      } catch (e) {
        remove.textContent = "Remove";
        showError(e);
      }
    });
    const resetLink = h("button", { type: "button", class: "btn btn-small", "data-testid": "member-reset-link" }, "Reset link");
    resetLink.addEventListener("click", async () => {
      try {
        const data = await api("POST", `/v1/admin/members/${encodeURIComponent(m.user_id)}/reset-link`);
        showIssuedLink(`Password reset link for ${m.user_id}`, data && data.link);
        showMessage(`Reset link for ${m.user_id} created: using it signs them out everywhere.`, "info");
      } catch (e) {
        showError(e);
      }
    });
    const isMe = me && m.user_id === me.user_id;
    const row = h("tr", { "data-testid": "member-row", "data-user-id": m.user_id },
      h("td", {}, m.user_id, isMe ? h("span", { class: "muted" }, " (you)") : null),
      h("td", {}, roleSelect),
      h("td", { class: "nowrap muted" }, fmtTime(m.created_at)),
      h("td", { class: "col-actions" }, resetLink, " ", remove));
    return row;
  }

  /** Shows a single-use link (invitation or reset) once, selected for copying. */
  function showIssuedLink(label, link) {
    if (!link) return;
    $("issued-link-label").textContent = label;
    $("issued-link").value = link;
    show($("issued-link-box"), true);
    $("issued-link").select();
  }

  async function addMember() {
    const user_id = $("member-user").value.trim();
    const role = $("member-role").value;
    if (!user_id) return;
    try {
      const data = await api("POST", "/v1/admin/invitations", { user_id, role });
      $("member-user").value = "";
      showIssuedLink(`Invitation link for ${user_id} (${role})`, data && data.link);
      showMessage(`${user_id} invited as ${role}: they join when they open the link and set a password.`, "info");
      await loadMembers();
    } catch (e) {
      showError(e);
    }
  }

  // ---------------------------------------------------------------- audit log

  const audit = { cursor: null, next: null, back: [], page: 1 };

  async function loadAudit(cursor, reset) {
    if (reset) {
      audit.back = [];
      audit.page = 1;
    }
    let data;
    try {
      data = await api("GET", `/v1/admin/audit${query({ cursor, limit: PAGE_SIZE })}`);
    } catch (e) {
      showError(e);
      return;
    }
    audit.cursor = cursor;
    audit.next = data.next_cursor || null;
    const body = $("audit-body");
    clear(body);
    const entries = data.entries || [];
    for (const e of entries) body.append(auditRow(e));
    show($("audit-empty"), entries.length === 0);
    $("audit-older").disabled = !audit.next;
    $("audit-newer").disabled = audit.back.length === 0;
    $("audit-page").textContent = `page ${audit.page}`;
  }

  function auditDetail(detail) {
    if (detail === undefined || detail === null || detail === "") return "";
    if (typeof detail === "string") return detail;
    return JSON.stringify(detail);
  }

  function auditRow(e) {
    const memoryCell = e.memory_id
      ? h("button", { type: "button", class: "link", title: e.memory_id, "data-testid": "audit-memory-link", onclick: () => openMemory(e.memory_id) }, shortId(e.memory_id))
      : "—";
    const hashes = (e.before_hash || e.after_hash)
      ? h("code", { class: "hash", title: `${e.before_hash || "—"} → ${e.after_hash || "—"}` }, `${shortHash(e.before_hash)} → ${shortHash(e.after_hash)}`)
      : "";
    return h("tr", { "data-testid": "audit-row", "data-action": e.action, "data-memory-id": e.memory_id || "", "data-actor": e.actor },
      h("td", { class: "nowrap", title: e.at }, fmtTime(e.at)),
      h("td", {}, e.actor),
      h("td", {}, h("span", { class: "badge badge-action" }, e.action)),
      h("td", { class: "nowrap" }, memoryCell),
      h("td", { class: "nowrap" }, hashes),
      h("td", { class: "detail-cell" }, auditDetail(e.detail)));
  }

  // ---------------------------------------------------------------- usage

  let usageSeq = 0;

  function snippet(text, max) {
    const t = String(text || "").replace(/\s+/g, " ").trim();
    return t.length > max ? `${t.slice(0, max - 1)}…` : t;
  }

  function memoryLink(id, content) {
    return h("button", {
      type: "button", class: "link memory-link", title: id, "data-testid": "usage-memory-link", "data-memory-id": id,
      onclick: () => openMemory(id),
    }, content ? snippet(content, 90) : shortId(id));
  }

  async function loadUsage() {
    const seq = ++usageSeq;
    let data;
    try {
      data = await api("GET", `/v1/admin/usage${query({ days: $("usage-days").value })}`);
    } catch (e) {
      if (seq === usageSeq) showError(e);
      return;
    }
    if (seq !== usageSeq) return;
    const fill = (bodyId, emptyId, items, row) => {
      const body = $(bodyId);
      clear(body);
      for (const item of items) body.append(row(item));
      show($(emptyId), items.length === 0);
    };
    // Reports of memories name them by id only: their text is looked up among the listed memories.
    const known = new Map();
    for (const e of [...(data.most_served || []), ...(data.never_served || [])]) known.set(e.id, e.content);
    fill("usage-most-body", "usage-most-empty", data.most_served || [], (e) => {
      const u = e.usage || {};
      return h("tr", { "data-testid": "usage-most-row", "data-memory-id": e.id, "data-served": u.served_count || 0 },
        h("td", { class: "col-memory" }, memoryLink(e.id, e.content)),
        h("td", {}, e.user_id),
        h("td", {}, badge(e.state)),
        h("td", { class: "num" }, h("div", { "data-testid": "usage-served-count" }, String(u.served_count || 0)),
          u.last_served_at ? h("div", { class: "muted small nowrap", title: u.last_served_at }, `last ${fmtTime(u.last_served_at)}`) : null),
        h("td", { class: "num" }, String(u.open_reports || 0)));
    });
    fill("usage-never-body", "usage-never-empty", data.never_served || [], (e) =>
      h("tr", { "data-testid": "usage-never-row", "data-memory-id": e.id },
        h("td", { class: "col-memory" }, memoryLink(e.id, e.content)),
        h("td", {}, e.user_id),
        h("td", { class: "nowrap muted", title: e.created_at || "" }, fmtTime(e.created_at))));
    fill("usage-reports-body", "usage-reports-empty", data.recent_reports || [], (r) =>
      h("tr", { "data-testid": "usage-report-row", "data-memory-id": r.memory_id, "data-user-id": r.user_id, "data-verdict": r.verdict },
        h("td", { class: "nowrap", title: r.at }, fmtTime(r.at)),
        h("td", { class: known.has(r.memory_id) ? "col-memory" : "nowrap" }, memoryLink(r.memory_id, known.get(r.memory_id))),
        h("td", {}, r.user_id),
        h("td", {}, h("span", { class: `badge badge-verdict-${r.verdict}` }, r.verdict)),
        h("td", { class: "detail-cell" }, r.note || "")));
    fill("usage-members-body", "usage-members-empty", data.members || [], (m) =>
      h("tr", { "data-testid": "usage-member-row", "data-user-id": m.user_id },
        h("td", {}, m.user_id),
        h("td", { class: "num" }, String(m.authored || 0)),
        h("td", { class: "num" }, String(m.served || 0)),
        h("td", { class: "num" }, String(m.reports || 0))));
  }

  // ---------------------------------------------------------------- containment

  const CONTAINMENT_FIELDS = ["containment-member", "containment-token", "containment-task", "containment-client",
    "containment-since", "containment-until", "containment-ids"];
  const COUNT_NAMES = ["matched", "quarantined", "released", "restored", "unchanged"];
  const ACTION_WORDS = {
    quarantine: { verb: "Quarantine", done: "quarantined" },
    release: { verb: "Release", done: "released" },
    rollback: { verb: "Roll back", done: "rolled back" },
  };

  // The dry run on screen: the real request sends exactly this selector, once confirmed.
  const containment = { pending: null, seq: 0, busy: false };

  /** A datetime-local value (the browser's local time) as RFC 3339 UTC without fractions; "" when empty. */
  function localToRFC3339(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new Error(`not a date and time: ${value}`);
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  /** The selector body of the form (only the fields given). Throws on an unreadable time. */
  function containmentSelector() {
    const sel = {};
    const text = (id, key) => {
      const v = $(id).value.trim();
      if (v) sel[key] = v;
    };
    text("containment-member", "member");
    text("containment-token", "token_id");
    text("containment-task", "task_id");
    text("containment-client", "client");
    const since = localToRFC3339($("containment-since").value);
    const until = localToRFC3339($("containment-until").value);
    if (since) sel.since = since;
    if (until) sel.until = until;
    const ids = $("containment-ids").value.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);
    if (ids.length) sel.ids = [...new Set(ids)];
    return sel;
  }

  function showUtc(inputId, outId) {
    let text = "";
    try {
      const v = localToRFC3339($(inputId).value);
      if (v) text = `= ${v}`;
    } catch (e) {
      text = e.message;
    }
    $(outId).textContent = text;
  }

  /** Any change of the selector voids the dry run on screen: its counts no longer describe it. */
  function selectorChanged() {
    showUtc("containment-since", "containment-since-utc");
    showUtc("containment-until", "containment-until-utc");
    containment.seq += 1; // a dry run still under way answers for the old selector: it is dropped
    if (containment.pending) cancelContainment();
  }

  function cancelContainment() {
    containment.pending = null;
    containment.seq += 1;
    show($("containment-confirm"), false);
    clear($("containment-dry-counts"));
    clear($("containment-dry-ids"));
  }

  function resetContainment() {
    cancelContainment();
    $("containment-form").reset();
    $("containment-since-utc").textContent = "";
    $("containment-until-utc").textContent = "";
    show($("containment-result"), false);
    clear($("quarantine-list"));
    $("quarantine-count").textContent = "";
    show($("quarantine-empty"), false);
  }

  /** The five counts of a containment answer, as a row of labelled numbers; also as data attributes. */
  function renderCounts(node, report) {
    clear(node);
    for (const name of COUNT_NAMES) {
      const n = Number(report[name] || 0);
      node.dataset[name] = String(n);
      node.append(h("span", { class: `count${n ? "" : " count-zero"}`, "data-testid": `count-${name}`, "data-count": name },
        h("span", { class: "count-value" }, String(n)), " ", h("span", { class: "count-label" }, name)));
    }
    node.dataset.action = report.action || "";
    node.dataset.dryRun = report.dry_run ? "true" : "false";
  }

  function describeSelector(sel) {
    const parts = [];
    if (sel.member) parts.push(`member ${sel.member}`);
    if (sel.token_id) parts.push(`token ${sel.token_id}`);
    if (sel.task_id) parts.push(`task ${sel.task_id}`);
    if (sel.client) parts.push(`client ${sel.client}`);
    if (sel.since) parts.push(`since ${sel.since}`);
    if (sel.until) parts.push(`until ${sel.until}`);
    if (sel.ids) parts.push(`${sel.ids.length} listed id${sel.ids.length === 1 ? "" : "s"}`);
    return parts.length ? parts.join(", ") : "no selector";
  }

  function setContainmentBusy(busy) {
    containment.busy = busy;
    for (const id of ["containment-quarantine", "containment-release", "containment-rollback", "containment-confirm-button"]) {
      $(id).disabled = busy;
    }
  }

  /** Step 1: the dry run. Its counts are shown with a Confirm button; nothing changes yet. */
  async function containmentDryRun(action) {
    if (containment.busy) return;
    cancelContainment();
    show($("containment-result"), false);
    let selector;
    try {
      selector = containmentSelector();
    } catch (e) {
      showError(e);
      return;
    }
    const seq = containment.seq;
    setContainmentBusy(true);
    let report;
    try {
      report = await api("POST", `/v1/admin/${action}`, { ...selector, dry_run: true });
    } catch (e) {
      showError(e);
      return;
    } finally {
      setContainmentBusy(false);
    }
    if (seq !== containment.seq) return; // the selector changed meanwhile
    hideMessage();
    containment.pending = { action, selector };
    const words = ACTION_WORDS[action];
    const changes = (report.quarantined || 0) + (report.released || 0) + (report.restored || 0);
    $("containment-confirm-title").textContent =
      `Dry run — ${words.verb.toLowerCase()} (${describeSelector(selector)}): ${report.matched || 0} matched, ` +
      (changes ? `${changes} would change. Nothing has changed yet.` : "nothing would change.");
    const confirm = $("containment-confirm");
    confirm.dataset.action = action;
    renderCounts($("containment-dry-counts"), report);
    const ids = report.memory_ids || [];
    const idBox = $("containment-dry-ids");
    clear(idBox);
    if (ids.length) {
      idBox.append("Memories: ");
      for (const id of ids.slice(0, 20)) idBox.append(h("code", { class: "id-chip", title: id, "data-testid": "containment-dry-id" }, shortId(id)), " ");
      if (ids.length > 20) idBox.append(`… and ${ids.length - 20} more`);
    }
    $("containment-confirm-button").textContent = `Confirm ${words.verb.toLowerCase()}`;
    $("containment-confirm-button").disabled = changes === 0;
    show(confirm, true);
    $("containment-cancel").focus();
  }

  /** Step 2: the real request, with the selector of the dry run on screen. */
  async function containmentConfirm() {
    const pending = containment.pending;
    if (!pending || containment.busy) return;
    setContainmentBusy(true);
    let report;
    try {
      report = await api("POST", `/v1/admin/${pending.action}`, { ...pending.selector, dry_run: false });
    } catch (e) {
      showError(e);
      return;
    } finally {
      setContainmentBusy(false);
    }
    cancelContainment();
    const words = ACTION_WORDS[pending.action];
    const result = $("containment-result");
    result.dataset.action = pending.action;
    $("containment-result-title").textContent = `Done — ${words.done} (${describeSelector(pending.selector)}):`;
    renderCounts($("containment-result-counts"), report);
    show(result, true);
    showMessage(`${words.verb}: matched ${report.matched || 0}; quarantined ${report.quarantined || 0}; released ${report.released || 0}; ` +
      `restored ${report.restored || 0}; unchanged ${report.unchanged || 0}.`, "info");
    await loadQuarantine();
  }

  let quarantineSeq = 0;

  async function loadQuarantine() {
    const seq = ++quarantineSeq;
    let data;
    try {
      data = await api("GET", "/v1/admin/quarantine");
    } catch (e) {
      if (seq === quarantineSeq) showError(e);
      return;
    }
    if (seq !== quarantineSeq) return;
    const list = $("quarantine-list");
    clear(list);
    const held = data.memories || [];
    for (const q of held) list.append(quarantineItem(q));
    $("quarantine-count").textContent = held.length ? `${held.length} held` : "";
    show($("quarantine-empty"), held.length === 0);
  }

  /** One quarantined memory; its text (when shown) is a text node, never markup. */
  function quarantineItem(q) {
    const m = q.memory || {};
    const rules = q.rules || [];
    const release = h("button", {
      type: "button", class: "btn btn-small", "data-testid": "quarantine-release", "data-memory-id": m.id,
      title: "Select this memory by id and show the dry run of its release",
    }, "Release…");
    release.addEventListener("click", () => {
      $("containment-form").reset();
      selectorChanged();
      $("containment-ids").value = m.id;
      containmentDryRun("release");
    });
    return h("li", {
      class: "quarantine-item", "data-testid": "quarantine-item", "data-memory-id": m.id,
      "data-from": q.quarantined_from || "", "data-text-shown": q.text_shown ? "true" : "false", "data-user-id": m.user_id,
    },
    h("div", { class: "memory-item-head" },
      badge("quarantined"),
      q.quarantined_from ? h("span", { class: "muted", "data-testid": "quarantine-from" }, `was ${stateLabel(q.quarantined_from)}`) : null,
      h("span", { class: "author" }, m.user_id),
      m.repo ? h("span", { class: "repo" }, m.repo) : null,
      h("code", { class: "muted", title: m.id }, shortId(m.id)),
      h("span", { class: "when", title: m.updated_at }, fmtTime(m.updated_at)),
      release),
    q.text_shown
      ? h("div", { class: "memory-snippet quarantine-text", "data-testid": "quarantine-text" }, m.content)
      : h("div", { class: "muted quarantine-text", "data-testid": "quarantine-text-withheld" }, "(text withheld: it holds a secret)"),
    rules.length
      ? h("div", { class: "memory-tags", "data-testid": "quarantine-rules" },
        rules.map((r) => h("span", { class: "tag tag-rule", "data-rule": r }, r)))
      : null,
    (m.tags && m.tags.length) ? h("div", { class: "memory-tags" }, m.tags.map((t) => h("span", { class: "tag" }, t))) : null);
  }

  // ---------------------------------------------------------------- organisation

  function renderOrg(org) {
    orgPolicy = org;
    $("org-approver-must-differ").checked = org.approver_must_differ !== false;
    $("org-name").textContent = org.name || org.id || "";
    $("org-id").textContent = org.id || "";
    $("org-require-review").checked = !!org.require_review;
    $("org-stale-days").value = String(org.stale_after_days || 180);
    $("org-retention-days").value = String(org.version_retention_days || 30);
    $("org-webhook-state").textContent = org.webhook_secret_set ? "set" : "not set";
    $("org-webhook-secret").value = "";
    for (const el of document.querySelectorAll(".org-id-copy")) el.textContent = org.id || "";
  }

  async function loadOrg() {
    try {
      renderOrg(await api("GET", "/v1/admin/org"));
    } catch (e) {
      showError(e);
    }
  }

  async function saveOrg() {
    const require_review = $("org-require-review").checked;
    const approver_must_differ = $("org-approver-must-differ").checked;
    const stale_after_days = parseInt($("org-stale-days").value, 10);
    const version_retention_days = parseInt($("org-retention-days").value, 10);
    const secret = $("org-webhook-secret").value;
    try {
      if (secret) await api("PUT", "/v1/admin/webhook-secret", { secret });
      const org = await api("PATCH", "/v1/admin/org", { require_review, approver_must_differ, stale_after_days, version_retention_days });
      renderOrg(org);
      showMessage(`Saved: review ${org.require_review ? "required" : "not required"}, ` +
        `four-eyes review ${org.approver_must_differ === false ? "off" : "on"}, stale after ${org.stale_after_days} days, ` +
        `versions kept ${org.version_retention_days} days, webhook secret ${org.webhook_secret_set ? "set" : "not set"}.`, "info");
    } catch (e) {
      showError(e);
    }
  }

  async function clearWebhookSecret() {
    try {
      await api("DELETE", "/v1/admin/webhook-secret");
      renderOrg(await api("GET", "/v1/admin/org"));
      showMessage("The webhook secret is removed; the organisation's webhooks now answer 404.", "info");
    } catch (e) {
      showError(e);
    }
  }

  // ---------------------------------------------------------------- wiring

  function on(id, event, fn) {
    $(id).addEventListener(event, (ev) => {
      if (event === "submit") ev.preventDefault();
      fn(ev);
    });
  }

  function init() {
    on("signin-form", "submit", () => signIn($("token-input").value));
    on("signout-button", "click", () => {
      hideMessage();
      if (sessionMode) endSession();
      else signOut();
    });
    on("message-close", "click", hideMessage);
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", () => selectTab(tab.dataset.tab));
    }
    on("queue-filters", "submit", () => loadQueue(true));
    on("filter-state", "change", () => loadQueue(true));
    on("queue-more", "click", () => loadQueue(false));
    on("detail-form", "submit", saveDetail);
    on("btn-approve", "click", () => transition("approve"));
    on("btn-reject", "click", () => transition("reject"));
    on("btn-archive", "click", () => transition("archive"));
    on("btn-delete", "click", () => { show($("delete-confirm"), true); $("btn-delete-cancel").focus(); });
    on("btn-delete-cancel", "click", () => show($("delete-confirm"), false));
    on("btn-delete-confirm", "click", deleteCurrent);
    on("history-compare", "change", renderDiff);
    on("btn-revert-cancel", "click", () => { hist.revertTo = null; show($("revert-confirm"), false); });
    on("btn-revert-confirm", "click", revertCurrent);
    on("usage-refresh", "click", loadUsage);
    on("usage-days", "change", loadUsage);
    on("member-add-form", "submit", addMember);
    on("audit-refresh", "click", () => loadAudit(null, true));
    on("audit-older", "click", () => {
      if (!audit.next) return;
      audit.back.push(audit.cursor);
      audit.page += 1;
      loadAudit(audit.next, false);
    });
    on("audit-newer", "click", () => {
      if (audit.back.length === 0) return;
      audit.page -= 1;
      loadAudit(audit.back.pop(), false);
    });
    on("org-form", "submit", saveOrg);
    on("detail-conflicts-list", "change", syncConflictChecks);
    on("detail-superseded-link", "click", () => {
      const id = $("detail-superseded-link").dataset.memoryId;
      if (id) openMemory(id);
    });
    on("containment-form", "submit", () => {});
    for (const id of ["containment-quarantine", "containment-release", "containment-rollback"]) {
      on(id, "click", () => containmentDryRun($(id).dataset.action));
    }
    on("containment-confirm-button", "click", containmentConfirm);
    on("containment-cancel", "click", cancelContainment);
    on("containment-reset", "click", () => { $("containment-form").reset(); selectorChanged(); show($("containment-result"), false); });
    for (const id of CONTAINMENT_FIELDS) {
      $(id).addEventListener("input", selectorChanged);
      $(id).addEventListener("change", selectorChanged);
    }
    on("quarantine-refresh", "click", loadQuarantine);
    on("org-webhook-clear", "click", clearWebhookSecret);

    start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
