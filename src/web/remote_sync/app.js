// Remote Offering Sync: lists, adds, edits, deletes, enables, disables and runs the
// synchronizations of /api/marketplace-remote-synchronisations/, and shows what their runs
// did. It signs in with an API token kept in sessionStorage and only ever asks this ledger's
// own API; every text from the API is put in the page as text, never as markup.

const TOKEN_KEY = "ledger.apiToken";
const SYNCS = "/api/marketplace-remote-synchronisations/";
const PAGE_SIZE = 300;

const FIELD_LABELS = {
  api_url: "Remote API URL",
  token: "Authentication token",
  remote_organization_uuid: "Remote organization",
  remote_organization_name: "Remote organization",
  local_service_provider: "Local service provider",
  remotelocalcategory_set: "Category mapping rules",
  local_category: "Local category",
  remote_category: "Remote category",
  remote_category_name: "Remote category",
  is_active: "Enable synchronization",
};

const state = {
  me: null,
  syncs: [],
  // uuid → the last run (null: it never ran; absent: not loaded yet)
  lastRuns: new Map(),
  running: new Set(),
  form: null,
};

const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function spinner() {
  return h("span", { class: "spinner", "aria-hidden": "true" });
}

/** 32 lowercase hex digits, whichever way a uuid was written. */
function hex(uuid) {
  return String(uuid || "").replaceAll("-", "").toLowerCase();
}

/** The uuid at the end of a hyperlink (`…/marketplace-categories/<uuid>/`). */
function uuidOfUrl(url) {
  const parts = String(url || "").split("/").filter(Boolean);
  return hex(parts[parts.length - 1]);
}

/** A link target only when it is a web address. */
function safeHref(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------
// Talking to the API

class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function request(method, path, body, withToken = token()) {
  const headers = { Accept: "application/json" };
  if (withToken) headers.Authorization = `Token ${withToken}`;
  const init = { method, headers, cache: "no-store", credentials: "omit" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, null, "The ledger could not be reached. Check the connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return { data, response };
  throw new ApiError(response.status, data, fallbackMessage(response.status));
}

/** A request with the signed-in token; a refused token signs out. */
async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      signOut("The ledger no longer accepts your token. Sign in again.");
    }
    throw err;
  }
}

/** Every item of a list, page after page. */
async function getAll(path) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const separator = path.includes("?") ? "&" : "?";
    const { data, response } = await api("GET", `${path}${separator}page=${page}&page_size=${PAGE_SIZE}`);
    const batch = Array.isArray(data) ? data : [];
    items.push(...batch);
    const total = Number(response.headers.get("X-Result-Count") ?? items.length);
    if (batch.length === 0 || items.length >= total) return items;
  }
}

function fallbackMessage(status) {
  if (status === 0) return "The ledger could not be reached.";
  if (status === 403) return "You do not have permission to do this.";
  if (status === 404) return "It no longer exists; refresh the list.";
  if (status === 409) return "It cannot be done in its current state.";
  if (status >= 500) return `The ledger failed to answer (HTTP ${status}). Try again; if it persists, the server's log names the cause.`;
  return `The request was refused (HTTP ${status}).`;
}

/** Strings of an error value: a string, a list of strings, or nested field errors. */
function messagesOf(value) {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(messagesOf);
  if (typeof value === "object") {
    return Object.entries(value).flatMap(([field, inner]) =>
      messagesOf(inner).map((message) => `${FIELD_LABELS[field] || field}: ${message}`));
  }
  return [String(value)];
}

/** Splits an API error into banner messages and per-field errors. */
function explain(err) {
  if (!(err instanceof ApiError)) return { banner: [String(err && err.message ? err.message : err)], fields: {} };
  const body = err.body;
  const banner = [];
  const fields = {};
  if (Array.isArray(body)) {
    banner.push(...messagesOf(body));
  } else if (body && typeof body === "object") {
    for (const [key, value] of Object.entries(body)) {
      if (key === "detail" || key === "non_field_errors") banner.push(...messagesOf(value));
      else fields[key] = value;
    }
  } else if (typeof body === "string" && body) {
    banner.push(body);
  }
  if (banner.length === 0 && Object.keys(fields).length === 0) banner.push(err.message);
  return { banner, fields };
}

// ---------------------------------------------------------------------------------------
// Messages

function showBanner(el, messages, title) {
  const list = messages.filter(Boolean);
  if (list.length === 0) {
    el.replaceChildren();
    el.hidden = true;
    return;
  }
  const children = [];
  if (title) children.push(h("strong", {}, title));
  children.push(list.length === 1 ? h("span", {}, list[0]) : h("ul", {}, list.map((m) => h("li", {}, m))));
  el.replaceChildren(...children);
  el.hidden = false;
}

function pageError(err, title) {
  showBanner($("banner"), explain(err).banner.concat(fieldMessages(explain(err).fields)), title);
}

