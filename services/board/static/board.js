// The shift lead's live board. Plain ES module, no build step, no network beyond this API.
// Data arrives over Server-Sent Events (/api/board/stream): a snapshot, then updates. Timers tick
// here, from the due instants the server sent, corrected by the server's clock offset.
import { MILESTONES, TEXTS, fmt } from "./i18n.js";

const SL_TARGET = 0.8;
const STORM_KEEP_MS = 3600000;  // as the server's LiveBoard.storm_keep_ms
// Real-time channels first: they are the ones a shift lead can still act on within minutes.
const CHANNELS = ["phone", "messenger", "in_person", "email", "web", "post"];
const $ = (sel) => document.querySelector(sel);
const store = {
  get(k, d) { try { return localStorage.getItem("kontakt." + k) ?? d; } catch { return d; } },
  set(k, v) { try { localStorage.setItem("kontakt." + k, v); } catch { /* private mode */ } },
};
const state = {
  lang: store.get("lang", "ru") === "en" ? "en" : "ru",
  region: store.get("region", ""), channel: store.get("channel", ""),
  category: store.get("category", ""),
  // region-wide storm view (every tenant's storms), for keys with the region-storms scope
  regionStorms: store.get("regionStorms", "") === "1", mayRegionStorms: false, tenant: "",
  groups: new Map(), feed: new Map(), risks: new Map(), storms: new Map(), appealGroups: new Map(),
  regions: new Set(), offset: 0, source: null, retry: 1000, staffing: [],
  // region id -> { ru, en }: the server's one region table (streams/sla/regions.py), sent with
  // every snapshot; data and filters keep the ids, people read the names
  regionNames: {},
};
const t = (k) => TEXTS[state.lang][k] ?? TEXTS.ru[k] ?? k;
const now = () => Date.now() + state.offset;

function el(tag, attrs = {}, ...kids) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const kid of kids) if (kid !== null && kid !== undefined) node.append(kid);
  return node;
}

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), sec = String(s % 60).padStart(2, "0");
  if (d > 0) return `${d}${state.lang === "ru" ? " д " : "d "}${h}:${String(m).padStart(2, "0")}`;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}
const pct = (x) => (x === null || x === undefined ? "—" :
  new Intl.NumberFormat(state.lang, { style: "percent", maximumFractionDigits: 1 }).format(x));
const clockTime = (ms) => new Date(ms).toLocaleTimeString(state.lang === "ru" ? "ru-RU" : "en-GB");
const channelName = (c) => t(c) || c;
const milestoneName = (m) => MILESTONES[state.lang][m] || m;
// A region the table does not know shows as its id.
const regionName = (r) => (state.regionNames[r] && state.regionNames[r][state.lang]) || r;

// --- texts and language ------------------------------------------------------------------
function applyTexts() {
  document.documentElement.lang = state.lang;
  document.title = `${state.lang === "ru" ? "Контакт" : "Kontakt"} — ${t("title")}`;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  $("#lang-ru").setAttribute("aria-pressed", String(state.lang === "ru"));
  $("#lang-en").setAttribute("aria-pressed", String(state.lang === "en"));
  setConn($("#conn").dataset.state);
  renderAll();
}
function setLang(lang) { state.lang = lang; store.set("lang", lang); applyTexts(); }

function setConn(s) {
  $("#conn").dataset.state = s;
  $("#conn-text").textContent = t(s === "live" ? "live" : s === "offline" ? "offline" : "connecting");
}

// --- the stream ----------------------------------------------------------------------------
function connect() {
  if (state.source) state.source.close();
  const q = new URLSearchParams();
  if (state.region) q.set("region", state.region);
  if (state.channel) q.set("channel", state.channel);
  if (state.regionStorms && state.mayRegionStorms) q.set("storms", "region");
  setConn("connecting");
  const source = new EventSource(`/api/board/stream?${q}`);
  state.source = source;
  source.onopen = () => { state.retry = 1000; setConn("live"); };
  source.onerror = () => {
    setConn("offline");
    if (source.readyState === EventSource.CLOSED) {  // the server refused: check the login
      setTimeout(() => start(), state.retry);
      state.retry = Math.min(state.retry * 2, 15000);
    }
  };
  source.addEventListener("snapshot", (e) => load(JSON.parse(e.data)));
  source.addEventListener("update", (e) => apply(JSON.parse(e.data)));
  source.addEventListener("ping", (e) => { state.offset = JSON.parse(e.data).now - Date.now(); });
}

