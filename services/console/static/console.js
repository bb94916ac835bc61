// Precision CDS console: plain JavaScript, no build step.
// Every value from the server is placed with textContent; the only HTML inserted is
// card markdown rendered by markdown-it with raw HTML off (it escapes HTML and
// refuses javascript:, vbscript:, file: and data: links).
"use strict";

const BASE = location.pathname.replace(/\/console\/.*$/, "");
const md = window.markdownit({ html: false, linkify: false });
const PASTE = "paste";

// -- small helpers ---------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function safeUrl(url) {
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

function link(url, text) {
  const href = safeUrl(url);
  if (href === null) return document.createTextNode(text);
  return el("a", { href, target: "_blank", rel: "noopener noreferrer", text });
}

async function call(path, options = {}) {
  const init = { ...options, headers: { Accept: "application/json" } };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(BASE + path, init);
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, ok: response.ok, body };
}

function problem(result) {
  const issues = result.body && result.body.issue;
  const said = issues ? issues.map((i) => i.diagnostics || i.code).join("; ") : "";
  return `HTTP ${result.status}${said ? ": " + said : ""}`;
}

function pretty(value) {
  return JSON.stringify(value, null, 2);
}

function number(value, digits = 3) {
  return typeof value === "number" ? value.toFixed(digits) : "n/a";
}

// -- try a patient ---------------------------------------------------------------

const tryState = { services: [], loaded: false };

async function showTry() {
  if (tryState.loaded) return;
  tryState.loaded = true;
  const status = await call("/console/api/status");
  if (!status.ok || !status.body.try_patients) {
    document.getElementById("dev-only").hidden = false;
    return;
  }
  const [examples, discovery] = await Promise.all([
    call("/console/api/examples"),
    call("/cds-services"),
  ]);
  tryState.services = discovery.ok ? discovery.body.services : [];
  const select = document.getElementById("example");
  for (const e of examples.ok ? examples.body.examples : []) {
    const option = el("option", { value: `${e.model}/${e.file}`, text: `${e.model}: ${e.label}` });
    option.dataset.model = e.model;
    select.append(option);
  }
  select.append(el("option", { value: PASTE, text: "Paste a FHIR Bundle…" }));
  select.addEventListener("change", pickServices);
  const form = document.getElementById("try-form");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    tryPatient();
  });
  form.hidden = false;
  pickServices();
}

function pickServices() {
  const option = document.getElementById("example").selectedOptions[0];
  const model = option && option.dataset.model;
  document.getElementById("paste").hidden = !option || option.value !== PASTE;
  const select = document.getElementById("service");
  select.replaceChildren();
  // The example's own model first; any service can be tried on any patient.
  const ordered = [...tryState.services].sort(
    (a, b) => (b.id.startsWith(model + "-") ? 1 : 0) - (a.id.startsWith(model + "-") ? 1 : 0),
  );
  for (const s of ordered) select.append(el("option", { value: s.id, text: s.title }));
}

async function patientBundle() {
  const choice = document.getElementById("example").value;
  if (choice !== PASTE) {
    const result = await call(`/console/api/examples/${choice}`);
    if (!result.ok) throw new Error(problem(result));
    return result.body;
  }
  try {
    return JSON.parse(document.getElementById("bundle-input").value);
  } catch (error) {
    throw new Error(`the pasted text is not JSON (${error.message})`);
  }
}

