// Fan phone emulator. Talks only to /_sim/phone/api/*: the server signs and encrypts like WeChat.
"use strict";

const API = "/_sim/phone/api";
const POLL_MS = 2000;
const OUT_OF_SERVICE = "该公众号暂时无法提供服务，请稍后再试";
const SHOWN_STATUSES = new Set(["success"]);

const state = {
  openid: null,
  following: false,
  mode: "safe",
  inboxAfter: 0,
  pollTimer: null,
  menuJson: "[]",
};

const $ = (id) => document.getElementById(id);

// -- helpers ---------------------------------------------------------------------------------

function escapeHtml(text) {
  return String(text)
    .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

// Text replies may carry <a href="...">links</a> (WeChat renders them); everything else is text.
function richText(text) {
  const escaped = escapeHtml(text);
  return escaped.replace(
    /&lt;a href=(?:&quot;|&#39;)(https?:\/\/[^"'<>\s]+?)(?:&quot;|&#39;)&gt;(.*?)&lt;\/a&gt;/g,
    (_m, href, label) => `<a href="${href}" data-view="${href}">${label}</a>`,
  );
}

function timeOf(unixSeconds) {
  const d = unixSeconds ? new Date(unixSeconds * 1000) : new Date();
  return d.toLocaleString("zh-CN", { hour12: false });
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  let data = null;
  try { data = await response.json(); } catch (_e) { data = null; }
  if (!response.ok) {
    const detail = data && (data.detail || data.error) ? `${data.error}: ${data.detail}` : response.statusText;
    const error = new Error(detail);
    error.status = response.status;
    throw error;
  }
  return data;
}

function scrollChat() {
  const chat = $("chat");
  chat.scrollTop = chat.scrollHeight;
}

// -- rendering ---------------------------------------------------------------------------------

function addNode(node) {
  $("chat").appendChild(node);
  scrollChat();
  return node;
}

function systemNote(text, { error = false } = {}) {
  const div = document.createElement("div");
  div.className = "system" + (error ? " error" : "");
  div.dataset.testid = error ? "system-error" : "system-note";
  div.innerHTML = `<span>${escapeHtml(text)}</span>`;
  return addNode(div);
}

function messageRow(direction, inner, testid) {
  const row = document.createElement("div");
  row.className = `msg ${direction}`;
  const avatar = direction === "in" ? "证" : "我";
  row.innerHTML = `<div class="avatar-s">${avatar}</div>`;
  inner.dataset.testid = testid;
  row.appendChild(inner);
  return addNode(row);
}

function textBubble(direction, text, kind) {
  const bubble = document.createElement("div");
  bubble.className = "bubble";
  bubble.innerHTML = (kind ? `<span class="kind">${escapeHtml(kind)}</span>` : "") + richText(text);
  return messageRow(direction, bubble, direction === "in" ? "bubble-in" : "bubble-out");
}

function newsCard(articles, kind) {
  const card = document.createElement("div");
  card.className = "card news";
  const first = articles[0] || {};
  const img = first.pic_url || first.picurl
    ? `<img alt="" src="${escapeHtml(first.pic_url || first.picurl)}">`
    : escapeHtml(first.title || "");
  const more = articles.slice(1).map((a) =>
    `<a class="detail" href="#" data-view="${escapeHtml(a.url || "")}"><span>${escapeHtml(a.title)}</span><span>›</span></a>`,
  ).join("");
  card.innerHTML =
    `<span class="kind" style="padding:8px 14px 0">${escapeHtml(kind)}</span>` +
    `<div class="card-title">${escapeHtml(first.title || "")}</div>` +
    `<div class="news-img">${img}</div>` +
    `<div class="news-desc">${escapeHtml(first.description || "")}</div>` +
    (first.url ? `<a class="detail" href="#" data-view="${escapeHtml(first.url)}"><span>阅读全文</span><span>›</span></a>` : "") +
    more;
  return messageRow("in", card, "news-card");
}

function templateCard(entry) {
  const payload = entry.payload || {};
  const card = document.createElement("div");
  card.className = "card template";
  const rows = String(payload.content || "").split("\n").filter((l) => l.trim()).map((line) => {
    const at = line.search(/[：:]/);
    const label = at > 0 ? line.slice(0, at) : "";
    const value = at > 0 ? line.slice(at + 1) : line;
    return `<div class="field"><span class="label">${escapeHtml(label)}</span><span class="value">${escapeHtml(value)}</span></div>`;
  }).join("");
  const url = payload.url || "";
  const detail = url
    ? `<a class="detail" href="#" data-view="${escapeHtml(url)}" data-testid="template-detail"><span>详情</span><span>›</span></a>`
    : (payload.miniprogram ? `<span class="detail"><span>进入小程序查看</span><span>›</span></span>` : "");
  const hidden = !SHOWN_STATUSES.has(entry.status)
    ? `<div class="status-note">Not shown to the fan (${escapeHtml(entry.status)})</div>` : "";
  card.innerHTML =
    `<div class="card-title">${escapeHtml(payload.title || "模板消息")}</div>` +
    `<div class="card-time">${escapeHtml(timeOf(entry.time))}</div>` +
    `<div class="fields">${rows}</div>` + hidden + detail;
  if (hidden) card.style.opacity = "0.55";
  return messageRow("in", card, "template-card");
}

function miniCard(page, kind) {
  const card = document.createElement("div");
  card.className = "card mini";
  card.innerHTML =
    `<div class="mini-head">${escapeHtml(kind)} · 小程序</div>` +
    `<div class="card-title">${escapeHtml(page.title || "")}</div>` +
    `<div class="news-desc">${escapeHtml(page.pagepath || "")}</div>`;
  return messageRow("in", card, "mini-card");
}

function renderReply(reply) {
  if (reply.type === "text") return textBubble("in", reply.content);
  if (reply.type === "news") return newsCard(reply.articles, "图文消息");
  if (reply.type === "transfer_customer_service") return systemNote("已转接人工客服");
  return textBubble("in", `[${reply.type}] ${reply.media_id || ""}`);
}

function renderCustom(payload) {
  const kind = "客服消息";
  const type = payload.msgtype;
  const body = payload[type] || {};
  if (type === "text") return textBubble("in", body.content || "", kind);
  if (type === "news") return newsCard(body.articles || [], kind);
  if (type === "miniprogrampage") return miniCard(body, kind);
  return textBubble("in", `[${type}]`, kind);
}

function renderInboxEntry(entry) {
  if (entry.kind === "template") return templateCard(entry);
  if (entry.kind === "custom") return renderCustom(entry.payload || {});
  return systemNote(`[${entry.kind}]`);
}

function showDelivery(delivery) {
  $("last").textContent = JSON.stringify(delivery, null, 2);
  if (!delivery.delivered) {
    systemNote(OUT_OF_SERVICE, { error: true });
    return;
  }
  if (delivery.reply) renderReply(delivery.reply);
}

// -- menu -------------------------------------------------------------------------------------

function closePopup() {
  $("popup").hidden = true;
  $("popup").innerHTML = "";
}

function renderMenu(buttons) {
  const bar = $("menubar");
  bar.innerHTML = "";
  closePopup();
  state.menuJson = JSON.stringify(buttons);
  $("menu-hint").hidden = buttons.length > 0 || !state.following;
  buttons.forEach((button) => {
    const el = document.createElement("button");
    el.type = "button";
    el.textContent = button.name;
    el.dataset.testid = "menu-button";
    const subs = button.sub_button && button.sub_button.length ? button.sub_button : null;
    if (subs) el.classList.add("has-sub");
    el.addEventListener("click", () => (subs ? togglePopup(el, subs) : tapLeaf(button)));
    bar.appendChild(el);
  });
  const hasMenu = buttons.length > 0;
  $("menubar").hidden = !hasMenu;
  $("composer").hidden = hasMenu;
  $("toggle-input").hidden = !hasMenu;
}

function togglePopup(anchor, subs) {
  const popup = $("popup");
  if (!popup.hidden && popup.dataset.anchor === anchor.textContent) {
    closePopup();
    return;
  }
  popup.innerHTML = "";
  popup.dataset.anchor = anchor.textContent;
  subs.forEach((sub) => {
    const el = document.createElement("button");
    el.type = "button";
    el.textContent = sub.name;
    el.dataset.testid = "submenu-button";
    el.addEventListener("click", () => { closePopup(); tapLeaf(sub); });
    popup.appendChild(el);
  });
  const phone = document.querySelector(".phone").getBoundingClientRect();
  const rect = anchor.getBoundingClientRect();
  popup.hidden = false;
  const width = Math.max(rect.width - 8, 120);
  popup.style.width = `${width}px`;
  let left = rect.left - phone.left + (rect.width - width) / 2 - 10;
  left = Math.max(6, Math.min(left, phone.width - width - 26));
  popup.style.left = `${left}px`;
}

async function tapLeaf(button) {
  if (button.type === "click") {
    await act("/click", { key: button.key });
  } else if (button.type === "view") {
    const delivery = await act("/view", { url: button.url }, { quiet: true });
    if (delivery) openWebview(button.url);
  } else {
    systemNote(`「${button.name}」(${button.type}) is not emulated on this phone`);
  }
}

// -- actions ------------------------------------------------------------------------------------

async function act(path, body, { quiet = false } = {}) {
  if (!state.openid) return null;
  try {
    const delivery = await api("POST", path, { openid: state.openid, mode: state.mode, ...body });
    if (quiet && delivery.delivered && !delivery.reply) {
      $("last").textContent = JSON.stringify(delivery, null, 2);
    } else {
      showDelivery(delivery);
    }
    return delivery;
  } catch (error) {
    systemNote(error.message, { error: true });
    return null;
  } finally {
    pollInbox();
  }
}

async function follow(scan) {
  const delivery = await act("/follow", scan ? { scan } : {});
  if (delivery) await refreshFan();
}

async function unfollow() {
  const delivery = await act("/unfollow", {});
  if (delivery) {
    systemNote("已取消关注");
    await refreshFan();
  }
}

async function sendText(event) {
  event.preventDefault();
  const input = $("text");
  const content = input.value;
  if (!content.trim()) return;
  input.value = "";
  textBubble("out", content);
  await act("/text", { content });
}

function openWebview(url) {
  $("webview-title").textContent = url;
  $("webview-open").href = url;
  $("webview-frame").src = url;
  $("webview").hidden = false;
}

function closeWebview() {
  $("webview").hidden = true;
  $("webview-frame").src = "about:blank";
}

// -- fans, inbox ------------------------------------------------------------------------------

async function loadFans(selected) {
  const { fans } = await api("GET", "/fans");
  const select = $("fan");
  select.innerHTML = "";
  fans.forEach((fan) => {
    const option = document.createElement("option");
    option.value = fan.openid;
    option.textContent = `${fan.openid} ${fan.subscribe === 1 ? "(following)" : "(not following)"}`;
    select.appendChild(option);
  });
  if (selected && fans.some((f) => f.openid === selected)) select.value = selected;
  return fans;
}

async function fetchMenu() {
  if (!state.following) return [];
  const menu = await api("GET", `/menu?openid=${encodeURIComponent(state.openid)}`);
  return menu.button;
}

// WeChat clients pick up a newly published menu on their own; so does this phone.
async function refreshMenuIfChanged() {
  const buttons = await fetchMenu();
  if (JSON.stringify(buttons) !== state.menuJson) renderMenu(buttons);
}

async function refreshFan() {
  const fans = await loadFans(state.openid);
  const fan = fans.find((f) => f.openid === state.openid);
  state.following = Boolean(fan && fan.subscribe === 1);
  $("follow-panel").hidden = state.following;
  $("unfollow").disabled = !state.following;
  $("fan-status").textContent = `${state.openid} · ${state.following ? "following" : "not following"}`
    + (fan && fan.qr_scene_str ? ` · scene ${fan.qr_scene_str}` : "");
  renderMenu(await fetchMenu());
  if (!state.following) {
    $("menubar").hidden = true;
    $("composer").hidden = true;
    $("toggle-input").hidden = true;
  }
}

async function selectFan(openid) {
  state.openid = openid;
  state.inboxAfter = 0;
  localStorage.setItem("phone.openid", openid);
  $("chat").innerHTML = "";
  await refreshFan();
  await pollInbox();
}

async function newFan() {
  const fan = await api("POST", "/fans", {});
  await loadFans(fan.openid);
  await selectFan(fan.openid);
}

async function pollInbox() {
  if (!state.openid) return;
  const openid = state.openid;
  try {
    const { messages } = await api("GET", `/inbox/${encodeURIComponent(openid)}?after=${state.inboxAfter}`);
    if (openid !== state.openid) return;
    messages.forEach((entry) => {
      if (entry.seq <= state.inboxAfter) return;
      state.inboxAfter = entry.seq;
      renderInboxEntry(entry);
    });
  } catch (_error) {
    // The simulator may be restarting; the next poll tries again.
  }
}

// -- start ------------------------------------------------------------------------------------

async function start() {
  const config = await api("GET", "/config");
  $("webhook-url").textContent = config.webhook_url;
  state.mode = localStorage.getItem("phone.mode") || config.default_mode;
  $("mode").value = state.mode;
  $("clock").textContent = new Date().toTimeString().slice(0, 5);

  $("fan").addEventListener("change", (e) => selectFan(e.target.value));
  $("new-fan").addEventListener("click", newFan);
  $("follow").addEventListener("click", () => follow(null));
  $("unfollow").addEventListener("click", unfollow);
  $("scan-follow").addEventListener("click", () => {
    const scan = $("scan").value.trim();
    if (scan) follow(scan);
  });
  $("mode").addEventListener("change", (e) => {
    state.mode = e.target.value;
    localStorage.setItem("phone.mode", state.mode);
  });
  $("composer").addEventListener("submit", sendText);
  $("toggle-input").addEventListener("click", () => {
    closePopup();
    $("menubar").hidden = !$("menubar").hidden;
    $("composer").hidden = !$("composer").hidden;
    if (!$("composer").hidden) $("text").focus();
  });
  $("webview-close").addEventListener("click", closeWebview);
  $("chat").addEventListener("click", (e) => {
    const link = e.target.closest("[data-view]");
    if (!link) return;
    e.preventDefault();
    if (link.dataset.view) openWebview(link.dataset.view);
  });

  const fans = await loadFans(null);
  const linked = new URLSearchParams(window.location.search).get("openid");
  const remembered = localStorage.getItem("phone.openid");
  if (linked) {  // /_sim/phone?openid=... opens (or creates) that fan
    if (!fans.some((f) => f.openid === linked)) await api("POST", "/fans", { openid: linked });
    await loadFans(linked);
    await selectFan(linked);
  } else if (remembered && fans.some((f) => f.openid === remembered)) {
    await selectFan(remembered);
  } else {
    await newFan();
  }
  state.pollTimer = setInterval(() => {
    pollInbox();
    refreshMenuIfChanged().catch(() => {});
  }, POLL_MS);
  document.body.dataset.ready = "true";
}

start().catch((error) => {
  systemNote(`The emulator could not start: ${error.message}`, { error: true });
});