function fieldMessages(fields) {
  return Object.entries(fields).flatMap(([field, value]) =>
    messagesOf(value).map((message) => `${FIELD_LABELS[field] || field}: ${message}`));
}

function clearPageError() {
  showBanner($("banner"), []);
}

function announce(message) {
  const el = $("announcer");
  el.textContent = "";
  window.setTimeout(() => { el.textContent = message; }, 50);
}

function setFieldError(id, messages) {
  const input = $(id);
  const error = $(`${id}-error`);
  const list = messagesOf(messages);
  if (error) {
    error.textContent = list.join(" ");
    error.hidden = list.length === 0;
  }
  if (input) {
    if (list.length) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

// ---------------------------------------------------------------------------------------
// Time

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

const preciseDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

function preciseTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : preciseDateTime.format(date);
}

function fullTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

function agoTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const steps = [["second", 60], ["minute", 60], ["hour", 24], ["day", 30], ["month", 12], ["year", Infinity]];
  let amount = seconds;
  for (const [unit, size] of steps) {
    if (Math.abs(amount) < size) {
      if (unit === "second" && Math.abs(amount) < 45) return "just now";
      return relative.format(Math.round(amount), unit);
    }
    amount /= size;
  }
  return fullTime(iso);
}

function timeElement(iso, text) {
  return h("time", { datetime: iso, title: fullTime(iso) }, text ?? agoTime(iso));
}

function duration(started, finished) {
  if (!started || !finished) return "—";
  const ms = new Date(finished).getTime() - new Date(started).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return "under a second";
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

// ---------------------------------------------------------------------------------------
// Signing in and out

function showSignIn(notice) {
  $("boot").hidden = true;
  $("syncs-view").hidden = true;
  $("session").hidden = true;
  $("sign-in-view").hidden = false;
  const noticeEl = $("sign-in-notice");
  noticeEl.textContent = notice || "";
  noticeEl.hidden = !notice;
  $("sign-in-token").value = "";
  setFieldError("sign-in-token", []);
  $("sign-in-token").focus();
}

async function signIn(event) {
  event.preventDefault();
  const value = $("sign-in-token").value.trim();
  setFieldError("sign-in-token", []);
  if (!value) {
    setFieldError("sign-in-token", "Enter an API token.");
    $("sign-in-token").focus();
    return;
  }
  const button = $("sign-in-submit");
  button.disabled = true;
  button.replaceChildren(spinner(), "Signing in…");
  try {
    const { data } = await request("GET", "/api/users/me/", undefined, value);
    sessionStorage.setItem(TOKEN_KEY, value);
    state.me = data;
    enterApp();
  } catch (err) {
    const message = err.status === 401
      ? "The ledger does not accept this token. Check that it is complete and still valid."
      : explain(err).banner.join(" ");
    setFieldError("sign-in-token", message);
    $("sign-in-token").focus();
  } finally {
    button.disabled = false;
    button.replaceChildren("Sign in");
  }
}

function signOut(notice) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.me = null;
  state.syncs = [];
  state.lastRuns.clear();
  state.running.clear();
  for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
  clearPageError();
  showSignIn(notice);
}

async function resume() {
  try {
    const { data } = await request("GET", "/api/users/me/");
    state.me = data;
    enterApp();
  } catch (err) {
    if (err.status === 401) signOut("The ledger no longer accepts your token. Sign in again.");
    else {
      enterApp();
      pageError(err);
    }
  }
}

function enterApp() {
  $("boot").hidden = true;
  $("sign-in-view").hidden = true;
  $("syncs-view").hidden = false;
  $("session").hidden = false;
  const who = state.me ? state.me.full_name || state.me.username : "";
  $("session-user").replaceChildren(...(who
    ? [h("span", { class: "session-label" }, "Signed in as "), h("strong", {}, who)]
    : ["Signed in"]));
  $("main").focus();
  loadSyncs();
}

// ---------------------------------------------------------------------------------------
// The table

async function loadSyncs() {
  clearPageError();
  $("forbidden").hidden = true;
  $("loading").hidden = state.syncs.length > 0;
  try {
    state.syncs = await getAll(SYNCS);
  } catch (err) {
    $("loading").hidden = true;
    if (err.status === 403) {
      showForbidden();
    } else if (err.status !== 401) {
      pageError(err, "The synchronizations could not be loaded.");
    }
    return;
  }
  $("loading").hidden = true;
  $("page-actions").hidden = false;
  $("table-card").hidden = false;
  renderSyncs();
  await Promise.all(state.syncs.map((sync) => loadLastRun(sync.uuid)));
}