async function tryPatient() {
  const status = document.getElementById("try-status");
  const serviceId = document.getElementById("service").value;
  const cards = document.getElementById("cards");
  cards.replaceChildren();
  for (const id of ["raw-request", "raw-response"]) document.getElementById(id).textContent = "";
  status.className = "";
  status.textContent = "Calling…";
  try {
    const made = await call(`/console/api/hook-request/${encodeURIComponent(serviceId)}`, {
      json: await patientBundle(),
    });
    if (!made.ok) throw new Error(problem(made));
    document.getElementById("raw-request").textContent = pretty(made.body);
    const answer = await call(`/cds-services/${encodeURIComponent(serviceId)}`, { json: made.body });
    document.getElementById("raw-response").textContent = pretty(answer.body);
    if (!answer.ok) throw new Error(problem(answer));
    const returned = answer.body.cards || [];
    for (const card of returned) cards.append(renderCard(card, serviceId));
    if (returned.length === 0) cards.append(el("p", { text: "No card (the service answered, with nothing to show)." }));
    status.textContent = `${returned.length} card(s)`;
  } catch (error) {
    status.className = "error";
    status.textContent = error.message;
  }
}

function renderCard(card, serviceId) {
  const indicator = ["info", "warning", "critical"].includes(card.indicator) ? card.indicator : "";
  const node = el("article", { class: `card ${indicator}` });
  node.dataset.uuid = card.uuid || "";
  node.append(
    el("h4", { class: "card-summary" }, el("span", { class: "card-indicator", text: card.indicator }), card.summary),
  );
  if (card.source) {
    const source = el("div", { class: "card-source" }, "Source: ");
    source.append(card.source.url ? link(card.source.url, card.source.label) : card.source.label);
    node.append(source);
  }
  if (card.detail) {
    const detail = el("div", { class: "card-detail" });
    detail.innerHTML = md.render(card.detail); // markdown-it, raw HTML disabled
    node.append(detail);
  }
  for (const l of card.links || []) node.append(el("p", { class: "card-link" }, link(l.url, l.label)));
  const actions = el("div", { class: "card-actions" });
  const feedbackStatus = el("span", { class: "feedback-status", role: "status" });
  const send = (item) => sendFeedback(serviceId, card, item, feedbackStatus);
  for (const s of card.suggestions || []) {
    const button = el("button", { type: "button", class: "accept-suggestion", text: s.label });
    button.addEventListener("click", () => send({ outcome: "accepted", acceptedSuggestions: [{ id: s.uuid }] }));
    actions.append(button);
  }
  const accept = el("button", { type: "button", class: "accept", text: "Accept" });
  accept.addEventListener("click", () => send({ outcome: "accepted" }));
  const reasons = el("select", { class: "override-reason", "aria-label": "Override reason" });
  (card.overrideReasons || []).forEach((r, i) => reasons.append(el("option", { value: String(i), text: r.display || r.code })));
  const override = el("button", { type: "button", class: "override", text: "Override" });
  override.addEventListener("click", () => {
    const reason = (card.overrideReasons || [])[Number(reasons.value)];
    send({ outcome: "overridden", ...(reason ? { overrideReason: { reason } } : {}) });
  });
  actions.append(accept, reasons, override, feedbackStatus);
  node.append(actions);
  return node;
}

async function sendFeedback(serviceId, card, item, statusNode) {
  const body = { feedback: [{ card: card.uuid, outcomeTimestamp: new Date().toISOString(), ...item }] };
  statusNode.textContent = "Sending…";
  const result = await call(`/cds-services/${encodeURIComponent(serviceId)}/feedback`, { json: body });
  document.getElementById("raw-request").textContent = pretty(body);
  document.getElementById("raw-response").textContent = pretty(result.body);
  statusNode.textContent = result.ok
    ? `Feedback sent (${item.outcome}); ${result.body.stored ? "stored" : "already stored"}.`
    : `Feedback failed: ${problem(result)}`;
}

// -- model cards -------------------------------------------------------------------

async function showModels(name) {
  const target = document.getElementById("models");
  target.replaceChildren(el("p", { text: "Loading…" }));
  const result = name ? await call(`/models/${encodeURIComponent(name)}`) : await call("/models");
  if (!result.ok) {
    target.replaceChildren(el("p", { class: "error", text: problem(result) }));
    return;
  }
  target.replaceChildren(name ? modelCard(result.body) : modelList(result.body.models));
}

