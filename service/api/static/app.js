// The web chat: REST to start a session, a WebSocket for the interview, and the graded report.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const headers = { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) };
const $ = (id) => document.getElementById(id);
let socket = null, current = null, candidateTurns = [], traps = [];
const user = () => $("user").value.trim() || "me";

async function api(path, options = {}) {
  const res = await fetch(path, { headers, ...options });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
  return body;
}

function addTurn(role, text) {
  const div = document.createElement("div");
  div.className = `turn ${role}`;
  div.textContent = text;
  $("transcript").appendChild(div);
  div.scrollIntoView({ block: "end" });
  if (role === "candidate") candidateTurns.push(div);
  return div;
}

async function loadTraps() {
  traps = await api("/traps");
  for (const t of traps) {
    const opt = document.createElement("option");
    opt.value = t.id; opt.textContent = `${t.id} — ${t.title}`;
    $("trap").appendChild(opt);
  }
  await renderCatalog();
}

const SERIES = { mlsd: "ML system design", llm: "LLM system design", adl: "Advanced deep learning" };
const titleOf = (id) => (traps.find((t) => t.id === id) || { title: id }).title;
const progressOf = () => api(`/users/${encodeURIComponent(user())}/progress`);

// The catalog by series, each trap with its difficulty, tags and this user's best score; or search hits.
async function renderCatalog(hits = null) {
  const box = $("catalog"); box.textContent = "";
  let best = {};
  try {
    for (const s of (await progressOf()).history) if (s.score !== null) best[s.trap_id] = Math.max(best[s.trap_id] ?? 0, s.score);
  } catch { best = {}; }
  const shown = hits ? hits.map((h) => traps.find((t) => t.id === h.id)).filter(Boolean) : traps;
  const groups = hits ? { "Closest to your search": shown } : Object.groupBy(shown, (t) => t.series);
  for (const [series, list] of Object.entries(groups)) {
    const h = document.createElement("h3"); h.textContent = SERIES[series] || series; box.append(h);
    const ul = document.createElement("ul"); ul.className = "cards";
    for (const t of list) {
      const li = document.createElement("li"); const b = document.createElement("button");
      b.type = "button"; b.className = "link"; b.textContent = `${t.id} — ${t.title}`;
      b.onclick = () => startSession({ user: user(), trap_id: t.id }).catch((e) => ($("setup-error").textContent = e.message));
      const meta = document.createElement("span"); meta.className = "muted";
      meta.textContent = ` ${t.difficulty} · ${t.tags.join(", ")}` + (t.id in best ? ` · best ${best[t.id]}/100` : "");
      li.append(b, meta); ul.append(li);
    }
    box.append(ul);
  }
}

let searching = null;
$("search").oninput = () => {
  clearTimeout(searching);
  searching = setTimeout(async () => {
    const q = $("search").value.trim();
    try { await renderCatalog(q ? await api(`/traps?q=${encodeURIComponent(q)}&k=8`) : null); }
    catch (e) { $("setup-error").textContent = e.message; }
  }, 250);
};

$("surprise").onclick = async () => {
  const seen = new Set((await progressOf().catch(() => ({ seen: [] }))).seen);
  const fresh = traps.filter((t) => !seen.has(t.id));
  const pool = fresh.length ? fresh : traps;
  await startSession({ user: user(), trap_id: pool[Math.floor(Math.random() * pool.length)].id })
    .catch((e) => ($("setup-error").textContent = e.message));
};

$("weakest").onclick = async () => {
  const topics = Object.entries((await progressOf().catch(() => ({ by_topic: {} }))).by_topic);
  if (!topics.length) { $("setup-error").textContent = "Finish an interview first: your weakest topic comes from your scores."; return; }
  const [topic] = topics.sort((a, b) => a[1].mean_score - b[1].mean_score)[0];
  await startSession({ user: user(), topic }).catch((e) => ($("setup-error").textContent = e.message));
};

function show(section) {
  for (const id of ["setup", "chat", "report", "history"]) $(id).hidden = !section.includes(id);
}
$("nav-home").onclick = () => { show(["setup"]); renderCatalog(); };
$("nav-history").onclick = () => showHistory().catch((e) => ($("setup-error").textContent = e.message));