function showForbidden() {
  state.syncs = [];
  $("table-card").hidden = true;
  $("page-actions").hidden = true;
  const who = state.me ? state.me.username : null;
  $("forbidden-text").replaceChildren(
    "Remote offering synchronizations are managed by staff users",
    ...(who ? [", and ", h("strong", {}, who), " is not one."] : ["."]),
  );
  $("forbidden").hidden = false;
}

async function loadLastRun(uuid) {
  try {
    const { data } = await api("GET", `${SYNCS}${uuid}/last_run/`);
    state.lastRuns.set(uuid, data);
  } catch (err) {
    if (err.status === 404) state.lastRuns.set(uuid, null);
    else state.lastRuns.delete(uuid);
  }
  updateRow(uuid);
}

function renderSyncs() {
  const body = $("syncs-body");
  body.replaceChildren(...state.syncs.map(syncRow));
  const empty = state.syncs.length === 0;
  $("syncs-table").hidden = empty;
  $("empty").hidden = !empty;
}

/** Re-renders one row, keeping the focus on the same control. */
function updateRow(uuid) {
  const old = $(`sync-${uuid}`);
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!old || !sync) return;
  const focused = old.contains(document.activeElement) ? document.activeElement.dataset.action : null;
  const row = syncRow(sync);
  old.replaceWith(row);
  if (focused) {
    const again = row.querySelector(`[data-action="${focused}"]`);
    if (again) again.focus();
  }
}

function stateBadge(label) {
  const kind = { OK: "ok", Erred: "erred", Processing: "processing" }[label] || "scheduled";
  return h("span", { class: `badge badge-${kind}` }, label);
}

function countsList(run) {
  const c = run.counts || {};
  const item = (n, label, extra = "") =>
    h("li", { class: `count ${extra}` }, h("strong", {}, String(n ?? 0)), ` ${label}`);
  return h("ul", { class: "counts", "aria-label": "Results of the last run" },
    item(c.created, "created"),
    item(c.updated, "updated"),
    item(c.archived, "archived"),
    item(c.errors, c.errors === 1 ? "error" : "errors", c.errors ? "count-errors" : ""));
}

function syncRow(sync) {
  const uuid = sync.uuid;
  const name = sync.remote_organization_name || "Remote organization";
  const running = state.running.has(uuid);
  const run = state.lastRuns.get(uuid);
  const known = state.lastRuns.has(uuid);

  let lastRun;
  if (sync.last_execution) {
    lastRun = [h("div", {}, timeElement(sync.last_execution))];
    if (run) lastRun.push(countsList(run));
    else if (!known) lastRun.push(h("div", { class: "cell-sub" }, "Loading results…"));
  } else {
    lastRun = [h("span", { class: "muted" }, "Never")];
  }

  const hidden = (text) => h("span", { class: "visually-hidden" }, text);
  const syncButton = h("button", {
    type: "button",
    class: "button button-small sync-button",
    "data-action": "run",
    disabled: running,
    "aria-busy": running ? "true" : false,
    onclick: () => synchronize(uuid),
  }, running ? [spinner(), "Synchronizing…"] : ["Synchronize", hidden(` ${name}`)]);

  // Each cell's content sits in one box, so that narrow screens can lay cells out as
  // label and value.
  const cell = (label, ...content) => h("td", { "data-label": label }, h("div", { class: "cell" }, content));
  return h("tr", { id: `sync-${uuid}` },
    cell("Remote",
      h("div", { class: "cell-title" }, name),
      h("div", { class: "cell-sub mono" }, sync.api_url)),
    cell("Local provider", sync.local_service_provider_name || h("span", { class: "muted" }, "Unknown")),
    cell("State", stateBadge(running ? "Processing" : sync.get_state_display || "Scheduled")),
    cell("Last run", lastRun),
    cell("Enabled",
      h("span", { class: `badge badge-${sync.is_active ? "enabled" : "disabled"}` },
        sync.is_active ? "Enabled" : "Disabled")),
    h("td", { class: "col-actions" },
      h("div", { class: "actions" },
        h("div", { class: "action-group" },
          syncButton,
          h("button", {
            type: "button", class: "button button-small", "data-action": "results",
            onclick: () => openResults(uuid),
          }, "Results", hidden(` of ${name}`))),
        h("div", { class: "action-group" },
        h("button", {
          type: "button", class: "button button-small", "data-action": "edit",
          onclick: () => openSyncDialog(uuid),
        }, "Edit", hidden(` ${name}`)),
        h("button", {
          type: "button", class: "button button-small", "data-action": "toggle",
          onclick: () => toggleActive(uuid),
        }, sync.is_active ? "Disable" : "Enable", hidden(` ${name}`)),
        h("button", {
          type: "button", class: "button button-small button-danger-text", "data-action": "delete",
          onclick: () => confirmDelete(uuid),
        }, "Delete", hidden(` ${name}`))))));
}

