// wardgate dashboard: plain JS, no build step. Every value from the server is put in the page
// with textContent (never innerHTML): event fields carry attacker-controlled text.
"use strict";

const TOKEN_KEY = "wardgate-admin-token";
const MAX_ROWS = 500;
const state = { cursor: null, filters: {}, lastId: "", events: new Map() };

function $(sel) { return document.querySelector(sel); }

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function token() {
  const match = location.hash.match(/token=([^&]+)/);
  if (match) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);  // keep the token out of the URL bar
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function needToken() {
  sessionStorage.removeItem(TOKEN_KEY);
  $("#app").hidden = true;
  $("#auth").hidden = false;
  $("#status").textContent = "token needed";
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
  if (response.status === 401) { needToken(); throw new Error("unauthorized"); }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

// -- events table ------------------------------------------------------------------------

function rulesOf(event) {
  return [...new Set((event.findings || []).map((f) => f.rule))].join(" ");
}

function shownAction(event) {
  return event.would_action ? `${event.action} (would ${event.would_action})` : event.action;
}

function eventRow(event, fresh) {
  const tr = el("tr", null, fresh ? "new" : "");
  tr.dataset.id = event.event_id;
  tr.appendChild(el("td", event.ts.replace("T", " ").replace("Z", "")));
  tr.appendChild(el("td", shownAction(event), "action action-" + event.action));
  tr.appendChild(el("td", event.transport));
  tr.appendChild(el("td", event.direction));
  tr.appendChild(el("td", event.method || ""));
  tr.appendChild(el("td", event.destination));
  tr.appendChild(el("td", rulesOf(event), "excerpt"));
  tr.addEventListener("click", () => showDetail(event));
  return tr;
}

function matches(event) {
  const f = state.filters;
  if (f.action && event.action !== f.action) return false;
  if (f.transport && event.transport !== f.transport) return false;
  if (f.destination && event.destination !== f.destination) return false;
  if (f.rule && !(event.findings || []).some((x) => x.rule === f.rule)) return false;
  return true;
}

function addLive(event) {
  if (state.events.has(event.event_id) || !matches(event)) return;
  state.events.set(event.event_id, event);
  const body = $("#events tbody");
  body.insertBefore(eventRow(event, true), body.firstChild);
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
}

async function loadEvents(reset) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state.filters)) if (v) params.set(k, v);
  params.set("limit", "100");
  if (!reset && state.cursor) params.set("cursor", state.cursor);
  const page = await api("/api/events?" + params.toString());
  const body = $("#events tbody");
  if (reset) { body.replaceChildren(); state.events.clear(); }
  for (const event of page.events) {
    if (state.events.has(event.event_id)) continue;
    state.events.set(event.event_id, event);
    body.appendChild(eventRow(event, false));
  }
  state.cursor = page.next_cursor;
  $("#more").hidden = !page.next_cursor;
}

function showDetail(event) {
  $("#detail").hidden = false;
  $("#detail-id").textContent = event.event_id;
  const fields = $("#detail-fields");
  fields.replaceChildren();
  for (const key of ["ts", "transport", "direction", "destination", "method", "url", "action",
                     "would_action", "mode", "status", "error", "bytes", "duration_ms", "tool", "session"]) {
    if (event[key] === undefined || event[key] === null) continue;
    fields.appendChild(el("dt", key));
    fields.appendChild(el("dd", event[key]));
  }
  const body = $("#detail-findings tbody");
  body.replaceChildren();
  for (const f of event.findings || []) {
    const tr = el("tr");
    for (const value of [f.rule, f.layer, f.severity, f.action || "", f.field || ""]) tr.appendChild(el("td", value));
    tr.appendChild(el("td", f.excerpt, "excerpt"));
    body.appendChild(tr);
  }
  if (!(event.findings || []).length) {
    const tr = el("tr");
    const td = el("td", "no findings", "muted");
    td.colSpan = 6;
    tr.appendChild(td);
    body.appendChild(tr);
  }
}

// -- live stream (SSE over fetch, so the token travels in a header, not the URL) -----------

