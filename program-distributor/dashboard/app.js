// The dashboard: a few pages over the server's public JSON API, routed by the URL's hash
// (#/, #/program/ID, #/organizations, #/organization/ID, #/donors, #/donor/ID, #/teams,
// #/team/ID, and for an organization #/login, #/mine, #/logout; its token stays in this tab's
// sessionStorage). It fetches nothing but this server, and re-reads the page it shows every
// POLL_MS, so progress moves as proofs are accepted.
"use strict";

const POLL_MS = 5000;
const PAGE = 20;

// ---- helpers ----

function esc(value) {
  return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

function num(n) {
  return Number(n).toLocaleString("en-US");
}

// An organization's basic token, for this browser tab only.
const TOKEN_KEY = "distributor-token";
// The refresh token ({token_id, token}): it buys a new basic token when one expires (after
// minutes), so the page stays logged in for the session's days; logging out revokes it.
const REFRESH_KEY = "distributor-refresh";

async function api(path, options) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (options && options.auth && token) headers.token = token;
  if (options && options.body) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method: (options && options.method) || "GET", headers, body: options && options.body });
  const body = await response.json().catch(() => null);
  if (!response.ok || !body || body.status !== "success") {
    const error = new Error(body && body.error_message ? body.error_message : "HTTP " + response.status);
    error.code = body && body.error_code;
    throw error;
  }
  return body.data;
}

/** `api` with the basic token; an expired one is renewed once with the refresh token. */
async function authed(path) {
  try {
    return await api(path, { auth: true });
  } catch (error) {
    if (error.code !== "INVALID_TOKEN" || !(await renewToken())) throw error;
    return api(path, { auth: true });
  }
}

/** The kept refresh token ({token_id, token}), or null. */
function storedRefresh() {
  return JSON.parse(sessionStorage.getItem(REFRESH_KEY) || "null");
}

async function renewToken() {
  const refresh = storedRefresh();
  if (!refresh) return false;
  try {
    const body = JSON.stringify({ refresh_token: refresh.token });
    const basic = await api("/account/refresh-token", { method: "POST", body });
    sessionStorage.setItem(TOKEN_KEY, basic.token);
    return true;
  } catch (error) {
    return false;
  }
}

function forgetSession() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
}

