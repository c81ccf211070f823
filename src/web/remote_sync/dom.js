// Building the page from data: elements whose texts are always text nodes, badges, times,
// banners, field errors and announcements for screen readers.

import { messagesOf } from "./api.js";

export const $ = (id) => document.getElementById(id);

/** An element with attributes and children; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
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

export function spinner() {
  return h("span", { class: "spinner", "aria-hidden": "true" });
}

/** 32 lowercase hex digits, whichever way a uuid was written. */
export function hex(uuid) {
  return String(uuid || "").replaceAll("-", "").toLowerCase();
}

/** The uuid at the end of a hyperlink (`…/marketplace-categories/<uuid>/`). */
export function uuidOfUrl(url) {
  const parts = String(url || "").split("/").filter(Boolean);
  return hex(parts[parts.length - 1]);
}

/** A link target only when it is a web address. */
export function safeHref(url) {
  try {
    const parsed = new URL(url, window.location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch {
    return null;
  }
}

export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

export function stateBadge(label) {
  const kind = { OK: "ok", Erred: "erred", Processing: "processing" }[label] || "scheduled";
  return h("span", { class: `badge badge-${kind}` }, label);
}

export function showBanner(el, messages, title) {
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

export function announce(message) {
  const el = $("announcer");
  el.textContent = "";
  window.setTimeout(() => { el.textContent = message; }, 50);
}

export function setFieldError(id, messages) {
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

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

const preciseDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function preciseTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : preciseDateTime.format(date);
}

export function fullTime(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : dateTime.format(date);
}

export function agoTime(iso) {
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

export function timeElement(iso, text) {
  return h("time", { datetime: iso, title: fullTime(iso) }, text ?? agoTime(iso));
}

export function duration(started, finished) {
  if (!started || !finished) return "—";
  const ms = new Date(finished).getTime() - new Date(started).getTime();
  if (!Number.isFinite(ms) || ms < 0) return "—";
  if (ms < 1000) return "under a second";
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
