// The Add and Edit dialog: the remote's address and token, its organizations and categories
// loaded through the ledger, the local service provider and categories, the category
// mapping rules, and the API's refusals shown beside the fields they name.

import { SYNCS, api, explain, fieldMessages, getAll, messagesOf } from "./api.js";
import { $, h, hex, plural, setFieldError, showBanner, spinner, uuidOfUrl } from "./dom.js";

/** The open dialog's mode, the synchronization edited and the choices loaded for it. */
let dialogForm = null;

/** What the page does around the dialog: its banner, and the list after a save. */
let hooks = {
  clearPageError: () => {},
  pageError: () => {},
  onSaved: () => {},
};

/** Wires the dialog's controls; `page` gives the hooks above. */
export function initSyncForm(page) {
  hooks = page;
  $("sync-form").addEventListener("submit", submitSyncForm);
  $("load-remote").addEventListener("click", () => loadRemote());
  $("api_url").addEventListener("change", () => loadRemote({ quiet: true }));
  $("token").addEventListener("change", () => loadRemote({ quiet: true }));
  $("add-mapping").addEventListener("click", () => {
    const row = addMapping();
    row.querySelector("select").focus();
  });
  $("sync-dialog").addEventListener("close", () => { dialogForm = null; });
}

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
  if (!focusFirstError() && !$("sync-form-banner").hidden) {
    $("sync-form-banner").scrollIntoView({ block: "nearest" });
  }
}

/** Focuses the first field in error and brings its message into view; false if none. */
function focusFirstError() {
  const first = $("sync-form").querySelector("[aria-invalid='true']");
  if (!first) return false;
  first.focus();
  (first.closest(".mapping") || first.closest(".field") || first).scrollIntoView({ block: "nearest" });
  return true;
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
  const form = dialogForm;
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
  const categories = dialogForm ? dialogForm.localCategories : null;
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
  const form = dialogForm;
  const select = $("remote_organization_uuid");
  if (form.mode === "edit") {
    const sync = form.sync;
    fillSelect(select, "", [{ value: hex(sync.remote_organization_uuid), text: sync.remote_organization_name }],
      hex(sync.remote_organization_uuid));
    select.disabled = true;
    $("remote_organization_uuid-hint").textContent = "Fixed once the synchronization exists.";
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
  const form = dialogForm;
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

export async function openSyncDialog(uuid) {
  hooks.clearPageError();
  const dialog = $("sync-dialog");
  const editing = Boolean(uuid);
  let sync = null;
  if (editing) {
    try {
      ({ data: sync } = await api("GET", `${SYNCS}${uuid}/`));
    } catch (err) {
      if (err.status !== 401) hooks.pageError(err, "The synchronization could not be opened.");
      return;
    }
  }
  dialogForm = {
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
  const form = dialogForm;
  try {
    const [providers, categories] = await Promise.all([
      getAll("/api/marketplace-service-providers/?o=customer_name"),
      getAll("/api/marketplace-categories/?o=title"),
    ]);
    if (dialogForm !== form) return;
    form.providers = providers;
    form.localCategories = categories;
    fillProviders();
    for (const select of $("mappings").querySelectorAll("select[data-role='local']")) fillLocalCategories(select);
  } catch (err) {
    if (dialogForm === form && err.status !== 401) {
      showBanner($("sync-form-banner"), explain(err).banner, "The local providers and categories could not be loaded.");
    }
  }
}

/** Asks the remote, through the ledger, for its organizations and categories. */
async function loadRemote({ quiet = false } = {}) {
  const form = dialogForm;
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
  const asks = [api("POST", "/api/remote-waldur-api/remote_categories/", body)];
  if (form.mode === "add") asks.push(api("POST", "/api/remote-waldur-api/remote_customers/", body));
  const [categories, organizations] = await Promise.allSettled(asks);
  button.disabled = false;
  button.textContent = label;
  if (dialogForm !== form) return;
  const failure = [categories, organizations].find((r) => r && r.status === "rejected");
  if (failure) {
    const err = failure.reason;
    if (err.status === 401) return;
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

function readForm() {
  const form = dialogForm;
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
  const form = dialogForm;
  clearFormErrors();
  const { body, errors, rowErrors } = readForm();
  if (Object.keys(errors).length || rowErrors.size) {
    for (const [field, message] of Object.entries(errors)) setFieldError(field, message);
    for (const [row, messages] of rowErrors) rowError(row, messages);
    focusFirstError();
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
    $("sync-dialog").close();
    hooks.onSaved(data, form.mode);
  } catch (err) {
    if (err.status !== 401) showFormErrors(err);
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}