function load(snap) {
  state.offset = snap.now - Date.now();
  state.groups = new Map(snap.groups.map((g) => [g.key, g]));
  state.feed = new Map(snap.feed.slice().reverse().map((a) => [a.alert_id, a]));
  state.risks = new Map(snap.risks.map((r) => [r.key, r]));
  state.storms = new Map(snap.storms.map((s) => [s.alert_id, s]));
  state.appealGroups = new Map((snap.appeal_groups || []).map((g) => [g.key, g]));
  state.regionNames = snap.region_names || {};
  for (const item of [...snap.feed, ...snap.risks, ...snap.storms]) noteRegion(item.region);
  feedNodes.clear();
  $("#feed").replaceChildren();
  $("#tenant").textContent = snap.tenant;
  state.tenant = snap.tenant;
  setConn("live");
  renderAll();
}

function apply({ type, data }) {
  if (type === "group") { state.groups.set(data.key, data); schedule("groups"); }
  else if (type === "appeal_group") { state.appealGroups.set(data.key, data); schedule("customerTime"); }
  else if (type === "alert") {
    state.feed.delete(data.alert_id); state.feed.set(data.alert_id, data);
    while (state.feed.size > 300) state.feed.delete(state.feed.keys().next().value);
    schedule("feed");
  } else if (type === "risk") {
    if (data.removed) state.risks.delete(data.key); else state.risks.set(data.key, data);
    schedule("risks");
  } else if (type === "storm") { state.storms.set(data.alert_id, data); schedule("storms"); }
  else if (type === "ack") {
    for (const m of [state.feed, state.storms]) if (m.has(data.alert_id)) m.get(data.alert_id).ack = data;
    schedule("feed"); schedule("storms");
  } else if (type === "retract") {  // a breach withdrawn: struck through in place, off the risks
    if (state.feed.has(data.alert_id)) state.feed.get(data.alert_id).retracted = data.retracted;
    state.risks.delete(data.key);
    schedule("feed"); schedule("risks");
  }
  noteRegion(data.region);
}

// Updates can come by the hundred per second on a busy centre: render each panel at most
// every 150 ms, whatever the rate.
const dirty = new Set();
let renderTimer = null;
function schedule(part) {
  dirty.add(part);
  if (renderTimer === null) renderTimer = setTimeout(flush, 150);
}
function flush() {
  renderTimer = null;
  const parts = [...dirty];
  dirty.clear();
  const render = { groups: renderGroups, feed: renderFeed, risks: renderRisks, storms: renderStorms,
    customerTime: renderCustomerTime };
  for (const part of parts) render[part]();
}

// --- filters -------------------------------------------------------------------------------
// The category filter acts on the alerts and risks in the page (they carry the contact's
// customer_category); queue panels come from metric snapshots that are not split by category.
const PRIORITY = new Set(["disabled", "veteran", "vulnerable"]);
function inCategory(item) {
  const c = item.customer_category || "standard";
  return !state.category || (state.category === "priority" ? PRIORITY.has(c) : c === state.category);
}
// A repeat contact of an appeal (the worker links appeals live): "repeat: 3rd contact in 2 days".
function repeatNote(item) {
  const r = item.repeat;
  if (!r) return "";
  const w = r.within_ms;
  const days = Math.round(w / 86400000);
  const span = w == null ? "" : w >= 86400000 ? `${days} ${t(days === 1 ? "day" : "days")}`
    : w >= 3600000 ? `${Math.round(w / 3600000)} ${t("hours")}` : `${Math.max(1, Math.round(w / 60000))} ${t("minutes")}`;
  const nth = state.lang === "en" ? `${r.nth}${["th", "st", "nd", "rd"][(r.nth % 100 > 10 && r.nth % 100 < 14) || r.nth % 10 > 3 ? 0 : r.nth % 10]}` : `${r.nth}-е`;
  return ` · ${t("repeat")}: ${nth} ${t("contactN")}${span ? ` ${t("within")} ${span}` : ""}`;
}
const categoryNote = (item) => (PRIORITY.has(item.customer_category) ? ` · ${t(item.customer_category)}` : "");
function noteRegion(region) {
  if (!region || state.regions.has(region)) return;
  state.regions.add(region);
  renderRegionOptions();
}
// The region filter: values are ids (they go to the server), texts are names, in name order.
function renderRegionOptions() {
  const select = $("#f-region");
  const opts = [...state.regions].sort((a, b) => regionName(a).localeCompare(regionName(b), state.lang));
  select.replaceChildren(el("option", { value: "", "data-i18n": "all", text: t("all") }),
    ...opts.map((r) => el("option", { value: r, text: regionName(r) })));
  select.value = state.region;
}
function setupFilters() {
  const ch = $("#f-channel");
  for (const c of CHANNELS)
    ch.append(el("option", { value: c, "data-channel": c, text: channelName(c) }));
  if (state.region) noteRegion(state.region);
  ch.value = state.channel;
  $("#f-region").value = state.region;
  const changed = () => {
    state.region = $("#f-region").value; state.channel = ch.value;
    store.set("region", state.region); store.set("channel", state.channel);
    connect();
  };
  $("#f-region").addEventListener("change", changed);
  const cat = $("#f-category");
  cat.value = state.category;
  cat.addEventListener("change", () => {
    state.category = cat.value; store.set("category", state.category);
    schedule("feed"); schedule("risks");
  });
  ch.addEventListener("change", changed);
  const wide = $("#f-region-storms");
  wide.checked = state.regionStorms;
  wide.addEventListener("change", () => {
    state.regionStorms = wide.checked; store.set("regionStorms", wide.checked ? "1" : "");
    connect();
  });
  const name = $("#lead-name");
  name.value = store.get("leadName", "");
  name.addEventListener("change", () => store.set("leadName", name.value.trim()));
}

