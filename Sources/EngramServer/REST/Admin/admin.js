// Engram admin page: plain ES2020, no framework, no external resources.
// Everything user-written (memory content, tags, ids) is rendered with
// textContent / DOM nodes, never innerHTML. The page's CSP forbids inline
// scripts and styles, so visibility is toggled with the `hidden` attribute and
// classes only.
"use strict";

(() => {
  const TOKEN_KEY = "engram.admin.token";
  const ROLES = ["viewer", "member", "admin", "owner"];
  const PAGE_SIZE = 25;

  const $ = (id) => document.getElementById(id);

  // ---------------------------------------------------------------- DOM helpers

  /** Creates an element; string children become text nodes (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

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
      showMessage(`${err.code}: ${err.message}${status}`, "error");
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

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") q.append(k, v);
    }
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  // ---------------------------------------------------------------- session

  let me = null;
  let signedIn = false;

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
    sessionStorage.removeItem(TOKEN_KEY);
    resetQueue();
    closeDetail();
    clear($("members-body"));
    clear($("audit-body"));
    showSignIn();
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
    else if (name === "org") loadOrg();
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

  async function openMemory(id) {
    if (currentTab !== "queue") selectTab("queue");
    markSelected(id);
    try {
      const data = await api("GET", `/v1/admin/memories/${encodeURIComponent(id)}`);
      renderDetail(data.memory);
    } catch (e) {
      showError(e);
    }
  }

  function renderDetail(m) {
    current = m;
    setBadge($("detail-state"), m.state);
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
    show($("delete-confirm"), false);
    show($("detail"), true);
    show($("detail-placeholder"), false);
  }

  function closeDetail() {
    current = null;
    queue.selectedId = null;
    show($("detail"), false);
    show($("detail-placeholder"), true);
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
    });
  }

  async function transition(action) {
    if (!current) return;
    await runAction(async () => {
      // Approval binds to the text on screen: the server answers 409 if it changed since it was loaded.
      let data;
      try {
        data = await api("POST", `/v1/admin/memories/${encodeURIComponent(current.id)}/${action}`,
          action === "approve" ? { content_hash: current.content_hash } : undefined);
      } catch (e) {
        if (e.status === 409) {
          // Show the text as it is now, so the reviewer reads what they would approve.
          const fresh = await api("GET", `/v1/admin/memories/${encodeURIComponent(current.id)}`);
          renderDetail(fresh.memory);
          replaceListItem(fresh.memory);
        }
        throw e;
      }
      renderDetail(data.memory);
      replaceListItem(data.memory);
      showMessage(`Memory ${shortId(data.memory.id)} ${action === "approve" ? "approved" : action === "reject" ? "rejected" : "archived"}: now ${stateLabel(data.memory.state)}.`, "info");
    });
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
    const isMe = me && m.user_id === me.user_id;
    const row = h("tr", { "data-testid": "member-row", "data-user-id": m.user_id },
      h("td", {}, m.user_id, isMe ? h("span", { class: "muted" }, " (you)") : null),
      h("td", {}, roleSelect),
      h("td", { class: "nowrap muted" }, fmtTime(m.created_at)),
      h("td", { class: "col-actions" }, remove));
    return row;
  }

  async function addMember() {
    const user_id = $("member-user").value.trim();
    const role = $("member-role").value;
    if (!user_id) return;
    try {
      await api("POST", "/v1/admin/members", { user_id, role });
      $("member-user").value = "";
      showMessage(`${user_id} invited as ${role}: they join when they accept (POST /v1/invitations/{id}/accept).`, "info");
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

  // ---------------------------------------------------------------- organisation

  function renderOrg(org) {
    $("org-name").textContent = org.name || org.id || "";
    $("org-id").textContent = org.id || "";
    $("org-require-review").checked = !!org.require_review;
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
    try {
      const org = await api("PATCH", "/v1/admin/org", { require_review });
      renderOrg(org);
      showMessage(`Review is now ${org.require_review ? "required" : "not required"} for ${org.name || org.id}.`, "info");
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
    on("signout-button", "click", () => { hideMessage(); signOut(); });
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

    const saved = token();
    if (saved) signIn(saved);
    else showSignIn();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
