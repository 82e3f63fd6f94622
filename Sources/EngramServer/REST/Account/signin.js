// Engram sign-in page (/signin): user id, password, then a TOTP or backup code when the
// server answers 401 totp_required. On success it goes to `?next=` (a path on this server) or /me.
"use strict";

(() => {
  const A = window.EngramAccount;
  const $ = (id) => document.getElementById(id);

  function say(text, kind) {
    const box = $("signin-message");
    box.textContent = text || "";
    box.className = `message message-${kind || "error"}`;
    box.hidden = !text;
  }

  function nextPath() {
    const raw = new URLSearchParams(window.location.search).get("next");
    return A.safeNext(raw, "/me");
  }

  function totpShown() {
    return !$("signin-totp-row").hidden;
  }

  function showTotp() {
    $("signin-totp-row").hidden = false;
    $("signin-totp").required = true;
    $("signin-totp").value = "";
    $("signin-totp").focus();
  }

  let busy = false;

  async function submit(ev) {
    ev.preventDefault();
    if (busy) return;
    const user = $("signin-user").value.trim();
    const password = $("signin-password").value;
    const code = $("signin-totp").value.trim();
    if (!user) { say("Enter your user id."); $("signin-user").focus(); return; }
    if (!password) { say("Enter your password."); $("signin-password").focus(); return; }
    if (totpShown() && !code) { say("Enter the code from your authenticator app or a backup code."); $("signin-totp").focus(); return; }
    const body = { user_id: user, password };
    if (totpShown()) body.totp_code = code;

    busy = true;
    $("signin-submit").disabled = true;
    say("");
    let answer;
    try {
      answer = await A.send("POST", "/v1/session", body);
    } catch (e) {
      say(A.describe(e));
      return;
    } finally {
      busy = false;
      $("signin-submit").disabled = false;
    }
    const { res, data } = answer;
    if (res.ok) {
      $("signin-password").value = "";
      $("signin-totp").value = "";
      say("Signed in.", "info");
      // A session that may only enrol TOTP can do nothing else: /me shows the enrolment.
      const target = data && data.totp_enrolment_required ? "/me" : nextPath();
      window.location.assign(target);
      return;
    }
    const e = A.errorOf(res, data);
    if (e.code === "totp_required") {
      showTotp();
      say("Enter the code from your authenticator app or one of your backup codes.", "info");
      return;
    }
    if (e.code === "invalid_totp") {
      if (!totpShown()) showTotp();
      $("signin-totp").value = "";
      $("signin-totp").focus();
      say(A.describe(e));
      return;
    }
    if (e.code === "invalid_credentials") {
      $("signin-password").value = "";
      $("signin-password").focus();
    }
    say(A.describe(e));
  }

  function init() {
    $("signin-form").addEventListener("submit", submit);
    // Another user id: the code asked for the previous one no longer applies.
    $("signin-user").addEventListener("input", () => {
      if (!totpShown()) return;
      $("signin-totp-row").hidden = true;
      $("signin-totp").required = false;
      $("signin-totp").value = "";
    });
    $("signin-user").focus();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