// --- rendering -----------------------------------------------------------------------------
function renderAll() {
  for (const o of document.querySelectorAll("#f-channel option[data-channel]")) o.textContent = channelName(o.value);
  renderRegionOptions(); renderStorms(); renderGroups(); renderRisks(); renderFeed(); renderStaffing();
  renderCustomerTime();
}

// The customer's time per category, live (appeals with a contact in the last 24 h, as the
// worker links them): disabled, veteran and vulnerable customers next to everyone else.
const CATEGORY_ORDER = ["disabled", "veteran", "vulnerable", "standard"];
function renderCustomerTime() {
  const sums = new Map();
  for (const g of state.appealGroups.values()) {
    const c = g.customer_category || "standard";
    const acc = sums.get(c) || { appeals: 0, contacts: 0, wait_ms: 0, fcr: 0 };
    for (const k of ["appeals", "contacts", "wait_ms", "fcr"]) acc[k] += g[k];
    sums.set(c, acc);
  }
  const rows = CATEGORY_ORDER.filter((c) => sums.has(c) && sums.get(c).appeals > 0);
  $("#customer-time tbody").replaceChildren(...rows.map((c) => {
    const a = sums.get(c);
    return el("tr", { "data-category": c, class: PRIORITY.has(c) ? "priority" : undefined },
      el("th", { scope: "row", text: t(c) }),
      el("td", { class: "num", text: String(a.appeals) }),
      el("td", { class: "num", text: duration(a.wait_ms / a.appeals) }),
      el("td", { class: "num", text: (a.contacts / a.appeals).toFixed(2) }),
      el("td", { class: "num", text: pct(a.fcr / a.appeals) }));
  }));
  $("#customer-time-empty").hidden = rows.length > 0;
}

function slCell(w) {
  if (!w) return el("td", { class: "num", text: "—" });
  const v = w.service_level;
  const low = v !== null && v !== undefined && v < SL_TARGET;
  return el("td", { class: "num" + (low ? " low" : "") }, low ? "▼ " : "", pct(v));
}

function renderGroups() {
  const order = (g) => [CHANNELS.indexOf(g.channel), regionName(g.region), g.office || ""];
  const rows = [...state.groups.values()].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1].localeCompare(y[1]) || x[2].localeCompare(y[2]);
  });
  const body = $("#groups tbody");
  body.replaceChildren(...rows.map((g) => {
    const w15 = g.windows["15m"], wd = g.windows.today;
    noteRegion(g.region);
    return el("tr", { "data-key": g.key },
      el("th", { scope: "row", text: channelName(g.channel) }),
      el("td", { "data-region": g.region,
        text: g.office ? `${regionName(g.region)} · ${g.office}` : regionName(g.region) }),
      el("td", { class: "num" + (g.waiting > 0 ? " busy" : ""), text: String(g.waiting) }),
      el("td", { class: "num longest", "data-longest": g.waiting > 0 ? g.longest_wait_ms : "",
        "data-as-of": g.longest_as_of, text: g.waiting > 0 ? duration(g.longest_wait_ms) : "—" }),
      slCell(w15), slCell(wd),
      el("td", { class: "num", text: wd && wd.asa_ms !== null ? duration(wd.asa_ms) : "—" }),
      el("td", { class: "num", text: pct(wd ? wd.abandon_rate : null) }),
      el("td", { class: "num" + (wd && wd.breaches > 0 ? " bad" : ""),
        text: wd ? String(wd.breaches) : "0" }));
  }));
  $("#groups-empty").hidden = rows.length > 0;
}