function modelList(models) {
  const table = el("table", { class: "data" });
  table.append(el("tr", {}, ...["Model", "Version", "Task"].map((h) => el("th", { text: h }))));
  for (const m of models) {
    const title = el("a", { href: `#models/${encodeURIComponent(m.name)}`, text: m.title });
    table.append(el("tr", {}, el("td", {}, title), el("td", { text: String(m.version) }), el("td", { text: m.task || "" })));
  }
  return el("div", {}, el("h2", { text: "Model cards" }), table);
}

function prose(heading, value) {
  if (value === undefined || value === null || value === "") return [];
  const body = Array.isArray(value)
    ? el("ul", {}, ...value.map((v) => el("li", { text: String(v) })))
    : typeof value === "object"
      ? el("ul", {}, ...Object.entries(value).map(([k, v]) => el("li", {}, el("b", { text: k + ": " }), typeof v === "object" ? JSON.stringify(v) : String(v))))
      : el("p", { text: String(value) });
  return [el("h3", { text: heading }), body];
}

function interval(m) {
  if (!m || typeof m.value !== "number") return "n/a";
  const ci = typeof m.ci_low === "number" ? ` (95% CI ${number(m.ci_low)}–${number(m.ci_high)})` : "";
  return number(m.value) + ci;
}

function metricsTable(card) {
  const model = (card.metrics && card.metrics.overall) || {};
  const baseline = (card.baseline && card.baseline.overall) || {};
  const table = el("table", { class: "data metrics" });
  table.append(el("tr", {}, ...["Metric", "Model", "Baseline"].map((h) => el("th", { text: h }))));
  const row = (name, a, b) => table.append(el("tr", {}, el("td", { text: name }), el("td", { text: a }), el("td", { text: b })));
  for (const [key, value] of Object.entries(model)) {
    if (value && typeof value.value === "number") row(key, interval(value), interval(baseline[key]));
  }
  // Calibration of a probability: slope (1 is ideal), intercept (0) and expected calibration error.
  for (const key of ["slope", "intercept", "ece"]) {
    const a = (model.calibration || {})[key];
    if (typeof a === "number") row(`calibration ${key}`, number(a), number((baseline.calibration || {})[key]));
  }
  return table;
}

function subgroupTable(card) {
  const metric = (card.headline && card.headline.metric) || "auroc";
  const model = (card.metrics && card.metrics.subgroups) || {};
  const baseline = (card.baseline && card.baseline.subgroups) || {};
  const table = el("table", { class: "data subgroups" });
  table.append(el("tr", {}, ...["Subgroup", "n", `${metric}: model`, `${metric}: baseline`].map((h) => el("th", { text: h }))));
  for (const [group, values] of Object.entries(model)) {
    table.append(el("tr", {}, el("td", { text: group }), el("td", { text: String(values.n) }), el("td", { text: interval(values[metric]) }), el("td", { text: interval((baseline[group] || {})[metric]) })));
  }
  return table;
}

function plot(name, kind, caption) {
  const img = el("img", { src: `${BASE}/console/api/models/${encodeURIComponent(name)}/${kind}.svg`, alt: caption });
  const figure = el("figure", { class: `plot-${kind}` }, img, el("figcaption", { text: caption }));
  img.addEventListener("error", () => figure.remove()); // e.g. no ROC for a regression model
  return figure;
}