async function stream() {
  for (let attempt = 0; attempt < 100000; attempt++) {
    try {
      const headers = { Authorization: "Bearer " + token() };
      if (state.lastId) headers["Last-Event-ID"] = state.lastId;
      const response = await fetch("/api/events/stream", { headers, cache: "no-store" });
      if (response.status === 401) { needToken(); return; }
      if (!response.ok || !response.body) throw new Error("stream refused");
      $("#live").textContent = "live";
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleFrame(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        if (buffer.length > 1 << 20) buffer = "";  // a frame never gets this big
      }
    } catch (err) {
      $("#live").textContent = "reconnecting";
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function handleFrame(frame) {
  let id = "", data = "", kind = "message";
  for (const line of frame.split("\n")) {
    if (line.startsWith("id: ")) id = line.slice(4);
    else if (line.startsWith("data: ")) data += line.slice(6);
    else if (line.startsWith("event: ")) kind = line.slice(7);
  }
  if (kind !== "audit" || !data) return;
  if (id) state.lastId = id;
  addLive(JSON.parse(data));
}

// -- summaries, approvals, status ----------------------------------------------------------

function fillList(selector, items, label) {
  const list = $(selector);
  list.replaceChildren();
  for (const item of items) list.appendChild(el("li", `${item[label]} — ${item.count}`));
  if (!items.length) list.appendChild(el("li", "none", "muted"));
}

async function loadStats() {
  const stats = await api("/api/stats?since=" + encodeURIComponent(state.filters.since || "24h"));
  fillList("#top-rules", stats.top_blocked_rules, "rule");
  fillList("#top-destinations", stats.top_blocked_destinations, "destination");
  const body = $("#traffic tbody");
  body.replaceChildren();
  for (const row of stats.traffic) {
    const tr = el("tr");
    for (const v of [row.destination, row.events, row.blocked, row.bytes]) tr.appendChild(el("td", v));
    body.appendChild(tr);
  }
}

async function decide(id, decision) {
  const remember = decision === "allow" ? Number($("#remember").value) : 0;
  try {
    await api("/api/approvals/" + encodeURIComponent(id), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ decision, remember_minutes: remember }),
    });
  } catch (err) {
    $("#status").textContent = "decision failed: " + err.message;
  }
  loadApprovals();
}

async function loadApprovals() {
  const { approvals } = await api("/api/approvals");
  const body = $("#approvals tbody");
  body.replaceChildren();
  for (const a of approvals) {
    const tr = el("tr");
    tr.dataset.id = a.id;
    const left = Math.max(0, Math.round(a.expires - Date.now() / 1000));
    for (const v of [a.id, a.destination, a.method, a.rule]) tr.appendChild(el("td", v));
    tr.appendChild(el("td", a.excerpt, "excerpt"));
    tr.appendChild(el("td", left + " s"));
    const cell = el("td");
    const allow = el("button", "Approve", "allow");
    allow.addEventListener("click", () => decide(a.id, "allow"));
    const deny = el("button", "Deny", "deny");
    deny.addEventListener("click", () => decide(a.id, "deny"));
    cell.append(allow, " ", deny);
    tr.appendChild(cell);
    body.appendChild(tr);
  }
  $("#approval-count").textContent = approvals.length;
  $("#no-approvals").hidden = approvals.length > 0;
}

// -- kill switch (the shared store's key: every wardgate on that store obeys it) ------------

let killswitchOn = false;

function showKillswitch(on) {
  killswitchOn = on;
  const button = $("#killswitch");
  button.hidden = false;
  button.textContent = on ? "Kill switch ON: resume traffic" : "Kill switch: stop all traffic";
  button.className = on ? "allow" : "deny";
}

async function loadKillswitch() {
  const { on } = await api("/api/killswitch");
  showKillswitch(on);
}

async function toggleKillswitch() {
  try {
    const { on } = await api("/api/killswitch", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ on: !killswitchOn }),
    });
    showKillswitch(on);
  } catch (err) {
    $("#status").textContent = "kill switch failed: " + err.message;
  }
}

async function loadStatus() {
  const response = await fetch("/healthz", { cache: "no-store" });
  const health = await response.json();
  $("#status").textContent = `${health.mode} mode · ${health.connections} connections · up ${Math.round(health.uptime_s)} s`;
}

function every(ms, fn) {
  const run = () => fn().catch(() => {}).finally(() => setTimeout(run, ms));
  run();
}

function start() {
  if (!token()) { needToken(); return; }
  $("#auth").hidden = true;
  $("#app").hidden = false;
  const form = $("#filters");
  state.filters = Object.fromEntries(new FormData(form).entries());
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    state.filters = Object.fromEntries(new FormData(form).entries());
    loadEvents(true).catch(() => {});
    loadStats().catch(() => {});
  });
  $("#more").addEventListener("click", () => loadEvents(false).catch(() => {}));
  $("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; });
  $("#killswitch").addEventListener("click", toggleKillswitch);
  loadEvents(true).catch(() => {});
  every(1000, loadApprovals);
  every(5000, loadStats);
  every(5000, loadStatus);
  every(2000, loadKillswitch);
  stream();
}

$("#token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token-input").value.trim());
  start();
});
start();
