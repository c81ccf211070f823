// Remote Offering Sync: lists, adds, edits, deletes, enables, disables and runs the
// synchronizations of /api/marketplace-remote-synchronisations/, and shows what their runs
// did. It signs in with an API token kept in sessionStorage and only ever asks this ledger's
// own API; every text from the API is put in the page as text, never as markup.

import { SYNCS, api, explain, fieldMessages, forgetToken, getAll, onUnauthorized, request, saveToken, token } from "./api.js";
import { $, announce, h, setFieldError, showBanner, spinner, stateBadge, timeElement } from "./dom.js";
import { openResults } from "./results.js";
import { initSyncForm, openSyncDialog } from "./sync_form.js";

const state = {
  me: null,
  syncs: [],
  // uuid → the last run (null: it never ran; absent: not loaded yet)
  lastRuns: new Map(),
  running: new Set(),
};

function pageError(err, title) {
  showBanner($("banner"), explain(err).banner.concat(fieldMessages(explain(err).fields)), title);
}

function clearPageError() {
  showBanner($("banner"), []);
}

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
    saveToken(value);
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
  forgetToken();
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
            onclick: () => showResults(uuid),
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

function showResults(uuid) {
  const sync = state.syncs.find((s) => s.uuid === uuid);
  if (!sync) return;
  clearPageError();
  openResults(sync, (run) => {
    state.lastRuns.set(uuid, run);
    updateRow(uuid);
  });
}

function init() {
  onUnauthorized(() => signOut("The ledger no longer accepts your token. Sign in again."));
  initSyncForm({
    clearPageError,
    pageError,
    onSaved(sync, mode) {
      replaceSync(sync);
      renderSyncs();
      announce(`The synchronization of ${sync.remote_organization_name} is ${mode === "add" ? "added" : "saved"}.`);
      loadLastRun(sync.uuid);
    },
  });
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", () => signOut("You are signed out."));
  $("refresh").addEventListener("click", () => loadSyncs());
  $("add").addEventListener("click", () => openSyncDialog(null));
  $("add-empty").addEventListener("click", () => openSyncDialog(null));
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => button.closest("dialog").close());
  }
  if (token()) resume();
  else showSignIn();
}

init();
