"use strict";
// Login: fetch a double-submit CSRF token (cookie + header), then POST the credentials as JSON.
(function () {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  async function csrf() {
    const r = await fetch("/api/v1/ops/session/csrf", { credentials: "same-origin" });
    return (await r.json()).csrf_token;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const token = await csrf();
    const r = await fetch("/api/v1/ops/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token },
      body: JSON.stringify({
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      }),
    });
    if (r.ok) {
      window.location.assign("/console/dashboard");
      return;
    }
    const body = await r.json().catch(() => ({}));
    error.textContent = body.detail || "Sign-in failed (" + r.status + ")";
  });
})();