function statusBadge(kind, threshold) {
  const breached = kind === "breached";
  const label = breached ? t("breached") : t("warning");
  const extra = !breached && threshold ? ` · ${fmt(t("warnAt"), { pct: Math.round(threshold * 100) })}` : "";
  return el("span", { class: `badge ${breached ? "breached" : "warning"}` },
    el("span", { "aria-hidden": "true", text: breached ? "✖ " : "⚠ " }), label + extra);
}

// An open clock past its due instant has not been judged yet: the worker waits for late data
// before it raises the breach, so the page says "awaiting data", not "overdue".
function countdown(due, open = false) {
  return el("span", { class: "countdown", "data-due": due, "data-open": open, text: "" });
}

function renderRisks() {
  const items = [...state.risks.values()].filter(inCategory).sort((a, b) => a.due_at - b.due_at);
  $("#risks").replaceChildren(...items.map((r) => el("li", {
    class: `item ${r.status === "breached" ? "breached" : "warning"}`, "data-contact": r.contact_id },
    statusBadge(r.status === "breached" ? "breached" : "warning"),
    el("strong", { class: "contact", text: r.contact_id }),
    el("span", { class: "meta", text: `${milestoneName(r.milestone)} · ${regionName(r.region)} · ${channelName(r.channel)}${categoryNote(r)}${repeatNote(r)}` }),
    countdown(r.due_at, r.status === "open"))));
  $("#risks-empty").hidden = items.length > 0;
  tick();
}

function ackState(a) {
  if (!a.ack) return null;
  const parts = [];
  if (a.ack.acknowledged_at) parts.push(`✔ ${t("acked")} ${clockTime(a.ack.acknowledged_at)}, ${t("by")} ${a.ack.acknowledged_by}`);
  if (a.ack.follow_up) parts.push(`→ ${t(a.ack.follow_up === "called_back" ? "calledBack" : "escalated")}, ${a.ack.follow_up_by}`);
  return el("span", { class: "ackstate", text: parts.join(" · ") });
}

async function act(alertId, path, body, node) {
  const by = $("#lead-name").value.trim();
  const requestId = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
  node.disabled = true;
  try {
    const res = await fetch(`/api/alerts/${encodeURIComponent(alertId)}/${path}`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ by, request_id: requestId, ...body }),
    });
    if (!res.ok) throw new Error(String(res.status));
  } catch {
    node.disabled = false;
    node.closest("li, div").append(el("span", { class: "error", role: "alert", text: t("ackFailed") }));
  }
}

function actions(a) {
  const acked = a.ack && a.ack.acknowledged_at;
  const ack = el("button", { type: "button", class: "ack", disabled: acked ? true : undefined,
    "aria-label": `${t("ack")}: ${a.contact_id || regionName(a.region)}`, text: t("ack") });
  ack.addEventListener("click", () => act(a.alert_id, "ack", {}, ack));
  const follow = el("select", { class: "follow", "aria-label": `${t("followUp")}: ${a.contact_id || regionName(a.region)}` },
    el("option", { value: "", text: `${t("followUp")}…` }),
    el("option", { value: "called_back", text: t("calledBack") }),
    el("option", { value: "escalated", text: t("escalated") }));
  if (a.ack && a.ack.follow_up) follow.value = a.ack.follow_up;
  follow.addEventListener("change", () => { if (follow.value) act(a.alert_id, "follow-up", { action: follow.value }, follow); });
  return el("span", { class: "actions" }, ack, follow);
}

function retractedNote(a) {
  const r = a.retracted;
  const why = r.status === "cancelled" ? "retractedCancelled"
    : a.milestone === "phone.answer" ? "retractedCall" : "retractedMet";
  return el("span", { class: "retracted", title: r.reason || undefined,
    text: `${t("retracted")}: ${t(why)} · ${clockTime(r.at)}` });
}

