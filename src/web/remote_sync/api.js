// The ledger's JSON API as the page uses it: the signed-in token (kept in sessionStorage
// only), requests with `Authorization: Token …` to this ledger's own relative URLs, whole
// lists page by page, and DRF's error bodies turned into messages for a banner and for the
// fields they name.

export const SYNCS = "/api/marketplace-remote-synchronisations/";

const TOKEN_KEY = "ledger.apiToken";
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

class ApiError extends Error {
  constructor(status, body, message) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function forgetToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

let unauthorized = () => {};

/** What to do when the ledger no longer accepts the signed-in token. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

export async function request(method, path, body, withToken = token()) {
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
export async function api(method, path, body) {
  try {
    return await request(method, path, body);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      unauthorized();
    }
    throw err;
  }
}

/** Every item of a list, page after page. */
export async function getAll(path) {
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
export function messagesOf(value) {
  if (value === null || value === undefined) return [];
  if (Array.isArray(value)) return value.flatMap(messagesOf);
  if (typeof value === "object") {
    return Object.entries(value).flatMap(([field, inner]) =>
      messagesOf(inner).map((message) => `${FIELD_LABELS[field] || field}: ${message}`));
  }
  return [String(value)];
}

/** Splits an API error into banner messages and per-field errors. */
export function explain(err) {
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

export function fieldMessages(fields) {
  return Object.entries(fields).flatMap(([field, value]) =>
    messagesOf(value).map((message) => `${FIELD_LABELS[field] || field}: ${message}`));
}
