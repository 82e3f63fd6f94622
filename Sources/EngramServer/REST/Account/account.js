// Engram accounts: the browser side of a session (shared by /me and /admin).
// Plain ES2020, no framework, no external resources; the pages' CSP forbids inline
// scripts and styles, so visibility is toggled with the `hidden` attribute only.
//
// engramFetch(method, path, body) sends a request on the session cookie (never an
// Authorization header): JSON in and out, `X-CSRF-Token` and `Content-Type:
// application/json` on every method other than GET/HEAD, and on `403 reauth_required`
// the re-prompt dialog (ids reauth-*), then the request once more. Any answer that
// carries a `csrf_token` (a Session: sign-in, re-authentication, …) replaces the stored one.
// It resolves to the parsed JSON (null for 204) and rejects with an EngramError
// {status, code, message, retryAfter}.
"use strict";

(() => {
  const state = { csrf: null, session: null, prompt: null };

  class EngramError extends Error {
    constructor(status, code, message, retryAfter) {
      super(message);
      this.name = "EngramError";
      this.status = status;
      this.code = code;
      this.retryAfter = retryAfter;
    }
  }

  const STATUS_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict",
    422: "unprocessable", 429: "rate_limited",
  };

  const $ = (id) => document.getElementById(id);

  function isSession(data) {
    return !!data && typeof data === "object" && typeof data.csrf_token === "string";
  }

  /** Keeps a Session answer (or any answer with a csrf_token): its token guards the next writes. */
  function setSession(data) {
    if (!isSession(data)) return;
    state.csrf = data.csrf_token;
    if (typeof data.user_id === "string") state.session = { ...(state.session || {}), ...data };
    syncReauthForm();
  }

  function session() {
    return state.session;
  }

  function retryAfterOf(res) {
    const raw = res && res.headers ? res.headers.get("Retry-After") : null;
    if (!raw) return undefined;
    const n = parseInt(raw, 10);
    if (!Number.isNaN(n)) return Math.max(0, n);
    const when = Date.parse(raw);
    return Number.isNaN(when) ? undefined : Math.max(0, Math.ceil((when - Date.now()) / 1000));
  }

  function errorOf(res, data) {
    const err = (data && data.error) || {};
    return new EngramError(
      res.status,
      err.code || STATUS_CODES[res.status] || "http_error",
      err.message || res.statusText || "request failed",
      retryAfterOf(res),
    );
  }

  /** The server's message, with the wait of a 429 in seconds. */
  function describe(e) {
    if (!e) return "error";
    let text = e.message || e.code || String(e);
    if (e.retryAfter !== undefined) text += ` Try again in ${e.retryAfter} second${e.retryAfter === 1 ? "" : "s"}.`;
    return text;
  }

  /** One request on the session cookie; no re-prompt. Resolves to {res, data}. */
  async function send(method, path, body) {
    const m = String(method || "GET").toUpperCase();
    const headers = { Accept: "application/json" };
    if (m !== "GET" && m !== "HEAD") {
      headers["Content-Type"] = "application/json";
      if (state.csrf) headers["X-CSRF-Token"] = state.csrf;
    }
    const init = { method: m, headers, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined && body !== null) init.body = JSON.stringify(body);
    let res;
    try {
      res = await fetch(path, init);
    } catch (e) {
      throw new EngramError(0, "network_error", `cannot reach the server (${e.message})`);
    }
    const text = res.status === 204 ? "" : await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    return { res, data };
  }

  function needsReauth(res, data) {
    return res.status === 403 && !!data && !!data.error && data.error.code === "reauth_required";
  }

  async function engramFetch(method, path, body) {
    let { res, data } = await send(method, path, body);
    if (needsReauth(res, data)) {
      await reauthenticate();
      ({ res, data } = await send(method, path, body)); // once: a second refusal is the answer
    }
    if (!res.ok) throw errorOf(res, data);
    if (isSession(data)) setSession(data);
    return data;
  }

  /** GET /v1/session: the Session, or null on 401. Other failures reject. */
  async function loadSession() {
    const { res, data } = await send("GET", "/v1/session");
    if (res.status === 401) return null;
    if (!res.ok) throw errorOf(res, data);
    setSession(data);
    return data;
  }

  // ---------------------------------------------------------------- the re-prompt

  function syncReauthForm() {
    const row = $("reauth-totp-row");
    if (row && state.session && state.session.totp_enabled) row.hidden = false;
  }

  function reauthMessage(text) {
    const box = $("reauth-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  /**
   * Asks for the password (and the TOTP or backup code) and POSTs /v1/session/reauth.
   * Concurrent refusals share one prompt. Rejects with 403 reauth_required when cancelled.
   */
  function reauthenticate() {
    if (state.prompt) return state.prompt;
    const dialog = $("reauth-dialog");
    const form = $("reauth-form");
    if (!dialog || !form) {
      return Promise.reject(new EngramError(403, "reauth_required", "Enter your password again to do this (the page has no prompt)."));
    }
    state.prompt = new Promise((resolve, reject) => {
      const password = $("reauth-password");
      const code = $("reauth-totp");
      const row = $("reauth-totp-row");
      const submit = $("reauth-submit");
      const cancel = $("reauth-cancel");
      const opener = document.activeElement;
      let settled = false;

      password.value = "";
      if (code) code.value = "";
      if (row) row.hidden = !(state.session && state.session.totp_enabled);
      const username = $("reauth-username");
      if (username) username.value = (state.session && state.session.user_id) || "";
      reauthMessage("");

      const finish = (ok, error) => {
        if (settled) return;
        settled = true;
        form.removeEventListener("submit", onSubmit);
        dialog.removeEventListener("close", onClose);
        if (cancel) cancel.removeEventListener("click", onCancel);
        password.value = "";
        if (code) code.value = "";
        submit.disabled = false;
        if (typeof dialog.close === "function" && dialog.open) dialog.close();
        else dialog.hidden = true;
        state.prompt = null;
        if (opener && typeof opener.focus === "function" && document.contains(opener)) opener.focus();
        if (ok) resolve();
        else reject(error);
      };
      const cancelled = () => new EngramError(403, "reauth_required", "Cancelled: this needs your password again.");
      const onClose = () => finish(false, cancelled());
      const onCancel = () => finish(false, cancelled());
      async function onSubmit(ev) {
        ev.preventDefault();
        if (!password.value) {
          reauthMessage("Enter your password.");
          password.focus();
          return;
        }
        const body = { password: password.value };
        if (code && row && !row.hidden && code.value.trim()) body.totp_code = code.value.trim();
        submit.disabled = true;
        reauthMessage("");
        let answer;
        try {
          answer = await send("POST", "/v1/session/reauth", body);
        } catch (e) {
          submit.disabled = false;
          reauthMessage(describe(e));
          return;
        }
        submit.disabled = false;
        const { res, data } = answer;
        if (res.ok) {
          setSession(data);
          finish(true);
          return;
        }
        const e = errorOf(res, data);
        if (e.code === "totp_required" && row) {
          row.hidden = false;
          reauthMessage(describe(e) || "Enter the code from your authenticator app or a backup code.");
          code.focus();
          return;
        }
        if (e.code === "invalid_totp" && code) {
          code.value = "";
          reauthMessage(describe(e));
          code.focus();
          return;
        }
        reauthMessage(describe(e));
        password.select();
        password.focus();
      }

      form.addEventListener("submit", onSubmit);
      dialog.addEventListener("close", onClose);
      if (cancel) cancel.addEventListener("click", onCancel);
      if (typeof dialog.showModal === "function") {
        if (!dialog.open) dialog.showModal();
      } else {
        dialog.hidden = false;
      }
      password.focus();
    });
    return state.prompt;
  }

  // ---------------------------------------------------------------- small shared helpers

  function fmtTime(value) {
    if (!value) return "";
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return String(value);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

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

  /**
   * The `next` query parameter when it is a path on this server ("/…", not "//…"), else `fallback`.
   */
  function safeNext(raw, fallback) {
    if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//") || raw.startsWith("/\\")) return fallback;
    if (/[\u0000-\u001f\u007f\\]/.test(raw)) return fallback;
    try {
      const u = new URL(raw, window.location.origin);
      if (u.origin !== window.location.origin) return fallback;
      return u.pathname + u.search + u.hash;
    } catch (_) {
      return fallback;
    }
  }

  window.engramFetch = engramFetch;
  window.EngramAccount = Object.freeze({
    EngramError, engramFetch, send, errorOf, describe, loadSession, setSession, session, reauthenticate,
    fmtTime, h, clear, safeNext,
  });
})();