/** The hash route: its path segments and its query. */
function route() {
  const [path, query] = location.hash.replace(/^#/, "").split("?");
  const parts = path.split("/").filter(Boolean);
  return { parts, query: new URLSearchParams(query || "") };
}

function pageOf(query) {
  const page = parseInt(query.get("page") || "1", 10);
  return Number.isFinite(page) && page > 0 ? page : 1;
}

function pager(base, page, total, extra) {
  const pages = Math.max(1, Math.ceil(total / PAGE));
  const link = (p, label) => `<a href="#${base}?${new URLSearchParams({ ...extra, page: p })}">${label}</a>`;
  return `<nav class="pager" aria-label="Pages">${page > 1 ? link(page - 1, "← Previous") : ""}
    <span>Page ${page} of ${pages}</span>${page < pages ? link(page + 1, "Next →") : ""}</nav>`;
}

function table(headers, rows, test) {
  const head = headers.map(([label, cls]) => `<th scope="col" class="${cls || ""}">${label}</th>`).join("");
  const body = rows.length ? rows.join("") : `<tr><td colspan="${headers.length}" class="muted">Nothing yet.</td></tr>`;
  return `<div class="scroll"><table data-test="${test}"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function bar(done, total, label) {
  const shown = total > 0 ? Math.round((100 * done) / total) : 0;
  return `<progress max="${Math.max(total, 1)}" value="${done}" aria-label="${esc(label)}: ${shown}% proven"></progress>
    <span class="muted">${num(done)} of ${num(total)} proven</span>`;
}

function card(label, value, test) {
  return `<li><span class="value" data-test="${test}">${value}</span>${label}</li>`;
}

/** Credit per day over the last 30 days (UTC) as a bar chart: inline SVG, no library. */
function chart(days, label) {
  if (!days.length) return `<p class="muted">No credit in the last 30 days.</p>`;
  const DAY = 86400000, SLOTS = 30;
  const today = Math.floor(Date.now() / DAY);
  const first = today - (SLOTS - 1);
  const max = Math.max(...days.map((d) => d.steps), 1);
  const width = 600, height = 150, step = width / SLOTS;
  const bars = days.map((d) => {
    const slot = Math.floor(Date.parse(d.day + "T00:00:00Z") / DAY) - first;
    if (slot < 0 || slot >= SLOTS) return "";
    const h = Math.max(1, Math.round((d.steps / max) * (height - 20)));
    return `<rect x="${(slot * step + 2).toFixed(1)}" y="${height - 14 - h}" width="${(step - 4).toFixed(1)}" height="${h}"><title>${esc(d.day)}: ${num(d.steps)} steps, ${num(d.jobs)} jobs</title></rect>`;
  }).join("");
  const date = (day) => new Date(day * DAY).toISOString().slice(0, 10);
  const axis = `<text x="2" y="${height - 2}">${date(first)}</text><text x="${width - 2}" y="${height - 2}" text-anchor="end">${date(today)}</text>`;
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="${esc(label)}">${bars}${axis}</svg>`;
}

function donorRows(donors) {
  return donors.map((d) => `<tr data-test="donor-row"><td class="num">${d.rank}</td>
    <td><a href="#/donor/${d.donor_id}">${esc(d.name)}</a></td>
    <td class="num" data-test="donor-steps">${num(d.steps)}</td><td class="num">${num(d.jobs)}</td></tr>`);
}

const DONOR_HEADERS = [["Rank", "num"], ["Donor"], ["Steps", "num"], ["Jobs", "num"]];

// ---- pages ----

/** A list of programs with their progress (hidden progress says so). */
async function programTable(programs) {
  const progress = await Promise.all(programs.map((p) => api(`/program/progress/${p.program_id}`).catch(() => null)));
  const rows = programs.map((p, i) => {
    const g = progress[i];
    const done = g ? g.proven + g.confirmed : 0;
    return `<tr data-test="program-row" data-program="${p.program_id}">
      <td><a href="#/program/${p.program_id}">${esc(p.name)}</a></td>
      <td><a href="#/organization/${p.organization_id}">${g ? esc(g.organization_name) : "organization"}</a></td>
      <td>${g ? bar(done, g.total, p.name) : '<span class="muted">progress not public</span>'}</td>
      <td class="num" data-test="program-steps">${g ? num(g.steps_proven) : "–"}</td></tr>`;
  });
  return table([["Program"], ["Organization"], ["Progress"], ["Steps proven", "num"]], rows, "programs");
}

async function programsPage(query) {
  const page = pageOf(query);
  const data = await api(`/program/all?limit=${PAGE}&page=${page}`);
  return `<h1>Programs</h1><p class="muted">${num(data.total_elements_amount)} programs take donated work.</p>
    ${await programTable(data.programs)}${pager("/", page, data.total_elements_amount, {})}`;
}

async function programPage(id) {
  let g;
  try {
    g = await api(`/program/progress/${encodeURIComponent(id)}`);
  } catch (error) {
    if (error.code === "PROGRESS_NOT_PUBLIC") return `<h1>Program</h1><p>Its organization does not publish its progress.</p>`;
    throw error;
  }
  const done = g.proven + g.confirmed;
  return `<h1 data-test="program-name">${esc(g.name)}</h1>
    <p>By <a href="#/organization/${g.organization_id}">${esc(g.organization_name)}</a></p>
    <p>${bar(done, g.total, g.name)}</p>
    <ul class="cards">
      ${card("input groups", num(g.total), "total")}
      ${card("proven", num(done), "proven")}
      ${card("Cairo steps proven", num(g.steps_proven), "steps-proven")}
      ${card("donors contributing", num(g.donors_contributing), "donors-contributing")}
    </ul>
    <h2>By state</h2>
    ${table([["Waiting"], ["Reserved"], ["Executed"], ["Proven, to verify"], ["Confirmed"], ["Failed"]],
      [`<tr data-test="states"><td>${num(g.uploaded)}</td><td>${num(g.reserved)}</td><td>${num(g.executed)}</td><td>${num(g.proven)}</td><td>${num(g.confirmed)}</td><td>${num(g.failed)}</td></tr>`], "states")}
    <h2>Progress over time</h2>${chart(g.days, "Steps credited per day on " + g.name)}
    <h2>Top donors</h2>${table(DONOR_HEADERS, donorRows(g.top_donors), "top-donors")}`;
}

async function organizationsPage(query) {
  const page = pageOf(query);
  const data = await api(`/account/organizations?limit=${PAGE}&page=${page}`);
  const rows = data.organizations.map((o) => `<tr data-test="organization-row"><td><a href="#/organization/${o.organization_id}">${esc(o.name)}</a></td><td>${esc(o.description)}</td></tr>`);
  return `<h1>Organizations</h1>${table([["Organization"], ["About"]], rows, "organizations")}
    ${pager("/organizations", page, data.total_elements_amount, {})}`;
}

async function organizationPage(id, query) {
  const page = pageOf(query);
  const data = await api(`/program/organization/${encodeURIComponent(id)}?limit=${PAGE}&page=${page}`);
  return `<h1>Programs of this organization</h1>${await programTable(data.programs)}
    ${pager("/organization/" + id, page, data.total_elements_amount, {})}`;
}

async function donorsPage(query) {
  const page = pageOf(query);
  const period = query.get("period") === "day" ? "day" : "all";
  const data = await api(`/donors?limit=${PAGE}&page=${page}&period=${period}`);
  const tab = (p, label) => `<a href="#/donors?period=${p}" ${p === period ? 'aria-current="page"' : ""}>${label}</a>`;
  return `<h1>Donor leaderboard</h1><nav class="tabs" aria-label="Period">${tab("all", "All time")}${tab("day", "Last 24 hours")}</nav>
    ${table(DONOR_HEADERS, donorRows(data.donors), "leaderboard")}
    ${pager("/donors", page, data.total_elements_amount, { period })}`;
}

async function donorPage(id) {
  const d = await api(`/donor/${encodeURIComponent(id)}`);
  const programs = d.programs.map((p) => `<tr><td>${p.program_name ? `<a href="#/program/${p.program_id}">${esc(p.program_name)}</a>` : '<span class="muted">deleted program</span>'}</td><td class="num">${num(p.steps)}</td><td class="num">${num(p.jobs)}</td></tr>`);
  const team = d.team_id ? `<a href="#/team/${d.team_id}">${esc(d.team_name || "team")}</a>` : "no team";
  return `<h1 data-test="donor-name">${esc(d.name)}</h1>
    <p>Team: ${team}. Donating since ${esc(d.first_seen.slice(0, 10))}, last seen ${esc(d.last_seen.slice(0, 16).replace("T", " "))} UTC.</p>
    <ul class="cards">
      ${card("Cairo steps", num(d.total.steps), "donor-total-steps")}
      ${card("jobs", num(d.total.jobs), "donor-total-jobs")}
      ${card("steps in 24 h", num(d.last_day.steps), "donor-day-steps")}
      ${card("rank", d.rank ? "#" + d.rank : "–", "donor-rank")}
    </ul>
    <h2>Per program</h2>${table([["Program"], ["Steps", "num"], ["Jobs", "num"]], programs, "donor-programs")}
    <h2>Per day</h2>${chart(d.days, "Steps credited per day to " + d.name)}`;
}

async function teamsPage(query) {
  const page = pageOf(query);
  const data = await api(`/teams?limit=${PAGE}&page=${page}`);
  const rows = data.teams.map((t) => `<tr data-test="team-row"><td class="num">${t.rank}</td><td><a href="#/team/${t.team_id}">${esc(t.name)}</a></td><td class="num">${num(t.members)}</td><td class="num">${num(t.steps)}</td><td class="num">${num(t.jobs)}</td></tr>`);
  return `<h1>Teams</h1>${table([["Rank", "num"], ["Team"], ["Members", "num"], ["Steps", "num"], ["Jobs", "num"]], rows, "teams")}
    ${pager("/teams", page, data.total_elements_amount, {})}`;
}

async function teamPage(id) {
  const t = await api(`/team/${encodeURIComponent(id)}`);
  return `<h1 data-test="team-name">${esc(t.team.name)}</h1><p>${esc(t.team.description)}</p>
    <ul class="cards">${card("Cairo steps", num(t.team.steps), "team-steps")}${card("members", num(t.team.members), "team-members")}${card("rank", "#" + t.team.rank, "team-rank")}</ul>
    <h2>Top members</h2>${table(DONOR_HEADERS, donorRows(t.top_members), "team-members-table")}`;
}

function loginPage(r) {
  if (sessionStorage.getItem(TOKEN_KEY)) return `<h1>Logged in</h1><p><a href="#/mine">Your programs</a> · <a href="#/logout">Log out</a></p>`;
  const expired = r.query.get("expired") ? `<p class="error" role="alert">Your session ended; log in again.</p>` : "";
  return `<h1>Organization login</h1>${expired}
    <form id="login" class="login">
      <label>Username <input name="username" autocomplete="username" required></label>
      <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
      <button type="submit">Log in</button>
      <p id="login-error" class="error" role="alert"></p>
    </form>`;
}

async function login(form) {
  const error = document.getElementById("login-error");
  error.textContent = "";
  const body = JSON.stringify({ username: form.username.value, password: form.password.value });
  try {
    const data = await api("/account/login", { method: "POST", body });
    sessionStorage.setItem(TOKEN_KEY, data.basic_token.token);
    sessionStorage.setItem(REFRESH_KEY, JSON.stringify(data.refresh_token));
    location.hash = "#/mine";
  } catch (e) {
    error.textContent = e.message;
  }
}

async function logoutPage() {
  const refresh = storedRefresh();
  forgetSession();
  if (refresh) {
    const body = JSON.stringify({ token_id: refresh.token_id, refresh_token: refresh.token });
    // Revokes the session on the server; already revoked or expired is as good.
    await api("/account/refresh-token", { method: "DELETE", body }).catch(() => null);
  }
  return `<h1>Logged out</h1><p><a href="#/login">Log in again</a></p>`;
}

/** The logged-in organization's programs: every input group state, the failed runs and the
 * uploads the server refused. */
async function minePage() {
  if (!sessionStorage.getItem(TOKEN_KEY)) return loginPage(route());
  let data;
  try {
    data = await authed(`/program/mine?limit=50`);
  } catch (error) {
    if (error.code !== "INVALID_TOKEN") throw error;
    forgetSession();
    return loginPage({ query: new URLSearchParams("expired=1") });
  }
  const details = await Promise.all(data.programs.map(async (p) => {
    const [status, groups, refused] = await Promise.all([
      authed(`/program/status/${p.program_id}`),
      authed(`/program/inputs/all/${p.program_id}?limit=50`),
      authed(`/program/refusals/${p.program_id}?limit=10`),
    ]);
    return { p, status, groups: groups.program_input_groups, refused };
  }));
  const rows = details.map(({ p, status: s }) => `<tr data-test="my-program-row"><td><a href="#/program/${p.program_id}">${esc(p.name)}</a></td>
    ${[s.total, s.uploaded, s.reserved, s.executed, s.proven, s.confirmed, s.failed].map((n) => `<td class="num">${num(n)}</td>`).join("")}</tr>`);
  const failures = details.flatMap(({ p, groups }) => groups.filter((g) => g.failures > 0).map((g) => {
    const last = g.failure_reasons[g.failure_reasons.length - 1] || { reason: "", message: "" };
    return `<tr data-test="failure-row"><td>${esc(p.name)}</td><td>${esc(g.name)}</td><td class="num">${g.failures}${g.failed ? " (failed)" : ""}</td><td>${esc(last.reason)}</td><td>${esc(last.message)}</td></tr>`;
  }));
  const refusals = details.flatMap(({ p, refused }) => refused.refusals.map((r) =>
    `<tr data-test="refusal-row"><td>${esc(p.name)}</td><td>${esc(r.input_group_name)}</td><td>${esc(r.kind)}</td><td>${esc(r.code)}</td><td>${esc(r.message)}</td><td>${esc(new Date(r.at).toLocaleString())}</td></tr>`));
  return `<h1>Your programs</h1><p><a href="#/logout">Log out</a></p>
    ${table([["Program"], ["Total", "num"], ["Waiting", "num"], ["Reserved", "num"], ["Executed", "num"], ["Proven", "num"], ["Confirmed", "num"], ["Failed", "num"]], rows, "my-programs")}
    <h2>Failed runs</h2>${table([["Program"], ["Input group"], ["Failures", "num"], ["Last reason"], ["Message"]], failures, "failures")}
    <h2>Refused uploads</h2><p>The newest ten of each program: files the server's own check turned down.</p>
    ${table([["Program"], ["Input group"], ["File"], ["Code"], ["Reason"], ["When"]], refusals, "refusals")}`;
}

// ---- routing and live updates ----

const PAGES = {
  "": (r) => programsPage(r.query),
  program: (r) => programPage(r.parts[1]),
  organizations: (r) => organizationsPage(r.query),
  organization: (r) => organizationPage(r.parts[1], r.query),
  donors: (r) => donorsPage(r.query),
  donor: (r) => donorPage(r.parts[1]),
  teams: (r) => teamsPage(r.query),
  team: (r) => teamPage(r.parts[1]),
  login: (r) => loginPage(r),
  logout: () => logoutPage(),
  mine: () => minePage(),
};

const SECTION = { "": "programs", program: "programs", organization: "organizations", donor: "donors", team: "teams", login: "mine", logout: "mine" };

let rendering = 0;
let lastHtml = "";

async function render(moveFocus) {
  const r = route();
  const name = r.parts[0] || "";
  const view = PAGES[name];
  const main = document.getElementById("main");
  const ticket = ++rendering;
  let html;
  try {
    html = view ? await view(r) : `<h1>Not found</h1><p>No page at ${esc(location.hash)}.</p>`;
  } catch (error) {
    html = `<h1>Something went wrong</h1><p class="error" role="alert">${esc(error.message)}</p>`;
  }
  if (ticket !== rendering) return; // a newer render started meanwhile
  // An unchanged page is left alone, so a poll does not take the keyboard focus away.
  if (html !== lastHtml) {
    main.innerHTML = html;
    lastHtml = html;
    const form = document.getElementById("login");
    if (form) {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        login(form);
      });
    }
  }
  const section = SECTION[name] || name;
  document.querySelectorAll("nav a[data-nav]").forEach((a) => {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.getElementById("updated").textContent = "Updated " + new Date().toLocaleTimeString("en-GB") + ".";
  main.dataset.ready = String(ticket);
  if (moveFocus) main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", () => render(true));
render(false);
setInterval(() => {
  if (!document.hidden) render(false);
}, POLL_MS);