function replaceSync(sync) {
  const index = state.syncs.findIndex((s) => s.uuid === sync.uuid);
  if (index >= 0) state.syncs[index] = sync;
  else state.syncs.unshift(sync);
}

// ---------------------------------------------------------------------------------------
// Row actions

async function synchronize(uuid) {
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!sync || state.running.has(uuid)) return;
  clearPageError();
  state.running.add(uuid);
  updateRow(uuid);
  announce(`Synchronizing ${sync.remote_organization_name}…`);
  try {
    const { data } = await api("POST", `${SYNCS}${uuid}/run_synchronisation/`);
    replaceSync(data);
    state.running.delete(uuid);
    updateRow(uuid);
    await loadLastRun(uuid);
    announce(`Synchronization of ${data.remote_organization_name} finished: ${data.get_state_display}.`);
    if (data.get_state_display === "Erred") {
      showBanner($("banner"), [data.error_message || "See the results of the last run."],
        `The synchronization of ${data.remote_organization_name} failed.`);
    }
  } catch (err) {
    if (err.status !== 401) pageError(err, `${sync.remote_organization_name} could not be synchronized.`);
  } finally {
    state.running.delete(uuid);
    updateRow(uuid);
  }
}

async function toggleActive(uuid) {
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!sync) return;
  clearPageError();
  try {
    const { data } = await api("PATCH", `${SYNCS}${uuid}/`, { is_active: !sync.is_active });
    replaceSync(data);
    updateRow(uuid);
    announce(`The synchronization of ${data.remote_organization_name} is ${data.is_active ? "enabled" : "disabled"}.`);
  } catch (err) {
    if (err.status !== 401) pageError(err, `${sync.remote_organization_name} could not be changed.`);
  }
}

function confirmDelete(uuid) {
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!sync) return;
  const dialog = $("confirm-dialog");
  $("confirm-text").replaceChildren(
    "The synchronization of ", h("strong", {}, sync.remote_organization_name),
    " from ", h("span", { class: "mono" }, sync.api_url),
    " and its stored token are deleted. This cannot be undone.");
  dialog.returnValue = "";
  dialog.onclose = async () => {
    dialog.onclose = null;
    if (dialog.returnValue !== "confirm") return;
    clearPageError();
    try {
      await api("DELETE", `${SYNCS}${uuid}/`);
      state.syncs = state.syncs.filter((s) => s.uuid !== uuid);
      state.lastRuns.delete(uuid);
      renderSyncs();
      announce(`The synchronization of ${sync.remote_organization_name} is deleted.`);
      $("add").focus();
    } catch (err) {
      if (err.status !== 401) pageError(err, `${sync.remote_organization_name} could not be deleted.`);
    }
  };
  dialog.showModal();
}

// ---------------------------------------------------------------------------------------
// The Add and Edit dialog

function option(value, text, selected = false) {
  const el = h("option", { value }, text);
  if (selected) el.selected = true;
  return el;
}

function fillSelect(select, placeholder, items, selectedValue) {
  select.replaceChildren(option("", placeholder, !selectedValue), ...items.map((item) =>
    option(item.value, item.text, item.value === selectedValue)));
}

function clearFormErrors() {
  showBanner($("sync-form-banner"), []);
  for (const id of ["api_url", "token", "remote_organization_uuid", "local_service_provider", "remotelocalcategory_set"]) {
    setFieldError(id, []);
  }
  for (const row of $("mappings").children) rowError(row, []);
}

/** Shows an API refusal of the form: each field's errors beside it, the rest above. */
function showFormErrors(err) {
  const { banner, fields } = explain(err);
  const rest = [];
  for (const [field, value] of Object.entries(fields)) {
    if (field === "remote_organization_name") setFieldError("remote_organization_uuid", value);
    else if (field === "remotelocalcategory_set") showMappingErrors(value, rest);
    else if ($(field) && $(`${field}-error`)) setFieldError(field, value);
    else rest.push(...fieldMessages({ [field]: value }));
  }
  showBanner($("sync-form-banner"), banner.concat(rest),
    banner.length + rest.length ? "The synchronization could not be saved." : null);
  const first = $("sync-form").querySelector("[aria-invalid='true']");
  if (first) first.focus();
  else if (!$("sync-form-banner").hidden) $("sync-form-banner").scrollIntoView({ block: "nearest" });
}

function showMappingErrors(value, rest) {
  const rows = [...$("mappings").children];
  if (Array.isArray(value) && value.some((item) => item && typeof item === "object" && !Array.isArray(item))) {
    value.forEach((item, index) => {
      const row = rows[index];
      const messages = messagesOf(item);
      if (row) rowError(row, messages);
      else rest.push(...messages);
    });
  } else {
    setFieldError("remotelocalcategory_set", value);
  }
}

