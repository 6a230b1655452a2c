// The web chat: REST to start a session, a WebSocket for the interview, and the graded report.
"use strict";
const token = new URLSearchParams(location.search).get("token");
const headers = { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) };
const $ = (id) => document.getElementById(id);
let socket = null, current = null, candidateTurns = [], traps = [];
// The message in flight, until its turn is saved: a turn the service could not save (the database was
// locked or gone) or a connection lost before the reply puts it back in the box, to send again.
let pending = null;
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
    row.children[0].textContent = `${SERIES[topic] || topic} (${s.sessions})`;
    row.querySelector(".fill").style.width = `${s.mean_score}%`;
    row.children[2].textContent = `${s.mean_score}`;
    prog.append(row);
  }
  heading("Progress by topic over time (the grey line is the pass mark, 60)");
  prog.append(topicChart(p.history));
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

// Progress by topic over time: a line per series through its finished sessions, in the order they
// finished, over the pass mark (60). Colour, dash and marker shape each tell the series apart (colour
// is never the only cue); the legend names them in words and the SVG's <title>/<desc> say it all.
const STYLES = [  // Okabe–Ito colours, each at least 3:1 against white (WCAG 1.4.11, non-text contrast)
  { stroke: "#0072B2", dash: "", marker: "circle" },
  { stroke: "#D55E00", dash: "9 4", marker: "square" },
  { stroke: "#009E73", dash: "2 3", marker: "triangle" },
  { stroke: "#CC79A7", dash: "12 3 2 3", marker: "diamond" },
];
const SVG_NS = "http://www.w3.org/2000/svg";
const seriesOf = (id) => (traps.find((t) => t.id === id) || {}).series || id.split("-")[0];
const dayOf = (t) => new Date(t * 1000).toLocaleDateString();

function svgEl(tag, attrs, parent) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (parent) parent.append(e);
  return e;
}

function marker(shape, cx, cy, style, parent) {
  const r = 5, common = { fill: style.stroke, stroke: "#fff", "stroke-width": 1.5, class: "point" };
  if (shape === "circle") return svgEl("circle", { cx, cy, r, ...common }, parent);
  if (shape === "square") return svgEl("rect", { x: cx - r, y: cy - r, width: 2 * r, height: 2 * r, ...common }, parent);
  const pts = shape === "triangle" ? [[0, -r - 1], [r + 1, r], [-r - 1, r]] : [[0, -r - 1], [r + 1, 0], [0, r + 1], [-r - 1, 0]];
  return svgEl("polygon", { points: pts.map(([dx, dy]) => `${cx + dx},${cy + dy}`).join(" "), ...common }, parent);
}

