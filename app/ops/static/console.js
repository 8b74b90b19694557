"use strict";
// Ops console: one script for every page. Data comes from /api/v1/ops; unsafe requests carry
// the session's CSRF token (synchronizer pattern). All text is inserted with textContent.
(function () {
  const API = "/api/v1/ops";
  const page = document.body.dataset.page;
  const main = document.getElementById("main");
  const RANK = { viewer: 1, operator: 2, approver: 3, admin: 4 };
  let me = null;

  // ---- helpers ----
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function flash(text) {
    const f = document.getElementById("flash");
    f.textContent = text;
    f.classList.add("show");
    setTimeout(() => f.classList.remove("show"), 3500);
  }
  // opts.quiet: the caller shows the error itself (inline, next to a form) instead of a flash.
  async function api(method, path, body, opts) {
    const headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRF-Token"] = me ? me.csrf_token : "";
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(API + path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status === 401) { window.location.assign("/console/login"); throw new Error("signed out"); }
    const data = r.status === 204 ? null : await r.json().catch(() => null);
    if (!r.ok) {
      const detail = (data && (data.detail || data.error)) || ("HTTP " + r.status);
      if (!(opts && opts.quiet)) flash(detail);
      const err = new Error(detail);
      err.status = r.status;
      err.data = data;
      throw err;
    }
    return data;
  }
  const can = (role) => me && RANK[me.role] >= RANK[role];
  const fmt = (t) => (t ? new Date(t).toLocaleString("zh-CN", { hour12: false }) : "—");
  const status = (s) => el("span", { class: "status " + s, "data-status": s }, s);
  function table(headers, rows) {
    return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", {}, h)))),
      el("tbody", {}, rows));
  }
  function card(label, value, id) {
    return el("div", { class: "card" }, el("div", { class: "label" }, label),
      el("div", { class: "value", id: id }, value));
  }

  // ---- dashboard ----
  const COLORS = { pending: "#9ca3af", queued: "#60a5fa", sending: "#3b82f6", sent: "#22c55e",
    delivered: "#15803d", failed: "#ef4444", expired: "#f59e0b" };
  async function dashboard() {
    const d = await api("GET", "/dashboard");
    const q = d.quota;
    main.replaceChildren(
      el("h2", {}, "Dashboard"),
      el("div", { class: "cards" },
        card("Subscribed fans", d.subscribed_fans, "kpi-fans"),
        card("Bound fans", d.bound_fans, "kpi-bound"),
        card(q.source === "wechat" ? "Template quota used (WeChat, " + fmt(q.as_of) + ")" : "Template quota used (estimate)",
          q.used + " / " + q.daily_limit, "kpi-quota"),
        card("Queue waiting", d.queue.waiting, "kpi-waiting"),
        card("Oldest waiting (s)", d.queue.lag_seconds === null ? "—" : Math.round(d.queue.lag_seconds), "kpi-lag"),
        card("Dead letters", d.queue.dead_letters, "kpi-dead"),
        card("Drafts awaiting", d.open_drafts, "kpi-drafts")),
      el("div", { class: "grid2" },
        el("div", { class: "panel" }, el("h3", {}, "Today's sends by alert type and status"),
          el("canvas", { id: "sends-chart", height: "220" })),
        el("div", { class: "panel" }, el("h3", {}, "Follows and unfollows per day"),
          el("canvas", { id: "follows-chart", height: "220" }))),
      el("div", { class: "grid2" },
        el("div", { class: "panel" }, el("h3", {}, "Failure codes today"),
          table(["errcode", "count"], d.failure_codes.map((r) => el("tr", {}, el("td", {}, r.label), el("td", {}, r.count))))),
        el("div", { class: "panel" }, el("h3", {}, "Queue depth by lane"),
          table(["lane", "entries"], Object.entries(d.queue.lanes).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v)))))));
    const types = [...new Set(d.sends_today.map((r) => r.label))];
    const statuses = [...new Set(d.sends_today.map((r) => r.status))];
    new window.Chart(document.getElementById("sends-chart"), {
      type: "bar",
      data: { labels: types, datasets: statuses.map((s) => ({
        label: s, backgroundColor: COLORS[s] || "#888",
        data: types.map((t) => (d.sends_today.find((r) => r.label === t && r.status === s) || { count: 0 }).count),
      })) },
      options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    new window.Chart(document.getElementById("follows-chart"), {
      type: "line",
      data: { labels: d.follows.map((r) => r.day.slice(5)), datasets: [
        { label: "follows", data: d.follows.map((r) => r.follows), borderColor: "#07c160", backgroundColor: "#07c160" },
        { label: "unfollows", data: d.follows.map((r) => r.unfollows), borderColor: "#ef4444", backgroundColor: "#ef4444" },
      ] },
      options: { animation: false, responsive: true, scales: { y: { beginAtZero: true } } },
    });
    document.body.dataset.ready = "dashboard";
  }

  // ---- pushes ----
  let pollTimer = null;
  function pushForm() {
    const kind = el("select", { id: "push-target-kind" }, el("option", { value: "topic" }, "topic"), el("option", { value: "segment" }, "segment"));
    const topic = el("select", { id: "push-topic" }, ["marketing", "all", "ipo", "trade", "watchlist", "financial"].map((t) => el("option", { value: t }, t)));
    const segment = el("input", { id: "push-segment", placeholder: "segment name, e.g. vip" });
    const category = el("select", { id: "push-category" }, ["marketing", "ipo", "trade", "watchlist", "financial"].map((t) => el("option", { value: t }, t)));
    const title = el("input", { id: "push-title", maxlength: "200" });
    const body = el("textarea", { id: "push-body", maxlength: "200" });
    const url = el("input", { id: "push-url", placeholder: "https://… (optional)" });
    const when = el("input", { id: "push-when", type: "datetime-local" });
    const submit = el("button", { id: "push-create", type: "submit" }, "Create draft");
    const form = el("form", { class: "panel", id: "push-form" }, el("h3", {}, "New push draft"),
      el("div", { class: "grid2" },
        el("div", {}, el("label", {}, "Target ", kind), el("label", {}, "Topic ", topic), el("label", {}, "Segment ", segment), el("label", {}, "Category (opt-out switch) ", category)),
        el("div", {}, el("label", {}, "Title ", title), el("label", {}, "Body ", body), el("label", {}, "Link ", url), el("label", {}, "Send at (empty: on approval) ", when))),
      submit);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const target = kind.value === "topic" ? { kind: "topic", topic: topic.value } : { kind: "segment", segment: segment.value };
      const payload = { target, title: title.value, body: body.value, category: category.value };
      if (url.value) payload.url = url.value;
      if (when.value) payload.scheduled_at = new Date(when.value).toISOString();
      const draft = await api("POST", "/pushes", payload);
      flash("Draft #" + draft.id + " created");
      await pushes(draft.id);
    });
    if (!can("operator")) submit.disabled = true;
    return form;
  }
  function phoneCard(preview) {
    const t = preview.template;
    return el("div", { class: "phone", id: "template-preview" },
      el("div", { class: "phone-title" }, "服务通知"),
      el("div", { class: "phone-body" },
        el("div", { class: "tpl-card" }, el("div", { class: "tpl-title" }, t.title),
          t.lines.map((line) => el("div", { class: "tpl-line" }, line)),
          el("div", { class: "tpl-link" }, "详情 ›"))));
  }
  async function showDraft(id) {
    const d = await api("GET", "/pushes/" + id);
    const box = document.getElementById("draft-detail");
    const actions = el("div", { class: "row" });
    const decide = async (verb) => { await api("POST", "/pushes/" + id + "/" + verb, {}); flash("Draft #" + id + ": " + verb); await pushes(id); };
    if (d.status === "pending_approval" && can("approver")) {
      actions.append(el("button", { id: "approve-draft", onclick: () => decide("approve") }, "Approve"),
        el("button", { id: "reject-draft", class: "danger", onclick: () => decide("reject") }, "Reject"));
    }
    if ((d.status === "pending_approval" || d.status === "scheduled") && can("operator")) {
      actions.append(el("button", { id: "cancel-draft", class: "secondary", onclick: () => decide("cancel") }, "Cancel"));
    }
    const info = el("div", {},
      el("h3", {}, "Draft #" + d.id + " ", status(d.status)),
      el("p", {}, "Target: " + d.target_label + " · by " + d.created_by_name + " · " + fmt(d.created_at)),
      d.approved_by_name ? el("p", {}, "Approved by " + d.approved_by_name + " · " + fmt(d.approved_at)) : null,
      d.scheduled_at ? el("p", {}, "Scheduled for " + fmt(d.scheduled_at)) : null,
      d.preview ? el("div", { id: "draft-numbers" },
        el("p", {}, "Recipients now (after preferences and quiet hours): ", el("b", { id: "preview-recipients" }, d.preview.recipients), " of " + d.preview.in_target + " in the target"),
        el("p", {}, "Quota it uses: ", el("b", { id: "preview-quota" }, d.preview.quota_cost), " template sends; remaining today: " + (d.preview.quota_remaining ?? "—") + " (" + d.preview.quota_source + ")")) : null,
      d.progress ? progressView(d.progress) : null,
      actions);
    box.replaceChildren(el("div", { class: "grid2" }, info, d.preview ? phoneCard(d.preview) : el("div")));
    clearTimeout(pollTimer);
    if (d.status === "sent" && d.progress && !finished(d.progress)) pollTimer = setTimeout(() => showDraft(id), 1500);
  }
  // Dead letters come from PostgreSQL (failed sends the worker dead-lettered), so the list
  // survives Redis losing its own; re-drive one after fixing its cause, or all of them.
  function deadLetterPanel(dead, redriveAll) {
    const rows = dead.items.map((d) => el("tr", { "data-dead": d.delivery_id },
      el("td", {}, d.delivery_id), el("td", {}, "#" + d.alert_id + " " + d.alert_type), el("td", {}, d.openid_masked),
      el("td", {}, d.template_id), el("td", {}, d.errcode ?? "—"), el("td", {}, d.error || ""), el("td", {}, d.attempts),
      el("td", {}, fmt(d.failed_at)),
      el("td", {}, can("operator") ? el("button", { type: "button", class: "secondary", "data-redrive": d.delivery_id, onclick: async () => {
        await api("POST", "/dead-letters/" + d.delivery_id + "/redrive", {});
        flash("Delivery #" + d.delivery_id + " re-driven");
        await pushes();
      } }, "Re-drive") : null)));
    const redisNote = dead.redis_list === null ? "Redis unavailable" : dead.redis_list + " on the worker's Redis list (also holds deferred customer-service replies)";
    return el("div", { class: "panel", id: "dead-letters" },
      el("h3", {}, "Dead letters: ", el("b", { id: "dead-count" }, dead.dead_letters)),
      dead.items.length ? table(["delivery", "alert", "fan", "template", "errcode", "error", "attempts", "failed at", ""], rows)
        : el("p", { class: "muted", id: "no-dead-letters" }, "No dead letters."),
      el("div", { class: "row" }, redriveAll, el("span", { class: "muted" }, redisNote)));
  }
  const finished = (p) => ["pending", "queued", "sending", "sent"].every((s) => !p[s]);
  function progressView(p) {
    const total = Object.values(p).reduce((a, b) => a + b, 0) || 1;
    const done = (p.delivered || 0) + (p.failed || 0) + (p.expired || 0);
    return el("div", { id: "draft-progress" }, el("h3", {}, "Progress"),
      el("div", { class: "bar" }, el("span", { style: "width:" + Math.round((100 * done) / total) + "%" })),
      table(["status", "count"], Object.entries(p).map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { "data-count": k }, v)))));
  }
  async function pushes(selected) {
    const [drafts, dead] = await Promise.all([api("GET", "/pushes"), api("GET", "/dead-letters")]);
    const redrive = el("button", { id: "redrive", class: "secondary", disabled: !can("operator"), onclick: async () => {
      const r = await api("POST", "/dead-letters/redrive", {});
      flash(r.redriven + " dead letters re-driven");
      await pushes();
    } }, "Re-drive all");
    main.replaceChildren(el("h2", {}, "Pushes"), pushForm(),
      el("div", { class: "panel" }, el("h3", {}, "Drafts"),
        table(["#", "title", "target", "status", "author", "created"], drafts.map((d) =>
          el("tr", { class: "clickable", "data-draft": d.id, onclick: () => showDraft(d.id) },
            el("td", {}, d.id), el("td", {}, d.title), el("td", {}, d.target_label), el("td", {}, status(d.status)),
            el("td", {}, d.created_by_name), el("td", {}, fmt(d.created_at)))))),
      el("div", { class: "panel", id: "draft-detail" }, el("p", { class: "muted" }, "Select a draft to preview it.")),
      deadLetterPanel(dead, redrive));
    if (selected) await showDraft(selected);
    document.body.dataset.ready = "pushes";
  }

  // ---- account: menu editor with a phone preview, keyword replies, articles ----
  let menuDef = { button: [] };
  let menuTarget = "default";
  function currentButtons() {
    if (menuTarget === "default") return menuDef.button;
    return menuDef.conditional[Number(menuTarget)].button;
  }
  function renderPhoneMenu() {
    const phone = document.getElementById("menu-phone-bar");
    if (!phone) return;
    phone.replaceChildren(...currentButtons().map((b) => {
      const top = el("div", { class: "menu-top" }, (b.sub_button ? "≡ " : "") + (b.name || ""));
      if (b.sub_button) {
        const sub = el("div", { class: "submenu", hidden: true }, b.sub_button.map((s) => el("div", {}, s.name || "")));
        top.append(sub);
        top.addEventListener("click", () => { sub.hidden = !sub.hidden; });
      }
      return top;
    }));
  }
  function leafFields(item, onChange) {
    const type = el("select", {}, ["click", "view", "miniprogram", "scancode_push", "location_select"].map((t) => el("option", { value: t, selected: item.type === t }, t)));
    const val = el("input", { value: item.key || item.url || "", placeholder: "key or url" });
    type.addEventListener("change", () => { item.type = type.value; onChange(); });
    val.addEventListener("input", () => { delete item.key; delete item.url; if (item.type === "view" || item.type === "miniprogram") item.url = val.value; else item.key = val.value; });
    return [type, val];
  }
  function renderMenuEditor() {
    const box = document.getElementById("menu-editor");
    const buttons = currentButtons();
    const rows = buttons.map((b, i) => {
      const name = el("input", { value: b.name || "", "data-menu-name": i });
      name.addEventListener("input", () => { b.name = name.value; renderPhoneMenu(); });
      const subs = (b.sub_button || []).map((s, j) => {
        const sname = el("input", { value: s.name || "" });
        sname.addEventListener("input", () => { s.name = sname.value; renderPhoneMenu(); });
        return el("div", { class: "row sub-row" }, sname, ...leafFields(s, renderMenuEditor),
          el("button", { type: "button", class: "secondary", onclick: () => { b.sub_button.splice(j, 1); renderMenuEditor(); } }, "✕"));
      });
      const addSub = el("button", { type: "button", class: "secondary", "data-add-sub": i, onclick: () => {
        if (!b.sub_button) { b.sub_button = []; delete b.type; delete b.key; delete b.url; }
        b.sub_button.push({ type: "click", name: "新菜单", key: "KEY_" + Date.now() }); renderMenuEditor();
      } }, "+ sub-button");
      return el("div", { class: "button-row" }, el("div", { class: "row" }, name,
        ...(b.sub_button ? [] : leafFields(b, renderMenuEditor)), addSub,
        el("button", { type: "button", class: "danger", onclick: () => { buttons.splice(i, 1); renderMenuEditor(); } }, "✕")), subs);
    });
    const add = el("button", { type: "button", id: "menu-add-top", class: "secondary", disabled: buttons.length >= 3, onclick: () => { buttons.push({ type: "click", name: "菜单", key: "KEY_" + Date.now() }); renderMenuEditor(); } }, "+ top button");
    box.replaceChildren(...rows, add);
    renderPhoneMenu();
  }
  async function account() {
    const versions = await api("GET", "/content/menus?limit=20").catch(() => []);
    const latest = versions[0];
    menuDef = latest ? JSON.parse(JSON.stringify(latest.definition)) : { button: [] };
    if (!menuDef.conditional) menuDef.conditional = [];
    const which = el("select", { id: "menu-which" }, el("option", { value: "default" }, "default menu (unbound fans)"),
      menuDef.conditional.map((c, i) => el("option", { value: String(i) }, "conditional: tag " + c.tag)));
    which.addEventListener("change", () => { menuTarget = which.value; renderMenuEditor(); });
    const problems = el("ul", { id: "menu-problems", class: "error" });
    const validate = el("button", { type: "button", id: "menu-validate", class: "secondary", onclick: async () => {
      const r = await api("POST", "/content/menus:validate", { definition: menuDef });
      problems.replaceChildren(...r.problems.map((p) => el("li", {}, p)));
      flash(r.valid ? "Menu is valid" : r.problems.length + " problems");
    } }, "Validate");
    const save = el("button", { type: "button", id: "menu-request", disabled: !can("operator"), onclick: async () => {
      const v = await api("POST", "/content/menus", { definition: menuDef, note: "console edit" });
      const req = await api("POST", "/menu-publications", { menu_version: v.version });
      flash("Version " + v.version + " saved; publication request #" + req.id + " awaits approval");
      await account();
    } }, "Save version & request publication");
    const requests = await api("GET", "/menu-publications");
    const reqRows = requests.map((r) => {
      const act = el("td", {});
      if (r.status === "pending_approval" && can("approver")) {
        act.append(el("button", { "data-approve-menu": r.id, onclick: async () => { await api("POST", "/menu-publications/" + r.id + "/approve", {}); flash("Published"); await account(); } }, "Approve & publish"),
          el("button", { class: "danger", onclick: async () => { await api("POST", "/menu-publications/" + r.id + "/reject", {}); await account(); } }, "Reject"));
      }
      return el("tr", {}, el("td", {}, r.id), el("td", {}, "v" + r.subject.menu_version), el("td", {}, status(r.status)), el("td", {}, r.created_by_name), el("td", {}, r.decided_by_name || "—"), act);
    });
    const campaigns = await campaignPanels();
    main.replaceChildren(el("h2", {}, "Account"),
      el("div", { class: "panel" }, el("h3", {}, "Menu editor" + (latest ? " (from version " + latest.version + ", " + latest.status + ")" : "")),
        el("div", { class: "grid2" },
          el("div", { class: "menu-editor" }, el("label", {}, "Menu ", which), el("div", { id: "menu-editor" }), el("div", { class: "row" }, validate, save), problems),
          el("div", { class: "phone", id: "menu-phone" }, el("div", { class: "phone-title" }, "示例证券"),
            el("div", { class: "phone-body" }), el("div", { class: "phone-menu", id: "menu-phone-bar" })))),
      el("div", { class: "panel" }, el("h3", {}, "Menu publication requests (four-eyes)"),
        table(["#", "version", "status", "requested by", "decided by", ""], reqRows)),
      el("div", { class: "grid2", id: "content-panels" }),
      campaigns);
    menuTarget = "default";
    renderMenuEditor();
    await renderContent();
    document.body.dataset.ready = "account";
  }

  // Keyword replies and articles: content's ops API. Operators create, edit and disable them
  // (audited with before/after; no four-eyes); viewers see the tables only. Validation errors
  // are shown inline under the form, as the API words them.
  function problemText(err) {
    const d = err.data;
    if (d && Array.isArray(d.errors)) {
      return d.errors.map((e) => e.loc.filter((p) => p !== "body").join(".") + ": " + e.msg).join("; ");
    }
    return err.message;
  }
  function toLocalInput(iso) {
    if (!iso) return "";
    const t = new Date(iso);
    return new Date(t.getTime() - t.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  }
  async function saveContent(path, id, payload, errorBox) {
    errorBox.textContent = "";
    try {
      const saved = await api(id ? "PATCH" : "POST", path + (id ? "/" + id : ""), payload, { quiet: true });
      flash((id ? "Saved #" : "Created #") + saved.id);
      await renderContent();
    } catch (err) {
      errorBox.textContent = problemText(err);
    }
  }
  function keywordPanel(replies, articles) {
    const titles = Object.fromEntries(articles.map((a) => [a.id, a.title]));
    const f = {
      keyword: el("input", { id: "kw-keyword", maxlength: "200", placeholder: "exact keyword or regular expression" }),
      match: el("select", { id: "kw-match" }, el("option", { value: "exact" }, "exact"), el("option", { value: "regex" }, "regex")),
      reply: el("textarea", { id: "kw-reply", maxlength: "2000", placeholder: "reply text (may be empty with an article)" }),
      article: el("select", { id: "kw-article" }, el("option", { value: "" }, "— no article card —"),
        articles.map((a) => el("option", { value: String(a.id) }, a.title))),
      priority: el("input", { id: "kw-priority", type: "number", min: "0", max: "10000", value: "100" }),
      active: el("input", { id: "kw-active", type: "checkbox", checked: true }),
    };
    const error = el("p", { id: "kw-error", class: "error" });
    const heading = el("h3", { id: "kw-form-title" }, "New keyword reply");
    let editing = null;
    const fill = (r) => {
      editing = r ? r.id : null;
      heading.textContent = r ? "Edit keyword reply #" + r.id : "New keyword reply";
      f.keyword.value = r ? r.keyword : "";
      f.match.value = r ? r.match_type : "exact";
      f.reply.value = r ? r.reply_text : "";
      f.article.value = r && r.article_id ? String(r.article_id) : "";
      f.priority.value = r ? String(r.priority) : "100";
      f.active.checked = r ? r.is_active : true;
      error.textContent = "";
    };
    const form = el("form", { id: "kw-form" }, heading,
      el("label", {}, "Keyword ", f.keyword), el("label", {}, "Match ", f.match), el("label", {}, "Reply ", f.reply),
      el("label", {}, "Article card ", f.article), el("label", {}, "Priority (lower wins) ", f.priority),
      el("label", {}, f.active, " active"), error,
      el("div", { class: "row" }, el("button", { id: "kw-save", type: "submit" }, "Save"),
        el("button", { type: "button", class: "secondary", onclick: () => fill(null) }, "New")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = { keyword: f.keyword.value, match_type: f.match.value, reply_text: f.reply.value,
        article_id: f.article.value ? Number(f.article.value) : null,
        priority: f.priority.value === "" ? null : Number(f.priority.value), is_active: f.active.checked };
      await saveContent("/content/keyword-replies", editing, payload, error);
    });
    const toggle = async (r) => {
      await api("PATCH", "/content/keyword-replies/" + r.id, { is_active: !r.is_active });
      flash((r.is_active ? "Disabled #" : "Enabled #") + r.id);
      await renderContent();
    };
    const rows = replies.map((r) => el("tr", { "data-reply": r.id },
      el("td", {}, r.keyword), el("td", {}, r.match_type), el("td", { "data-reply-text": r.id }, (r.reply_text || "").slice(0, 40)),
      el("td", {}, r.article_id ? titles[r.article_id] || "#" + r.article_id : "—"), el("td", {}, r.priority),
      el("td", {}, r.is_active ? "yes" : "no"),
      el("td", {}, can("operator") ? [
        el("button", { type: "button", class: "secondary", "data-edit-reply": r.id, onclick: () => fill(r) }, "Edit"),
        el("button", { type: "button", class: r.is_active ? "danger" : "secondary", "data-toggle-reply": r.id, onclick: () => toggle(r) }, r.is_active ? "Disable" : "Enable"),
      ] : null)));
    return el("div", { class: "panel", id: "keyword-replies" }, el("h3", {}, "Keyword replies"),
      table(["keyword", "match", "reply", "article", "priority", "active", ""], rows),
      can("operator") ? form : el("p", { class: "muted" }, "Read-only: operators edit keyword replies."));
  }
  function articlePanel(articles) {
    const f = {
      title: el("input", { id: "art-title", maxlength: "64" }),
      digest: el("input", { id: "art-digest", maxlength: "120" }),
      cover: el("input", { id: "art-cover", placeholder: "https://… (optional)" }),
      link: el("input", { id: "art-link", placeholder: "https://…" }),
      published: el("input", { id: "art-published", type: "datetime-local" }),
      active: el("input", { id: "art-active", type: "checkbox", checked: true }),
    };
    const error = el("p", { id: "art-error", class: "error" });
    const heading = el("h3", { id: "art-form-title" }, "New article");
    let editing = null;
    const fill = (a) => {
      editing = a ? a.id : null;
      heading.textContent = a ? "Edit article #" + a.id : "New article";
      f.title.value = a ? a.title : "";
      f.digest.value = a ? a.digest : "";
      f.cover.value = a ? a.cover_url : "";
      f.link.value = a ? a.link_url : "";
      f.published.value = a ? toLocalInput(a.published_at) : "";
      f.active.checked = a ? a.is_active : true;
      error.textContent = "";
    };
    const form = el("form", { id: "art-form" }, heading,
      el("label", {}, "Title ", f.title), el("label", {}, "Digest ", f.digest), el("label", {}, "Cover image ", f.cover),
      el("label", {}, "Link ", f.link), el("label", {}, "Published at (empty: now) ", f.published),
      el("label", {}, f.active, " active"), error,
      el("div", { class: "row" }, el("button", { id: "art-save", type: "submit" }, "Save"),
        el("button", { type: "button", class: "secondary", onclick: () => fill(null) }, "New")));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const payload = { title: f.title.value, digest: f.digest.value, cover_url: f.cover.value, link_url: f.link.value, is_active: f.active.checked };
      if (f.published.value) payload.published_at = new Date(f.published.value).toISOString();
      await saveContent("/content/articles", editing, payload, error);
    });
    const toggle = async (a) => {
      await api("PATCH", "/content/articles/" + a.id, { is_active: !a.is_active });
      flash((a.is_active ? "Withdrew #" : "Restored #") + a.id);
      await renderContent();
    };
    const rows = articles.map((a) => el("tr", { "data-article": a.id },
      el("td", {}, a.title), el("td", {}, (a.digest || "").slice(0, 40)), el("td", {}, fmt(a.published_at)),
      el("td", {}, a.is_active ? "yes" : "no"),
      el("td", {}, can("operator") ? [
        el("button", { type: "button", class: "secondary", "data-edit-article": a.id, onclick: () => fill(a) }, "Edit"),
        el("button", { type: "button", class: a.is_active ? "danger" : "secondary", "data-toggle-article": a.id, onclick: () => toggle(a) }, a.is_active ? "Withdraw" : "Restore"),
      ] : null)));
    return el("div", { class: "panel", id: "articles" }, el("h3", {}, "Articles"),
      table(["title", "digest", "published", "active", ""], rows),
      can("operator") ? form : el("p", { class: "muted" }, "Read-only: operators edit articles."));
  }
  async function renderContent() {
    const [replies, articles] = await Promise.all([
      api("GET", "/content/keyword-replies?limit=200").catch(() => []),
      api("GET", "/content/articles?limit=100").catch(() => []),
    ]);
    document.getElementById("content-panels").replaceChildren(keywordPanel(replies, articles), articlePanel(articles));
  }

  // Campaign channels with their QR codes, and the six-path conversion funnel (last 30 days).
  const PATHS = ["fan_to_app_user", "fan_to_customer", "app_user_to_fan", "app_user_to_customer", "customer_to_fan", "customer_to_app_user"];
  async function campaignPanels() {
    const end = new Date();
    const start = new Date(end.getTime() - 30 * 86400 * 1000);
    const range = "start=" + encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString());
    const channels = await api("GET", "/campaigns/channels?limit=100").catch(() => []);
    const funnel = await api("GET", "/campaigns/funnel?" + range).catch(() => null);
    const qr = (c) => (c.qr_image_url ? el("a", { href: c.qr_image_url, download: c.code + ".jpg", target: "_blank", rel: "noopener" }, "download QR") : "—");
    const rows = funnel ? [...funnel.rows, { ...funnel.totals, channel: "total" }] : [];
    return el("div", { class: "grid2" },
      el("div", { class: "panel", id: "channels" }, el("h3", {}, "Campaign channels"),
        table(["code", "name", "kind", "QR", "expires"], channels.map((c) => el("tr", {}, el("td", {}, c.code), el("td", {}, c.name), el("td", {}, c.kind), el("td", {}, qr(c)), el("td", {}, c.qr_permanent ? "permanent" : fmt(c.qr_expires_at)))))),
      el("div", { class: "panel", id: "funnel" }, el("h3", {}, "Conversion funnel, last 30 days (first touch) ",
          el("a", { href: API + "/campaigns/funnel.csv?" + range }, "CSV")),
        table(["channel", ...PATHS.map((p) => p.replaceAll("_", " "))], rows.map((r) => el("tr", {}, el("td", {}, r.channel || "(none)"), PATHS.map((p) => el("td", {}, r[p])))))));
  }

  // ---- fans ----
  async function fans() {
    const q = el("input", { id: "fan-query", placeholder: "openid, or ****1234 (last four digits of a bound account)" });
    const results = el("div", { id: "fan-results" });
    const detail = el("div", { id: "fan-detail" });
    const form = el("form", { class: "panel row" }, q, el("button", { type: "submit" }, "Search"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const rows = await api("GET", "/fans?q=" + encodeURIComponent(q.value));
      results.replaceChildren(table(["id", "openid", "subscribed", "last seen"], rows.map((f) =>
        el("tr", { class: "clickable", onclick: () => showFan(f.id, detail) }, el("td", {}, f.id), el("td", {}, f.openid_masked), el("td", {}, f.is_subscribed ? "yes" : "no"), el("td", {}, fmt(f.last_seen_at))))));
    });
    main.replaceChildren(el("h2", {}, "Fans"), form, el("div", { class: "panel" }, results), el("div", { class: "panel" }, detail),
      el("p", { class: "muted" }, "Personal data is masked; every search and view is recorded in the audit log."));
    document.body.dataset.ready = "fans";
  }
  async function showFan(id, box) {
    const f = await api("GET", "/fans/" + id);
    box.replaceChildren(el("h3", {}, "Fan " + f.openid_masked),
      el("p", {}, "Subscribed: " + (f.is_subscribed ? "yes" : "no") + " · scene: " + (f.subscribe_scene || "—") + " · since " + fmt(f.first_subscribed_at)),
      el("h3", {}, "Bindings"), table(["account", "type", "default"], f.bindings.map((b) => el("tr", {}, el("td", {}, b.account_no_masked), el("td", {}, b.account_type), el("td", {}, b.is_default ? "yes" : "")))),
      el("h3", {}, "Subscriptions"), el("pre", {}, JSON.stringify(f.preferences, null, 1)),
      el("h3", {}, "Watchlist"), el("pre", {}, JSON.stringify(f.watchlist, null, 1)),
      el("h3", {}, "Delivery history"), table(["#", "type", "status", "errcode", "created"], f.deliveries.map((d) => el("tr", {}, el("td", {}, d.id), el("td", {}, d.type), el("td", {}, status(d.status)), el("td", {}, d.errcode ?? ""), el("td", {}, fmt(d.created_at))))));
  }

  // ---- audit and staff (admin) ----
  async function audit() {
    const rows = await api("GET", "/audit?limit=200");
    const result = el("span", { id: "verify-result" });
    main.replaceChildren(el("h2", {}, "Audit log"),
      el("div", { class: "panel row" }, el("button", { id: "verify-audit", onclick: async () => {
        const r = await api("GET", "/audit/verify");
        result.textContent = r.ok ? "Chain intact: " + r.rows + " rows" : "BROKEN at seq " + r.first_bad_seq + ": " + r.reason;
      } }, "Verify hash chain"), result),
      el("div", { class: "panel" }, table(["seq", "when", "who", "action", "target", "from"], rows.map((r) =>
        el("tr", {}, el("td", {}, r.seq), el("td", {}, fmt(r.at)), el("td", {}, r.actor_name), el("td", {}, r.action), el("td", {}, r.target_type + (r.target_id ? " " + r.target_id : "")), el("td", {}, r.ip || ""))))));
    document.body.dataset.ready = "audit";
  }
  async function staff() {
    const [users, keys] = await Promise.all([api("GET", "/staff"), api("GET", "/api-keys")]);
    const u = el("input", { id: "staff-username", placeholder: "username" });
    const p = el("input", { id: "staff-password", type: "password", placeholder: "initial password (12+)" });
    const role = el("select", { id: "staff-role" }, Object.keys(RANK).map((r) => el("option", { value: r }, r)));
    const keyName = el("input", { id: "key-name", placeholder: "key name" });
    const keyRole = el("select", {}, Object.keys(RANK).map((r) => el("option", { value: r }, r)));
    const shown = el("code", { id: "new-key" });
    main.replaceChildren(el("h2", {}, "Staff and API keys"),
      el("div", { class: "panel" }, table(["id", "username", "role", "active", "last login"], users.map((x) =>
        el("tr", {}, el("td", {}, x.id), el("td", {}, x.username), el("td", {}, x.role), el("td", {}, x.is_active ? "yes" : "no"), el("td", {}, fmt(x.last_login_at))))),
        el("div", { class: "row" }, u, p, role, el("button", { onclick: async () => {
          await api("POST", "/staff", { username: u.value, display_name: u.value, password: p.value, role: role.value });
          await staff();
        } }, "Add staff"))),
      el("div", { class: "panel" }, table(["id", "name", "role", "created by", "revoked"], keys.map((k) =>
        el("tr", {}, el("td", {}, k.id), el("td", {}, k.name), el("td", {}, k.role), el("td", {}, k.created_by), el("td", {}, k.revoked_at ? fmt(k.revoked_at) : "")))),
        el("div", { class: "row" }, keyName, keyRole, el("button", { onclick: async () => {
          const k = await api("POST", "/api-keys", { name: keyName.value, role: keyRole.value });
          shown.textContent = "New key (shown once): " + k.key;
        } }, "Create API key"), shown)));
    document.body.dataset.ready = "staff";
  }

  const PAGES = { dashboard, pushes, account, fans, audit, staff };
  async function start() {
    me = await api("GET", "/me");
    document.getElementById("whoami").textContent = me.name + " (" + me.role + ")";
    for (const a of document.querySelectorAll("#nav a")) {
      if (a.dataset.nav === page) a.classList.add("active");
      if (a.dataset.role && !can(a.dataset.role)) a.remove();
    }
    document.getElementById("logout").addEventListener("click", async () => {
      await api("DELETE", "/session");
      window.location.assign("/console/login");
    });
    await PAGES[page]();
  }
  start();
})();