function modelCard(body) {
  const card = body.card;
  const headline = card.headline || {};
  const overall = (card.metrics && card.metrics.overall) || {};
  const parts = [
    el("p", {}, el("a", { href: "#models", text: "All models" })),
    el("h2", { text: card.title || body.name }),
    el("p", { text: `Model ${body.name}, version ${body.version}, task ${card.task || "n/a"}.` }),
    ...prose("Intended use", card.intended_use),
    ...prose("Not for use", card.not_for_use),
    ...prose("Population", card.population),
    ...prose("Data", card.data_source),
    ...prose("Outcome", card.target && card.target.definition),
    ...prose("Censoring", card.target && card.target.censoring),
    ...prose("Trial", card.trial),
    el("h3", { text: "Metrics on held-out data, next to the baseline" }),
    el("p", { text: `Baseline: ${(card.baseline && card.baseline.model) || "n/a"}. Headline ${headline.metric || "metric"}: model ${number(headline.model)}, baseline ${number(headline.baseline)}.` }),
    el("p", { text: `Held-out patients: ${overall.n ?? "n/a"}${overall.events === undefined ? "" : `, with the outcome: ${number(overall.events, 0)}`}.` }),
    metricsTable(card),
    ...prose("Model against baseline", card.comparison && card.comparison.summary),
    el("div", { class: "plots" }, plot(body.name, "roc", "ROC curve"), plot(body.name, "calibration", "Calibration: predicted against observed")),
    el("h3", { text: "Subgroups" }),
    subgroupTable(card),
    ...prose("Limitations", card.limitations),
    el("p", {}, link(`${BASE}/models/${encodeURIComponent(body.name)}`, "The card as JSON")),
  ];
  return el("div", { class: "model-card" }, ...parts);
}

// -- batch jobs --------------------------------------------------------------------

const JOB_REFRESH_MS = 3000;
let jobRefresh = null;

async function showJobs() {
  clearTimeout(jobRefresh);
  const target = document.getElementById("jobs");
  const [result, status] = await Promise.all([call("/jobs"), call("/console/api/status")]);
  const dev = status.ok && status.body.try_patients; // summaries are served to --dev only
  const jobs = result.ok ? result.body.jobs : [];
  if (!result.ok && result.status !== 404) {
    target.replaceChildren(el("p", { class: "error", text: problem(result) }));
    return;
  }
  if (jobs.length === 0) {
    target.replaceChildren(el("p", { class: "no-jobs", text: "No batch jobs." }));
    return;
  }
  const headings = ["Job", "State", "Progress", "Errors", "Models", "Created", "Finished", "Patients/s", "Summary"];
  const table = el("table", { class: "data jobs" }, el("tr", {}, ...headings.map((h) => el("th", { text: h }))));
  for (const job of jobs) {
    const progress = el("progress", { max: String(job.total || 1), value: String(job.done || 0) });
    const summary = job.summary && dev
      ? link(`${BASE}/jobs/${encodeURIComponent(job.id)}/summary.csv`, job.summary)
      : document.createTextNode(job.summary || "");
    const row = el("tr", { class: "job" },
      el("td", { text: job.id }), el("td", { class: "job-state", text: job.state }),
      el("td", {}, progress, ` ${job.done}/${job.total}`), el("td", { text: String(job.errors) }),
      el("td", { text: (job.models || []).join(", ") }), el("td", { text: job.created || "" }),
      el("td", { text: job.finished || "" }), el("td", { text: number(job.patients_per_s, 1) }),
      el("td", {}, summary));
    row.dataset.id = job.id;
    table.append(row);
  }
  target.replaceChildren(table);
  // Follow the progress of unfinished jobs while this page is shown.
  if (jobs.some((job) => job.state === "queued" || job.state === "running")) {
    jobRefresh = setTimeout(() => location.hash === "#jobs" && showJobs(), JOB_REFRESH_MS);
  }
}

// -- navigation --------------------------------------------------------------------

function route() {
  const [view, name] = (location.hash.replace(/^#/, "") || "try").split("/");
  for (const v of ["try", "models", "jobs"]) {
    document.getElementById(`view-${v}`).hidden = v !== view;
    document.getElementById(`nav-${v}`).classList.toggle("active", v === view);
  }
  if (view === "try") showTry();
  else if (view === "models") showModels(name && decodeURIComponent(name));
  else if (view === "jobs") showJobs();
}

window.addEventListener("hashchange", route);
route();