function rowError(row, messages) {
  const error = row.querySelector(".field-error");
  error.textContent = messages.join(" ");
  error.hidden = messages.length === 0;
  for (const select of row.querySelectorAll("select")) {
    if (messages.length) select.setAttribute("aria-invalid", "true");
    else select.removeAttribute("aria-invalid");
  }
}

let mappingCounter = 0;

/** One rule: a remote category → a local category. */
function mappingRow(initial = {}) {
  mappingCounter += 1;
  const n = mappingCounter;
  const remote = h("select", { id: `mapping-${n}-remote`, "data-role": "remote", "aria-describedby": `mapping-${n}-error` });
  const local = h("select", { id: `mapping-${n}-local`, "data-role": "local", "aria-describedby": `mapping-${n}-error` });
  remote.dataset.initial = hex(initial.remote_category || "");
  remote.dataset.initialName = initial.remote_category_name || "";
  local.dataset.initial = initial.local_category ? uuidOfUrl(initial.local_category) : "";
  const row = h("li", { class: "mapping" },
    h("div", { class: "field" }, h("label", { for: remote.id }, "Remote category"), remote),
    h("span", { class: "mapping-arrow", "aria-hidden": "true" }, "→"),
    h("div", { class: "field" }, h("label", { for: local.id }, "Local category"), local),
    h("button", {
      type: "button",
      class: "button button-small button-danger-text",
      onclick: () => removeMapping(row),
    }, "Remove", h("span", { class: "visually-hidden" }, " this rule")),
    h("p", { class: "field-error", id: `mapping-${n}-error`, hidden: true }));
  fillRemoteCategories(remote);
  fillLocalCategories(local);
  return row;
}

function addMapping(initial) {
  const row = mappingRow(initial);
  $("mappings").append(row);
  return row;
}

function removeMapping(row) {
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  if (next) next.querySelector("select").focus();
  else $("add-mapping").focus();
}

function fillRemoteCategories(select) {
  const form = state.form;
  const current = select.value ? hex(select.value) : select.dataset.initial;
  const categories = form ? form.remoteCategories : null;
  if (!categories) {
    const items = current ? [{ value: current, text: select.dataset.initialName || current }] : [];
    fillSelect(select, "Load the remote first", items, current);
    return;
  }
  const items = categories.map((c) => ({ value: hex(c.uuid), text: c.title || c.name || c.uuid }));
  if (current && !items.some((item) => item.value === current)) {
    items.unshift({ value: current, text: `${select.dataset.initialName || current} (not on the remote)` });
  }
  fillSelect(select, categories.length ? "Choose a remote category" : "The remote has no categories", items, current);
}

function fillLocalCategories(select) {
  const categories = state.form ? state.form.localCategories : null;
  const current = select.value ? uuidOfUrl(select.value) : select.dataset.initial;
  if (!categories) {
    fillSelect(select, "Loading…", [], "");
    return;
  }
  const items = categories.map((c) => ({ value: c.url, text: c.title }));
  const selected = items.find((item) => uuidOfUrl(item.value) === current);
  fillSelect(select, categories.length ? "Choose a local category" : "No local categories", items,
    selected ? selected.value : "");
}

function fillOrganizations() {
  const form = state.form;
  const select = $("remote_organization_uuid");
  if (form.mode === "edit") {
    const sync = form.sync;
    fillSelect(select, "", [{ value: hex(sync.remote_organization_uuid), text: sync.remote_organization_name }],
      hex(sync.remote_organization_uuid));
    select.disabled = true;
    $("remote_organization_uuid-hint").textContent = "Its offerings are imported; it is fixed once the synchronization exists.";
    return;
  }
  select.disabled = false;
  $("remote_organization_uuid-hint").textContent = "Its offerings are imported.";
  if (!form.organizations) {
    fillSelect(select, "Load the remote first", [], "");
    return;
  }
  const previous = select.value;
  const items = form.organizations.map((o) => ({
    value: hex(o.uuid),
    text: o.abbreviation && o.abbreviation !== o.name ? `${o.name} (${o.abbreviation})` : o.name,
  }));
  fillSelect(select, items.length ? "Choose an organization" : "The token's user owns no organization there",
    items, items.some((i) => i.value === previous) ? previous : items.length === 1 ? items[0].value : "");
}

function fillProviders() {
  const form = state.form;
  const select = $("local_service_provider");
  if (!form.providers) {
    fillSelect(select, "Loading…", [], "");
    return;
  }
  const current = select.value || (form.sync ? form.sync.local_service_provider : "");
  const items = form.providers.map((p) => ({ value: p.url, text: p.customer_name || p.name || p.url }));
  const selected = items.find((item) => uuidOfUrl(item.value) === uuidOfUrl(current));
  fillSelect(select, items.length ? "Choose a service provider" : "No local service providers", items,
    selected ? selected.value : items.length === 1 ? items[0].value : "");
}