function topicChart(history) {
  const done = history.filter((s) => s.score !== null)
    .sort((a, b) => (a.finished ?? a.started) - (b.finished ?? b.started));
  const figure = document.createElement("figure"); figure.className = "chart";
  if (!done.length) { figure.textContent = "Finish an interview to see your progress by topic."; return figure; }
  const present = new Set(done.map((s) => seriesOf(s.trap_id)));
  const every = [...new Set([...Object.keys(SERIES), ...present])];  // a series keeps its style whoever is looking
  const names = every.filter((n) => present.has(n));
  const words = (n) => SERIES[n] || n;
  const w = 600, h = 200, left = 58, right = 14, top = 12, bottom = 30;
  const y = (score) => top + ((h - top - bottom) * (100 - score)) / 100;
  const x = (i) => left + (done.length > 1 ? ((w - left - right) * i) / (done.length - 1) : (w - left - right) / 2);
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, role: "img", id: "score-chart", "aria-labelledby": "chart-title chart-desc" });
  svgEl("title", { id: "chart-title" }, svg).textContent = "Progress by topic over time";
  const desc = svgEl("desc", { id: "chart-desc" }, svg);
  desc.textContent = `Scores out of 100, in the order the interviews finished, one line per topic; the pass mark is 60. `
    + names.map((n) => `${words(n)}: ${done.filter((s) => seriesOf(s.trap_id) === n).map((s) => s.score).join(", ")}.`).join(" ");
  for (const score of [0, 60, 100]) {
    svgEl("line", { x1: left, x2: w - right, y1: y(score), y2: y(score), stroke: score === 60 ? "#767676" : "#ddd" }, svg);
    const t = svgEl("text", { x: left - 6, y: y(score) + 4, "text-anchor": "end", class: "axis" }, svg);
    t.textContent = score === 60 ? "pass 60" : `${score}`;
  }
  const first = svgEl("text", { x: left, y: h - 8, class: "axis" }, svg); first.textContent = dayOf(done[0].finished ?? done[0].started);
  if (done.length > 1) {
    const last = done.at(-1);
    const t = svgEl("text", { x: w - right, y: h - 8, "text-anchor": "end", class: "axis" }, svg);
    t.textContent = dayOf(last.finished ?? last.started);
  }
  const legend = document.createElement("ul"); legend.className = "legend";
  for (const name of names) {
    const style = STYLES[every.indexOf(name) % STYLES.length];
    const points = done.map((s, i) => [s, i]).filter(([s]) => seriesOf(s.trap_id) === name);
    const g = svgEl("g", { class: "series", "data-series": name }, svg);
    if (points.length > 1) {
      svgEl("polyline", {
        points: points.map(([s, i]) => `${x(i)},${y(s.score)}`).join(" "), fill: "none",
        stroke: style.stroke, "stroke-width": 2.5, "stroke-dasharray": style.dash,
      }, g);
    }
    for (const [s, i] of points) {
      const m = marker(style.marker, x(i), y(s.score), style, g);
      svgEl("title", {}, m).textContent = `${words(name)} — ${s.trap_id}: ${s.score}/100`;
    }
    const li = document.createElement("li");
    const swatch = svgEl("svg", { viewBox: "0 0 36 12", width: 36, height: 12, "aria-hidden": "true" });
    svgEl("line", { x1: 0, x2: 36, y1: 6, y2: 6, stroke: style.stroke, "stroke-width": 2.5, "stroke-dasharray": style.dash }, swatch);
    marker(style.marker, 18, 6, style, swatch);
    const scores = points.map(([s]) => s.score);
    li.append(swatch, `${words(name)}: ${scores.join(", ")} (latest ${scores.at(-1)}/100)`);
    legend.append(li);
  }
  figure.append(svg, legend);
  return figure;
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
    if (view.report) await showReport(view.report, sessionId);
  } else {
    $("composer").hidden = false;
    connect(sessionId);  // its state message redraws the transcript
    $("message").focus();
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
      if (pending && !ev.transcript.some((t) => t.role === "candidate" && t.content === pending.text)) unsent("");
      pending = null;
      budget(ev);
      if (ev.report) showReport(ev.report, sessionId);
    } else if (ev.type === "token") {
      current = current || addTurn("interviewer", "");
      current.textContent += ev.text;
    } else if (ev.type === "interviewer") {
      if (current) current.textContent = ev.text; else addTurn("interviewer", ev.text);
      current = null;
    } else if (ev.type === "final") {
      current = null; pending = null; $("send").disabled = false;
      (ev.reply.notices || []).forEach((n) => ($("chat-error").textContent = n));
      budget(ev.reply);
      if (ev.reply.status === "finished") showReport(ev.reply.report, sessionId);
    } else if (ev.type === "error") {
      $("send").disabled = false;
      if (pending && ev.status >= 500) unsent(ev.detail); else $("chat-error").textContent = ev.detail;
      pending = null;
    }
  };
  socket.onclose = (e) => {
    if (e.code >= 4000) { $("chat-error").textContent = e.reason; return; }
    if (e.code === 1013) {  // the service cannot read the session now (its database): try again shortly
      $("chat-error").textContent = `${e.reason} Reconnecting…`;
      setTimeout(() => connect(sessionId), 3000);
      return;
    }
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

async function showReport(report, sessionId) {
  const [words, ledger] = await Promise.all([criterionWords(report.trap_id), decisionsOf(sessionId)]);
  const box = $("report"); box.hidden = false; box.textContent = "";
  const placed = new Set();
  // The decisions that match, each with its number and a Dispute button, listed where the report shows them.
  const decided = (match) => {
    const mine = ledger.decisions.filter((d) => !placed.has(d.key) && match(d));
    mine.forEach((d) => placed.add(d.key));
    if (mine.length) box.append(decisionList(mine, sessionId));
  };
  $("composer").hidden = true;
  const h = document.createElement("h2"); h.textContent = `${report.trap_id} — ${report.title}`; box.append(h);
  h.id = "report-title"; h.tabIndex = -1;  // focus lands here: the finish button it replaces is gone
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
    decided((d) => d.key === `criterion:${c.id}` || d.key.startsWith(`point:${c.id}/`));
  }
  for (const f of report.red_flags || []) {
    const p = document.createElement("p"); p.className = "flag"; p.textContent = `Fell into the trap: ${f.statement}`; box.append(p);
    const ev = document.createElement("p"); ev.className = "evidence flag-evidence"; ev.textContent = `You said: “${f.evidence}”`; box.append(ev);
    highlight(f.evidence, "flagged");
    decided((d) => d.key === `flag:${f.id}`);
  }
  // A trap claim the answer said only in part was asked about; the reply settled it (or not).
  const settled = { kept: "you kept it, so it counts as the trap", dropped: "you dropped it, so it does not count", unclear: "your reply did not settle it" };
  for (const c of report.checked_flags || []) {
    const p = document.createElement("p"); p.className = "checked-flag";
    p.textContent = `Asked: ${c.question} You said: “${c.reply}” — ${settled[c.outcome] || c.outcome}.`;
    box.append(p);
  }
  decided(() => true);  // the traps the grade could not settle either way
  for (const d of ledger.settled) {  // an accepted dispute can take its decision away (a trap no longer raised)
    const p = document.createElement("p"); p.className = "dispute-state";
    p.textContent = `Decision ${d.number} (“${clip(d.statements[0]?.text ?? d.decision)}”): ${disputeText(d)}`;
    box.append(p);
  }
  for (const a of (report.grade || {}).amendments || []) {  // decisions a reviewer changed after a dispute
    const p = document.createElement("p"); p.className = "amendment"; p.textContent = `Changed after a dispute: ${a}`; box.append(p);
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
  h.focus();
}

// The report's decisions, numbered as disputes name them, each with its latest dispute; and the latest
// disputes of decisions the report no longer has. Nothing to dispute where the service cannot say.
async function decisionsOf(sessionId) {
  const at = `/sessions/${encodeURIComponent(sessionId)}`;
  try {
    const [decisions, disputes] = await Promise.all([api(`${at}/decisions`), api(`${at}/disputes`)]);
    const latest = new Map(disputes.map((d) => [d.decision, d]));  // oldest first: the last one stands
    const keys = new Set(decisions.map((d) => d.key));
    return {
      decisions: decisions.map((d) => ({ ...d, dispute: latest.get(d.key) })),
      settled: [...latest.values()].filter((d) => !keys.has(d.decision)),
    };
  } catch { return { decisions: [], settled: [] }; }  // a report with no grade: nothing was decided
}

const clip = (text, n = 80) => (text.length > n ? `${text.slice(0, n).replace(/\s+\S*$/, "")}…` : text);
const DECIDED = {
  stated: "credited", partly: "credited in part", contradicted: "read as contradicted", missing: "not found in your answer",
  raised: "counted as the trap", unclear: "not settled either way",
};

function disputeText(d) {
  const reason = d.reason ? ` “${d.reason}”` : "";
  if (d.status === "open") return `Disputed${reason}: score ${d.score}, or ${d.score_if} if this stands. A reviewer will settle it.`;
  const note = d.note ? `: “${d.note}”` : "";
  return d.status === "accepted"
    ? `Your dispute${reason} was accepted by ${d.reviewer}${note}. The report is regraded.`
    : `Your dispute${reason} was rejected by ${d.reviewer}${note}. The decision stands.`;
}

function decisionList(decisions, sessionId) {
  const ul = document.createElement("ul"); ul.className = "decisions";
  for (const d of decisions) {
    const li = document.createElement("li"); li.className = "decision"; li.dataset.key = d.key;
    // A point or an unsettled trap is named here; a criterion or a raised trap is named just above.
    const named = d.kind === "point" || d.decided === "unclear";
    const what = document.createElement("span");
    what.textContent = `Decision ${d.number}: ${named ? `${d.statement} — ` : ""}${DECIDED[d.decided] || `graded ${d.decided}`}`;
    const button = document.createElement("button"); button.type = "button"; button.className = "dispute";
    button.textContent = "Dispute"; button.setAttribute("aria-label", `Dispute decision ${d.number}: ${clip(d.statement)}`);
    button.onclick = () => disputeForm(li, d, sessionId, button);
    li.append(what, " ", button);
    if (d.dispute) showDispute(li, d.dispute, button);
    ul.append(li);
  }
  return ul;
}

// A dispute under its decision; an open one cannot be filed twice, so its button goes.
function showDispute(li, dispute, button) {
  const p = document.createElement("p"); p.className = `dispute-state ${dispute.status}`; p.tabIndex = -1;
  p.textContent = disputeText(dispute);
  li.append(p);
  button.hidden = dispute.status === "open";
  return p;
}

function disputeForm(li, d, sessionId, button) {
  const form = document.createElement("form"); form.className = "dispute-form";
  const need = d.evidence ? "optional" : "needed: this decision quotes nothing from your answer";
  form.innerHTML = `<label>Why is this decision wrong? <textarea name="reason" rows="3" maxlength="1000"></textarea></label>
    <label>The sentence of your answer that shows it (${need}) <input name="sentence" maxlength="1000"></label>
    <p class="error" role="alert"></p>
    <div class="actions"><button type="submit">Submit dispute</button> <button type="button">Cancel</button></div>`;
  const { reason, sentence } = form.elements, [submit, cancel] = form.querySelectorAll("button");
  cancel.onclick = () => { form.remove(); button.hidden = false; button.focus(); };
  form.onsubmit = async (e) => {
    e.preventDefault();
    const body = { decision: d.number, reason: reason.value.trim() };
    if (sentence.value.trim()) body.sentence = sentence.value.trim();
    submit.disabled = true;
    try {
      const filed = await api(`/sessions/${encodeURIComponent(sessionId)}/disputes`, { method: "POST", body: JSON.stringify(body) });
      form.remove(); li.querySelector(".dispute-state")?.remove();
      showDispute(li, filed, button).focus();  // the form that had focus is gone
    } catch (err) {
      form.querySelector(".error").textContent = err.message;  // what was typed stays, to fix and send again
      submit.disabled = false;
    }
  };
  button.hidden = true;
  li.append(form);
  reason.focus();
}

function markdown(report, words) {
  const grade = report.grade || { criteria: [] };
  const lines = [`# ${report.trap_id} — ${report.title}`, "", `**Score ${report.score}/100 — ${report.verdict}**`, ""];
  for (const c of grade.criteria) {
    lines.push(`- ${c.score}/${c.max} · ${words[c.id] || c.id}` + (c.evidence ? `\n  > ${c.evidence}` : ""));
  }
  for (const f of report.red_flags || []) lines.push("", `**Fell into the trap:** ${f.statement}`, `> ${f.evidence}`);
  for (const c of report.checked_flags || []) lines.push("", `**Asked:** ${c.question}`, `> ${c.reply} (${c.outcome})`);
  for (const a of grade.amendments || []) lines.push("", `**Changed after a dispute:** ${a}`);
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
  $("message").focus();  // the button that started it is hidden now: keyboard users type straight away
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
  // The id makes sending again safe: a turn the service did save is not run twice.
  pending = { text, id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`, turn: addTurn("candidate", text) };
  $("message").value = "";
  socket.send(JSON.stringify({ message: text, message_id: pending.id }));
}

// The pending message was not saved: its turn (and any words of a reply to it) leave the transcript,
// and the message goes back in the box.
function unsent(why) {
  const { text, turn } = pending;
  if (turn.isConnected) {
    while (turn.nextSibling) turn.nextSibling.remove();
    turn.remove();
    candidateTurns = candidateTurns.filter((d) => d !== turn);
  }
  current = null;
  const button = ["hint", "finish"].includes(text);
  if (!button) $("message").value = text;
  const again = button ? `press ${text} again` : "it is back in the box to send again";
  $("chat-error").textContent = `${why ? `${why} ` : ""}Your message was not saved; ${again}.`;
}

$("composer").onsubmit = (e) => { e.preventDefault(); send($("message").value.trim()); };
// Enter sends, Shift+Enter starts a new line (and Enter while an input method is composing is its own).
$("message").onkeydown = (e) => {
  if (e.key !== "Enter" || e.shiftKey || e.isComposing) return;
  e.preventDefault();
  if (!$("send").disabled) $("composer").requestSubmit();
};
$("hint").onclick = () => send("hint");
$("finish").onclick = () => send("finish");

loadTraps().catch((e) => ($("setup-error").textContent = e.message));