// Past sessions with their scores, progress by topic, and a replay of any transcript with its report.
async function showHistory() {
  const p = await progressOf();
  show(["history"]);
  const prog = $("progress"); prog.textContent = "";
  const heading = (text) => { const h = document.createElement("h3"); h.textContent = text; prog.append(h); };
  heading("Average score by topic");
  for (const [topic, s] of Object.entries(p.by_topic)) {
    const row = document.createElement("div"); row.className = "bar";
    row.innerHTML = `<span></span><div class="track"><div class="fill"></div></div><span></span>`;
    row.children[0].textContent = `${topic} (${s.sessions})`;
    row.querySelector(".fill").style.width = `${s.mean_score}%`;
    row.children[2].textContent = `${s.mean_score}`;
    prog.append(row);
  }
  heading("Scores over time (the line is the pass mark, 60)");
  prog.append(scoreChart(p.history.filter((s) => s.score !== null)));
  const body = $("sessions").querySelector("tbody"); body.textContent = "";
  for (const s of [...p.history].reverse()) {
    const tr = document.createElement("tr");
    const when = new Date(s.started * 1000).toLocaleString();
    for (const text of [when, `${s.trap_id} — ${titleOf(s.trap_id)}`, s.score === null ? s.status : `${s.score}/100 ${s.verdict}`]) {
      const td = document.createElement("td"); td.textContent = text; tr.append(td);
    }
    const td = document.createElement("td"); const b = document.createElement("button");
    b.type = "button"; b.textContent = s.status === "finished" ? "Replay" : "Resume";
    b.onclick = () => replay(s.id); td.append(b); tr.append(td); body.append(tr);
  }
}

// Scores over time, one point per finished session, with the pass mark (60) as a line.
function scoreChart(done) {
  const ns = "http://www.w3.org/2000/svg", w = 600, h = 160, pad = 24;
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`); svg.setAttribute("role", "img"); svg.id = "score-chart";
  svg.setAttribute("aria-label", `Scores over time: ${done.map((s) => s.score).join(", ") || "none yet"}`);
  const y = (score) => h - pad - ((h - 2 * pad) * score) / 100;
  const x = (i) => pad + (done.length > 1 ? ((w - 2 * pad) * i) / (done.length - 1) : (w - 2 * pad) / 2);
  const line = (x1, y1, x2, y2, stroke) => {
    const l = document.createElementNS(ns, "line");
    Object.entries({ x1, y1, x2, y2, stroke }).forEach(([k, v]) => l.setAttribute(k, v)); svg.append(l);
  };
  line(pad, y(60), w - pad, y(60), "#999");
  done.forEach((s, i) => {
    if (i) line(x(i - 1), y(done[i - 1].score), x(i), y(s.score), "#0b57d0");
    const c = document.createElementNS(ns, "circle");
    Object.entries({ cx: x(i), cy: y(s.score), r: 4, fill: s.score >= 60 ? "#1a7f37" : "#b00020" }).forEach(([k, v]) => c.setAttribute(k, v));
    const t = document.createElementNS(ns, "title"); t.textContent = `${s.trap_id}: ${s.score}/100`; c.append(t); svg.append(c);
  });
  return svg;
}

async function replay(sessionId) {
  const view = await api(`/sessions/${encodeURIComponent(sessionId)}`);
  show(["chat"]);
  $("alternatives").textContent = "";
  if (view.status === "finished") {
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    $("transcript").textContent = ""; candidateTurns = [];
    view.transcript.forEach((t) => addTurn(t.role, t.content));
    $("composer").hidden = true;
    if (view.report) await showReport(view.report);
  } else {
    $("composer").hidden = false;
    connect(sessionId);  // its state message redraws the transcript
  }
}

// The turn budget: how many follow-ups there have been, of how many before the report.
function budget(state) {
  $("budget").textContent = state.status === "finished" ? ""
    : `Follow-up ${Math.min(state.follow_ups, state.max_follow_ups)} of ${state.max_follow_ups}; then the report (or finish at any time).`;
}

function connect(sessionId) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/sessions/${sessionId}${token ? `?token=${token}` : ""}`);
  socket.onmessage = (msg) => {
    const ev = JSON.parse(msg.data);
    if (ev.type === "state") {
      $("transcript").textContent = ""; candidateTurns = []; current = null;
      $("chat-error").textContent = ""; $("send").disabled = false;
      ev.transcript.forEach((t) => addTurn(t.role, t.content));
      budget(ev);
      if (ev.report) showReport(ev.report);
    } else if (ev.type === "token") {
      current = current || addTurn("interviewer", "");
      current.textContent += ev.text;
    } else if (ev.type === "interviewer") {
      if (current) current.textContent = ev.text; else addTurn("interviewer", ev.text);
      current = null;
    } else if (ev.type === "final") {
      current = null; $("send").disabled = false;
      (ev.reply.notices || []).forEach((n) => ($("chat-error").textContent = n));
      budget(ev.reply);
      if (ev.reply.status === "finished") showReport(ev.reply.report);
    } else if (ev.type === "error") {
      $("chat-error").textContent = ev.detail; $("send").disabled = false;
    }
  };
  socket.onclose = (e) => {
    if (e.code >= 4000) { $("chat-error").textContent = e.reason; return; }
    // Dropped (a server restart, a network blip): the session is saved, so connect again; its
    // state message redraws the transcript where it stopped.
    $("chat-error").textContent = "Connection lost; reconnecting…";
    setTimeout(() => connect(sessionId), 1000);
  };
}