async function openSyncDialog(uuid) {
  clearPageError();
  const dialog = $("sync-dialog");
  const editing = Boolean(uuid);
  let sync = null;
  if (editing) {
    try {
      ({ data: sync } = await api("GET", `${SYNCS}${uuid}/`));
    } catch (err) {
      if (err.status !== 401) pageError(err, "The synchronization could not be opened.");
      return;
    }
  }
  state.form = {
    mode: editing ? "edit" : "add",
    uuid,
    sync,
    organizations: null,
    remoteCategories: null,
    providers: null,
    localCategories: null,
    loadedFor: null,
  };
  $("sync-dialog-title").textContent = editing ? "Edit synchronization" : "Add synchronization";
  $("sync-submit").textContent = editing ? "Save changes" : "Create";
  $("api_url").value = sync ? sync.api_url : "";
  $("token").value = sync ? sync.token : "";
  $("is_active").checked = sync ? sync.is_active : true;
  $("load-state").textContent = "";
  $("load-remote").textContent = editing ? "Reload categories" : "Load organizations and categories";
  $("mappings").replaceChildren();
  clearFormErrors();
  fillOrganizations();
  fillProviders();
  if (sync && sync.remotelocalcategory_set.length) {
    for (const mapping of sync.remotelocalcategory_set) addMapping(mapping);
  } else {
    addMapping();
  }
  dialog.showModal();
  $("api_url").focus();
  loadLocalChoices();
  if (editing) loadRemote();
}

async function loadLocalChoices() {
  const form = state.form;
  try {
    const [providers, categories] = await Promise.all([
      getAll("/api/marketplace-service-providers/?o=customer_name"),
      getAll("/api/marketplace-categories/?o=title"),
    ]);
    if (state.form !== form) return;
    form.providers = providers;
    form.localCategories = categories;
    fillProviders();
    for (const select of $("mappings").querySelectorAll("select[data-role='local']")) fillLocalCategories(select);
  } catch (err) {
    if (state.form === form && err.status !== 401) {
      showBanner($("sync-form-banner"), explain(err).banner, "The local providers and categories could not be loaded.");
    }
  }
}