function feedItem(a) {
  return el("li", {
    class: `item ${a.alert}${a.ack && a.ack.acknowledged_at ? " is-acked" : ""}${a.retracted ? " is-retracted" : ""}`,
    "data-alert-id": a.alert_id, "data-contact": a.contact_id },
    statusBadge(a.alert, a.threshold),
    el("strong", { class: "contact", text: a.contact_id }),
    el("span", { class: "meta", text: `${milestoneName(a.milestone)} · ${regionName(a.region)} · ${channelName(a.channel)}${categoryNote(a)}${repeatNote(a)} · ${clockTime(a.raised_at)}` }),
    a.retracted ? retractedNote(a) : null, ackState(a), a.retracted ? null : actions(a));
}

// The feed is updated in place, item by item, so that an item a lead is working on (its
// focused button or open select) is not rebuilt under the keyboard when others arrive.
const feedNodes = new Map();  // alert_id -> { sig, node }
function renderFeed() {
  const items = [...state.feed.values()].reverse().filter(inCategory).slice(0, 100);
  const list = $("#feed");
  const keep = new Set();
  items.forEach((a, i) => {
    const sig = JSON.stringify([a.alert, a.ack || null, a.retracted || null, a.repeat || null, state.lang]);
    let entry = feedNodes.get(a.alert_id);
    if (!entry || entry.sig !== sig) {
      const node = feedItem(a);
      if (entry && entry.node.isConnected) entry.node.replaceWith(node);
      entry = { sig, node };
      feedNodes.set(a.alert_id, entry);
    }
    keep.add(entry.node);
    const at = list.children[i];
    if (at !== entry.node) list.insertBefore(entry.node, at || null);
  });
  for (const [id, entry] of feedNodes) {
    if (!keep.has(entry.node)) { entry.node.remove(); feedNodes.delete(id); }
  }
  $("#feed-empty").hidden = items.length > 0;
}

// A storm is one tenant's; the region-wide view also shows other tenants' storms (named, and
// theirs to acknowledge) and tenant-less ones from before storms were per tenant.
function renderStorms() {
  const storms = [...state.storms.values()].filter((s) =>
    (!state.region || s.region === state.region) && s.window_end >= now() - STORM_KEEP_MS);
  $("#storms").replaceChildren(...storms.map((s) => {
    const own = s.tenant === state.tenant;
    const whose = own ? "" : ` · ${s.tenant || t("everyTenant")}`;
    return el("div", { class: "storm" + (own ? "" : " other"), "data-alert-id": s.alert_id,
      "data-tenant": s.tenant },
      el("span", { "aria-hidden": "true", text: "⚡ " }),
      el("strong", { text: `${t("storm")}: ${regionName(s.region)}${whose}` }),
      el("span", { text: " " + fmt(t("stormText"), { count: s.count, baseline: Math.round(s.baseline) }) }),
      ackState(s), own || (!s.tenant && state.mayRegionStorms) ? actions(s) : null);
  }));
}

function renderStaffing() {
  const rows = state.staffing;
  $("#staffing tbody").replaceChildren(...rows.map((r) => {
    const short = r.agents_active < r.agents_needed;
    const enter = el("button", { type: "button", class: "enter", text: t("enter") });
    enter.addEventListener("click", () => enterAgents(r));
    return el("tr", {},
      el("th", { scope: "row", "data-region": r.region, text: regionName(r.region) }),
      el("td", { text: r.queue }),
      el("td", { class: "num", text: String(r.arrivals_last_hour) }),
      el("td", { class: "num", text: duration(r.handle_s * 1000) }),
      el("td", { class: "num", title: fmt(t("target"), { sl: Math.round(r.target * 100), t: r.threshold_s }),
        text: String(r.agents_needed) }),
      el("td", { class: "num" + (short ? " low" : "") }, short ? "▼ " : "", String(r.agents_active),
        el("span", { class: "src", text: ` (${t(r.agents_source === "entered" ? "entered" : "fromEvents")}) ` }), enter));
  }));
  $("#staffing-empty").hidden = rows.length > 0;
}

async function loadStaffing() {
  try {
    const q = state.region ? `?region=${encodeURIComponent(state.region)}` : "";
    const res = await fetch(`/api/staffing${q}`);
    if (res.ok) { state.staffing = (await res.json()).queues; renderStaffing(); }
  } catch { /* next round */ }
}
async function enterAgents(row) {
  const answer = prompt(t("agentsPrompt"), String(row.agents_active));
  if (answer === null || !/^\d+$/.test(answer.trim())) return;
  await fetch("/api/staffing/agents", { method: "PUT", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ region: row.region, queue: row.queue, agents: Number(answer.trim()) }) });
  loadStaffing();
}

