// The results of a synchronization's last run in their dialog: its state and times, the
// counts, the offerings it created, updated and archived, its errors and log, and the
// previous runs.

import { SYNCS, api, explain } from "./api.js";
import { $, duration, fullTime, h, plural, preciseTime, safeHref, showBanner, stateBadge, timeElement } from "./dom.js";

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

/** Opens the dialog for `sync`; `onRun` gets the last run once it is read. */
export async function openResults(sync, onRun) {
  const uuid = sync.uuid;
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
  onRun(last.value.data);
  const history = runs.status === "fulfilled" ? runs.value.data : null;
  body.replaceChildren(...renderRun(last.value.data, history));
}