/** Asks the remote, through the ledger, for its organizations and categories. */
async function loadRemote({ quiet = false } = {}) {
  const form = state.form;
  const apiUrl = $("api_url").value.trim();
  const remoteToken = $("token").value.trim();
  setFieldError("api_url", []);
  setFieldError("token", []);
  if (!apiUrl || !remoteToken) {
    if (!quiet) {
      if (!apiUrl) setFieldError("api_url", "Enter the remote API URL first.");
      if (!remoteToken) setFieldError("token", "Enter the authentication token first.");
      $(apiUrl ? "token" : "api_url").focus();
    }
    return;
  }
  const key = `${apiUrl}\n${remoteToken}`;
  if (quiet && form.loadedFor === key) return;
  const button = $("load-remote");
  const label = button.textContent;
  button.disabled = true;
  button.replaceChildren(spinner(), "Loading…");
  $("load-state").textContent = "Asking the remote Waldur…";
  const body = { api_url: apiUrl, token: remoteToken };
  const asks = [request("POST", "/api/remote-waldur-api/remote_categories/", body)];
  if (form.mode === "add") asks.push(request("POST", "/api/remote-waldur-api/remote_customers/", body));
  const [categories, organizations] = await Promise.allSettled(asks);
  button.disabled = false;
  button.textContent = label;
  if (state.form !== form) return;
  const failure = [categories, organizations].find((r) => r && r.status === "rejected");
  if (failure) {
    const err = failure.reason;
    if (err.status === 401) {
      signOut("The ledger no longer accepts your token. Sign in again.");
      return;
    }
    $("load-state").textContent = "";
    const { banner, fields } = explain(err);
    if (fields.api_url) setFieldError("api_url", fields.api_url);
    if (fields.token) setFieldError("token", fields.token);
    const other = fieldMessages(Object.fromEntries(Object.entries(fields).filter(([k]) => k !== "api_url" && k !== "token")));
    showBanner($("sync-form-banner"), banner.concat(other), banner.length + other.length ? "The remote could not be read." : null);
    form.loadedFor = null;
    return;
  }
  showBanner($("sync-form-banner"), []);
  form.loadedFor = key;
  form.remoteCategories = categories.value.data || [];
  if (organizations) form.organizations = organizations.value.data || [];
  fillOrganizations();
  for (const select of $("mappings").querySelectorAll("select[data-role='remote']")) fillRemoteCategories(select);
  const parts = [];
  if (form.organizations && form.mode === "add") parts.push(plural(form.organizations.length, "organization"));
  parts.push(plural(form.remoteCategories.length, "category", "categories"));
  $("load-state").textContent = `Loaded ${parts.join(" and ")}.`;
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function readForm() {
  const form = state.form;
  const errors = {};
  const apiUrl = $("api_url").value.trim();
  const remoteToken = $("token").value.trim();
  if (!apiUrl) errors.api_url = "This field is required.";
  if (!remoteToken) errors.token = "This field is required.";
  const body = { api_url: apiUrl, token: remoteToken };
  if (form.mode === "add") {
    const select = $("remote_organization_uuid");
    if (!select.value) {
      errors.remote_organization_uuid = form.organizations
        ? "Choose the remote organization."
        : "Load the remote's organizations, then choose one.";
    } else {
      const org = form.organizations.find((o) => hex(o.uuid) === select.value);
      body.remote_organization_uuid = select.value;
      body.remote_organization_name = org ? org.name : select.selectedOptions[0].textContent;
    }
  }
  const provider = $("local_service_provider").value;
  if (!provider) errors.local_service_provider = "Choose the local service provider.";
  body.local_service_provider = provider;

  const mappings = [];
  const rowErrors = new Map();
  for (const row of $("mappings").children) {
    const remote = row.querySelector("select[data-role='remote']");
    const local = row.querySelector("select[data-role='local']");
    if (!remote.value && !local.value) continue;
    if (!remote.value || !local.value) {
      rowErrors.set(row, [remote.value ? "Choose the local category." : "Choose the remote category."]);
      continue;
    }
    const category = (form.remoteCategories || []).find((c) => hex(c.uuid) === remote.value);
    mappings.push({
      local_category: local.value,
      remote_category: remote.value,
      remote_category_name: category ? category.title : remote.dataset.initialName,
    });
  }
  if (mappings.length === 0 && rowErrors.size === 0) {
    errors.remotelocalcategory_set = "Add at least one rule with a remote and a local category.";
  }
  body.remotelocalcategory_set = mappings;
  body.is_active = $("is_active").checked;
  return { body, errors, rowErrors };
}

async function submitSyncForm(event) {
  event.preventDefault();
  const form = state.form;
  clearFormErrors();
  const { body, errors, rowErrors } = readForm();
  if (Object.keys(errors).length || rowErrors.size) {
    for (const [field, message] of Object.entries(errors)) setFieldError(field, message);
    for (const [row, messages] of rowErrors) rowError(row, messages);
    const first = $("sync-form").querySelector("[aria-invalid='true']");
    if (first) first.focus();
    return;
  }
  const button = $("sync-submit");
  const label = button.textContent;
  button.disabled = true;
  button.replaceChildren(spinner(), "Saving…");
  try {
    const { data } = form.mode === "add"
      ? await api("POST", SYNCS, body)
      : await api("PATCH", `${SYNCS}${form.uuid}/`, body);
    replaceSync(data);
    $("sync-dialog").close();
    renderSyncs();
    announce(form.mode === "add"
      ? `The synchronization of ${data.remote_organization_name} is added.`
      : `The synchronization of ${data.remote_organization_name} is saved.`);
    loadLastRun(data.uuid);
  } catch (err) {
    if (err.status !== 401) showFormErrors(err);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// ---------------------------------------------------------------------------------------
// Results

function offeringItem(item, withFields) {
  const href = safeHref(item.url);
  const name = item.name || item.uuid;
  return h("li", {},
    href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, name) : h("span", {}, name),
    item.remote_uuid ? h("span", { class: "cell-sub" }, "remote uuid ", h("span", { class: "mono" }, item.remote_uuid)) : null,
    withFields && item.changed_fields && item.changed_fields.length
      ? h("span", { class: "chips", "aria-label": "Changed fields" }, item.changed_fields.map((f) => h("span", { class: "chip" }, f)))
      : null);
}

function offeringSection(title, items, withFields, none) {
  return h("section", { class: "result-section" },
    h("h3", {}, title, " ", h("span", { class: "muted" }, `(${items.length})`)),
    items.length
      ? h("ul", { class: "offering-list" }, items.map((item) => offeringItem(item, withFields)))
      : h("p", { class: "muted" }, none));
}

function renderRun(run, runs) {
  const counts = run.counts || {};
  const stat = (label, value, extra = "") => h("div", { class: `stat ${extra}` }, h("dt", {}, label), h("dd", {}, String(value ?? 0)));
  const summaryItem = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
  const parts = [
    h("dl", { class: "run-summary" },
      summaryItem("State", stateBadge(run.state)),
      summaryItem("Started", run.started ? timeElement(run.started, preciseTime(run.started)) : "—"),
      summaryItem("Finished", run.finished ? timeElement(run.finished, preciseTime(run.finished)) : "—"),
      summaryItem("Duration", duration(run.started, run.finished))),
    counts.categories
      ? h("p", { class: "muted" },
        `Read ${plural(counts.categories, "mapped remote category", "mapped remote categories")} `
        + `with ${plural(counts.offerings_seen ?? 0, "offering")} of the organization.`)
      : null,
    h("dl", { class: "stats" },
      stat("Created", counts.created),
      stat("Updated", counts.updated),
      stat("Archived", counts.archived),
      stat("Errors", counts.errors, counts.errors ? "stat-errors" : "")),
  ];
  if (run.error_message) {
    parts.push(h("div", { class: "banner banner-error" }, h("strong", {}, "The run failed."), h("span", {}, run.error_message)));
  }
  // The message a failed run ended with is shown above; the list holds the others.
  const errors = (run.errors || []).filter((e) => e !== run.error_message);
  if (errors.length) {
    parts.push(h("section", { class: "result-section" },
      h("h3", {}, run.error_message ? "Other errors " : "Errors ", h("span", { class: "muted" }, `(${errors.length})`)),
      h("ul", { class: "error-list" }, errors.map((e) => h("li", {}, e)))));
  }
  parts.push(
    offeringSection("Created offerings", run.offerings_created || [], false, "No offering was created."),
    offeringSection("Updated offerings", run.offerings_updated || [], true, "No offering was updated."),
    offeringSection("Archived offerings", run.offerings_archived || [], false, "No offering was archived."));
  parts.push(h("section", { class: "result-section" },
    h("h3", { id: "run-log-title" }, "Log"),
    h("pre", { class: "log", tabindex: "0", "aria-labelledby": "run-log-title" }, run.log || "The run logged nothing.")));
  if (runs && runs.length) {
    parts.push(h("section", { class: "result-section" },
      h("h3", { id: "runs-title" }, "Previous runs"),
      h("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "runs-title" },
        h("table", { class: "runs-table" },
          h("thead", {}, h("tr", {},
            h("th", { scope: "col" }, "Started"),
            h("th", { scope: "col" }, "State"),
            h("th", { scope: "col" }, "Duration"),
            h("th", { scope: "col", class: "num" }, "Created"),
            h("th", { scope: "col", class: "num" }, "Updated"),
            h("th", { scope: "col", class: "num" }, "Archived"),
            h("th", { scope: "col", class: "num" }, "Errors"))),
          h("tbody", {}, runs.map((r) => h("tr", {},
            h("td", {}, r.started ? timeElement(r.started, fullTime(r.started)) : "—"),
            h("td", {}, stateBadge(r.state)),
            h("td", {}, duration(r.started, r.finished)),
            h("td", { class: "num" }, String(r.counts.created)),
            h("td", { class: "num" }, String(r.counts.updated)),
            h("td", { class: "num" }, String(r.counts.archived)),
            h("td", { class: "num" }, String(r.counts.errors)))))))));
  }
  return parts.filter(Boolean);
}

async function openResults(uuid) {
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!sync) return;
  clearPageError();
  const dialog = $("results-dialog");
  const body = $("results-body");
  $("results-subtitle").replaceChildren(sync.remote_organization_name, " · ", sync.api_url);
  body.replaceChildren(h("p", { class: "muted" }, "Loading…"));
  dialog.showModal();
  const [last, runs] = await Promise.allSettled([
    api("GET", `${SYNCS}${uuid}/last_run/`),
    api("GET", `${SYNCS}${uuid}/runs/?page_size=20`),
  ]);
  if (!dialog.open) return;
  if (last.status === "rejected") {
    const err = last.reason;
    if (err.status === 401) return;
    if (err.status === 404 && err.body && err.body.detail) {
      body.replaceChildren(h("div", { class: "results-empty" },
        h("p", {}, "This synchronization has not run yet."),
        h("p", {}, "Use Synchronize to run it now.")));
    } else {
      const box = h("div", { class: "banner banner-error", role: "alert" });
      showBanner(box, explain(err).banner, "The results could not be loaded.");
      body.replaceChildren(box);
    }
    return;
  }
  state.lastRuns.set(uuid, last.value.data);
  updateRow(uuid);
  const history = runs.status === "fulfilled" ? runs.value.data : null;
  body.replaceChildren(...renderRun(last.value.data, history));
}

// ---------------------------------------------------------------------------------------
// Wiring

function init() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut("You are signed out."));
  $("refresh").addEventListener("click", () => loadSyncs());
  $("add").addEventListener("click", () => openSyncDialog(null));
  $("add-empty").addEventListener("click", () => openSyncDialog(null));
  $("sync-form").addEventListener("submit", submitSyncForm);
  $("load-remote").addEventListener("click", () => loadRemote());
  $("api_url").addEventListener("change", () => loadRemote({ quiet: true }));
  $("token").addEventListener("change", () => loadRemote({ quiet: true }));
  $("add-mapping").addEventListener("click", () => {
    const row = addMapping();
    row.querySelector("select").focus();
  });
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  $("sync-dialog").addEventListener("close", () => { state.form = null; });
  if (token()) resume();
  else showSignIn();
}

init();