// --- staffing plan (GET /api/staffing/plan; docs/staffing.md) -------------------------------
state.plan = [];
function renderPlan() {
  const rows = state.plan;
  let current = null;
  $("#plan tbody").replaceChildren(...rows.map((r) => {
    const high = r.actual_calls !== null && r.actual_calls > r.forecast_calls * 1.2 + 2;
    const tr = el("tr", r.current ? { class: "current", "aria-current": "true" } : {},
      el("th", { scope: "row", text: `${r.interval_start.slice(11, 16)}–${r.interval_end.slice(11, 16)}` },
        r.current ? el("span", { class: "src", text: ` (${t("nowInterval")})` }) : ""),
      el("td", { "data-region": r.region, text: state.regionNames[r.region] ? regionName(r.region) : (r.region_name || r.region) }),
      el("td", { text: r.queue }),
      el("td", { class: "num", text: r.forecast_calls.toFixed(1) }),
      el("td", { class: "num" + (high ? " low" : ""), text: r.actual_calls === null ? "—" : String(r.actual_calls) }),
      el("td", { class: "num", text: duration(r.aht_s * 1000) }),
      el("td", { class: "num", text: String(r.agents_erlang_c) }),
      el("td", { class: "num busy", text: String(r.agents_erlang_a) }),
      el("td", { class: "num", text: String(r.agents_rostered) }),
      el("td", { class: "num", text: pct(r.expected_service_level) }),
      el("td", { class: "num", text: pct(r.expected_abandon_rate) }));
    if (r.current && !current) current = tr;
    return tr;
  }));
  $("#plan-empty").hidden = rows.some((r) => r.forecast_calls > 0 || r.actual_calls);
  if (current && !state.planScrolled) { current.scrollIntoView({ block: "nearest" }); state.planScrolled = true; }
}
async function loadPlan() {
  try {
    const q = state.region ? `?region=${encodeURIComponent(state.region)}` : "";
    const res = await fetch(`/api/staffing/plan${q}`);
    if (res.ok) { state.plan = (await res.json()).rows; renderPlan(); }
  } catch { /* next round */ }
}
$("#f-region").addEventListener("change", () => { state.planScrolled = false; loadPlan(); });
// after the language switch has run (its listener is added later)
for (const b of ["#lang-ru", "#lang-en"]) $(b).addEventListener("click", () => setTimeout(renderPlan, 0));
setInterval(loadPlan, 60000);

// --- ticking -------------------------------------------------------------------------------
function tick() {
  const n = now();
  $("#clock").textContent = clockTime(n);
  for (const node of document.querySelectorAll("[data-due]")) {
    const left = Number(node.dataset.due) - n;
    const awaiting = left < 0 && "open" in node.dataset;
    node.textContent = left >= 0 ? `${t("left")} ${duration(left)}`
      : awaiting ? t("awaiting") : `${t("overdue")} ${duration(-left)}`;
    node.classList.toggle("overdue", left < 0 && !awaiting);
    node.classList.toggle("awaiting", awaiting);
  }
  for (const node of document.querySelectorAll("[data-longest]")) {
    if (node.dataset.longest === "") continue;
    node.textContent = duration(Number(node.dataset.longest) + n - Number(node.dataset.asOf));
  }
}

// --- start ---------------------------------------------------------------------------------
async function start() {
  let res;
  try { res = await fetch("/api/board/me"); } catch { res = null; }
  if (res && res.status === 401) {
    $("#login").hidden = false; $("#board").hidden = true; $("#controls").hidden = true;
    $("#login-error").hidden = !location.search.includes("login=failed");
    if (state.source) state.source.close();
    setConn("offline");
    return;
  }
  if (!res || !res.ok) { setConn("offline"); setTimeout(start, state.retry); return; }
  const me = await res.json();
  $("#tenant").textContent = me.tenant;
  state.tenant = me.tenant;
  state.mayRegionStorms = me.scopes.includes("region-storms") || me.scopes.includes("admin");
  $("#region-storms").hidden = !state.mayRegionStorms;
  $("#login").hidden = true; $("#board").hidden = false; $("#controls").hidden = false;
  connect();
  loadStaffing();
  loadPlan();
}

$("#lang-ru").addEventListener("click", () => setLang("ru"));
$("#lang-en").addEventListener("click", () => setLang("en"));
setupFilters();
applyTexts();
setInterval(tick, 500);
setInterval(() => { loadStaffing(); schedule("storms"); }, 30000);
start();