const marks = new WeakMap();  // candidate turn -> its original text and the ranges marked in it

// Marks a quote inside the candidate's own words; every quote found in a turn stays marked.
function highlight(quote, className = "") {
  if (!quote) return;
  const norm = (s) => s.replace(/\s+/g, " ").toLowerCase();
  for (const div of candidateTurns) {
    const entry = marks.get(div) || { text: div.textContent, ranges: [] };
    const text = entry.text, idx = norm(text).indexOf(norm(quote).slice(0, 60));
    if (idx < 0) continue;
    // Map the normalised index back onto the original text (whitespace runs collapsed).
    let seen = 0, start = 0;
    for (; start < text.length && seen < idx; start++) if (!(/\s/.test(text[start]) && /\s/.test(text[start - 1] || ""))) seen++;
    entry.ranges.push([start, Math.min(text.length, start + quote.length), className]);
    marks.set(div, entry);
    div.textContent = "";
    let at = 0;
    for (const [from, to, cls] of [...entry.ranges].sort((a, b) => a[0] - b[0])) {
      if (to <= at) continue;  // inside a quote already marked
      div.append(text.slice(at, Math.max(from, at)));
      const mark = document.createElement("mark"); mark.className = cls; mark.textContent = text.slice(Math.max(from, at), to);
      div.append(mark);
      at = to;
    }
    div.append(text.slice(at));
    return;
  }
}

// Criteria are shown in their own words: the trap's rubric says what each id means.
async function criterionWords(trapId) {
  try {
    const detail = await api(`/traps/${encodeURIComponent(trapId)}`);
    return Object.fromEntries(detail.rubric.criteria.map((c) => [c.id, c.description]));
  } catch { return {}; }  // a reference-answer report, or the catalog out of reach: the ids will do
}

async function showReport(report) {
  const words = await criterionWords(report.trap_id);
  const box = $("report"); box.hidden = false; box.textContent = "";
  $("composer").hidden = true;
  const h = document.createElement("h2"); h.textContent = `${report.trap_id} — ${report.title}`; box.append(h);
  const v = document.createElement("p"); v.className = "verdict";
  v.textContent = `Score ${report.score}/100 — ${report.verdict}` + (report.hint_penalty ? ` (hints cost ${report.hint_penalty})` : "");
  box.append(v);
  const grade = report.grade || { criteria: [] };
  for (const c of grade.criteria) {
    const row = document.createElement("div"); row.className = "bar";
    row.innerHTML = `<span></span><div class="track"><div class="fill s${c.score}"></div></div><span></span>`;
    row.children[0].textContent = words[c.id] || c.id;
    row.querySelector(".fill").style.width = `${(100 * c.score) / c.max}%`;
    row.children[2].textContent = `${c.score}/${c.max}`;
    box.append(row);
    if (c.evidence) {
      const ev = document.createElement("p"); ev.className = "evidence"; ev.textContent = `“${c.evidence}”`; box.append(ev);
      highlight(c.evidence);
    }
  }
  for (const f of report.red_flags || []) {
    const p = document.createElement("p"); p.className = "flag"; p.textContent = `Fell into the trap: ${f.statement}`; box.append(p);
    const ev = document.createElement("p"); ev.className = "evidence flag-evidence"; ev.textContent = `You said: “${f.evidence}”`; box.append(ev);
    highlight(f.evidence, "flagged");
  }
  for (const [label, items] of [["Strong", report.strong], ["Missing", report.missing]]) {
    for (const item of items || []) { const p = document.createElement("p"); p.textContent = `${label}: ${item}`; box.append(p); }
  }
  for (const [label, text] of [["The trap", report.trap_explained], ["Model answer", report.model_answer]]) {
    const d = document.createElement("details"); const s = document.createElement("summary");
    s.textContent = label; d.append(s, text); box.append(d);
  }
  const dl = document.createElement("a"); dl.id = "download"; dl.textContent = "Download as Markdown";
  dl.download = `${report.trap_id.replace(":", "-")}-report.md`;
  dl.href = URL.createObjectURL(new Blob([markdown(report, words)], { type: "text/markdown" }));
  box.append(dl);
}

function markdown(report, words) {
  const grade = report.grade || { criteria: [] };
  const lines = [`# ${report.trap_id} — ${report.title}`, "", `**Score ${report.score}/100 — ${report.verdict}**`, ""];
  for (const c of grade.criteria) {
    lines.push(`- ${c.score}/${c.max} · ${words[c.id] || c.id}` + (c.evidence ? `\n  > ${c.evidence}` : ""));
  }
  for (const f of report.red_flags || []) lines.push("", `**Fell into the trap:** ${f.statement}`, `> ${f.evidence}`);
  for (const [label, items] of [["Strong", report.strong], ["Missing", report.missing]]) {
    if ((items || []).length) lines.push("", `## ${label}`, ...items.map((i) => `- ${i}`));
  }
  lines.push("", "## The trap", "", report.trap_explained || "", "", "## Model answer", "", report.model_answer || "");
  return lines.join("\n") + "\n";
}

async function startSession(body) {
  const reply = await api("/sessions", { method: "POST", body: JSON.stringify(body) });
  if (socket) { socket.onclose = null; socket.close(); }  // switching traps: the old session stays saved
  show(["chat"]); $("composer").hidden = false;
  showAlternatives(reply);
  connect(reply.session_id);
}

// A topic picks the closest trap; the next closest are one click away.
function showAlternatives(reply) {
  const box = $("alternatives"); box.textContent = "";
  if (!reply.alternatives || !reply.alternatives.length) return;
  box.append(`Chosen for your topic: ${reply.trap_id}. Also close: `);
  for (const alt of reply.alternatives) {
    const b = document.createElement("button"); b.type = "button"; b.className = "alt";
    b.textContent = `${alt.trap_id} — ${alt.title}`;
    b.onclick = () => startSession({ user: $("user").value || "me", trap_id: alt.trap_id })
      .catch((e) => ($("chat-error").textContent = e.message));
    box.append(b, " ");
  }
}

$("start").onclick = async () => {
  $("setup-error").textContent = "";
  try {
    const body = { user: $("user").value || "me" };
    if ($("trap").value) body.trap_id = $("trap").value; else if ($("topic").value.trim()) body.topic = $("topic").value;
    await startSession(body);
  } catch (e) { $("setup-error").textContent = e.message; }
};

function send(text) {
  if (!text || !socket) return;
  if (socket.readyState !== WebSocket.OPEN) { $("chat-error").textContent = "Not connected yet; try again in a moment."; return; }
  $("chat-error").textContent = ""; $("send").disabled = true;
  addTurn("candidate", text); $("message").value = "";
  socket.send(JSON.stringify({ message: text }));
}

$("composer").onsubmit = (e) => { e.preventDefault(); send($("message").value.trim()); };
$("hint").onclick = () => send("hint");
$("finish").onclick = () => send("finish");

loadTraps().catch((e) => ($("setup-error").textContent = e.message));
