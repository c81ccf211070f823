// The Remote Offering Sync page in headless Chromium: ledger B syncs offerings from ledger A,
// both real `ledger serve` processes. Through the page on B a staff user signs in, adds a
// synchronization (organizations and categories loaded from A), runs it, reads its results,
// edits and disables it, sees a run fail once A is gone, and deletes it; a user who is not
// staff is told the page is for staff.
// Each view is screenshotted into target/screenshots/ and checked with axe-core, which fails
// the test on any serious or critical violation. The page runs under its own
// Content-Security-Policy throughout; axe is injected through the DevTools protocol, which
// the policy does not govern.

import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { after, before, test } from "node:test";

import { chromium } from "playwright-core";

import { createActiveOffering, createProvider, root, startLedger } from "./ledger.mjs";

const require = createRequire(import.meta.url);
const screenshots = process.env.SCREENSHOT_DIR || `${root}/target/screenshots`;
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const REMOTE_ORG = "Remote Provider Org";
const REMOTE_OFFERING = "Remote HPC";
const SYNC = REMOTE_ORG; // the rows' buttons are named after the remote organization

let remote; // ledger A
let local; // ledger B
let browser;
let page;
const problems = [];
const axeReport = [];

before(async () => {
  await mkdir(screenshots, { recursive: true });
  [remote, local] = await Promise.all([startLedger("a"), startLedger("b")]);

  // A: a provider organization, owned by A's staff user, with a shared active offering.
  const a = remote.client;
  const me = await a.get("/api/users/me/");
  const organization = await createProvider(a, REMOTE_ORG, "RPO");
  await a.create(`/api/customers/${organization.uuid}/add_user/`, {
    user: me.uuid,
    role: "CUSTOMER.OWNER",
  });
  const category = await a.create("/api/marketplace-categories/", { title: "Remote Compute" });
  await a.create("/api/marketplace-categories/", { title: "Remote Storage" });
  await createActiveOffering(a, { name: REMOTE_OFFERING, customer: organization, category });

  // B: a provider that publishes what it imports, and local categories to map into.
  const b = local.client;
  await createProvider(b, "Local Provider", "LP");
  await b.create("/api/marketplace-categories/", { title: "Local Compute" });
  await b.create("/api/marketplace-categories/", { title: "Local Storage" });

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({
    viewport: { width: 1280, height: 860 },
    locale: "en-GB",
    timezoneId: "UTC",
  });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    // Failed fetches (403, 404) are logged by Chromium too; they are the page's business.
    if (message.type() === "error" && !message.text().startsWith("Failed to load resource")) {
      problems.push(`console: ${message.text()}`);
    }
  });
});

after(async () => {
  if (axeReport.length) console.log(`axe-core:\n${axeReport.join("\n")}`);
  await browser?.close();
  await Promise.all([remote?.stop(), local?.stop()]);
});

const axeSource = await readFile(require.resolve("axe-core/axe.min.js"), "utf8");

/** Runs axe-core on the page as it is now; fails on serious and critical violations. */
async function checkAccessibility(view) {
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(axeSource);
  }
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const summary = results.violations.map((v) => `${v.impact} ${v.id} (${v.nodes.length}): ${v.help}`);
  axeReport.push(`  ${view}: ${summary.length ? summary.join("; ") : "no violations"}`);
  const blocking = results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.deepEqual(blocking, [], `axe-core on ${view}`);
}

async function screenshot(view) {
  await page.screenshot({ path: `${screenshots}/remote-sync-${view}.png` });
}

async function view(name) {
  await screenshot(name);
  const text = await page.locator("body").innerText();
  assert.doesNotMatch(text, /\bnull\b|\bundefined\b|\bNaN\b|\[object |^\s*[{[]"/m, `the text of ${name}`);
  await checkAccessibility(name);
}

function row() {
  return page.locator("#syncs-body tr", { hasText: REMOTE_ORG });
}

function button(name) {
  return page.getByRole("button", { name, exact: true });
}

test("the page is served with its policy and shows the sign-in form", async () => {
  const response = await page.goto(`${local.url}/admin/remote-sync/`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()["content-security-policy"], /script-src 'self'/);
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  await view("sign-in");
});

test("a token the ledger refuses is answered beside the field", async () => {
  await page.getByLabel("API token").fill("not-a-token");
  await button("Sign in").click();
  await page.locator("#sign-in-token-error").getByText("does not accept this token").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
});

test("a staff token signs in to an empty table", async () => {
  await page.getByLabel("API token").fill(local.token);
  await button("Sign in").click();
  await page.getByRole("heading", { name: "Remote Offering Sync", level: 1 }).waitFor();
  await page.getByText("No synchronizations yet").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem("ledger.apiToken")), local.token);
  await view("empty");
});

test("a synchronization is added with choices loaded from the remote", async () => {
  await button("Add synchronization").first().click();
  const dialog = page.getByRole("dialog", { name: "Add synchronization" });
  await dialog.waitFor();
  await dialog.getByLabel("Remote API URL").fill(`${remote.url}/api/`);

  // A wrong remote token is named beside its field.
  await dialog.getByLabel("Authentication token").fill("wrong-remote-token");
  await button("Load organizations and categories").click();
  await dialog.locator("#token-error").waitFor();
  assert.doesNotMatch(await dialog.locator("#token-error").innerText(), /[{}[\]]/);

  await dialog.getByLabel("Authentication token").fill(remote.token);
  await button("Load organizations and categories").click();
  await dialog.getByText(/Loaded 1 organization and 2 categories/).waitFor();
  assert.equal(await dialog.locator("#token-error").isHidden(), true);
  await dialog.getByLabel("Remote organization").selectOption({ label: `${REMOTE_ORG} (RPO)` });
  await dialog.getByLabel("Local service provider").selectOption({ label: "Local Provider" });
  await dialog.getByLabel("Remote category").selectOption({ label: "Remote Compute" });
  await dialog.getByLabel("Local category").selectOption({ label: "Local Compute" });
  assert.equal(await dialog.getByLabel("Enable synchronization").isChecked(), true);
  await view("add-dialog");

  await button("Create").click();
  await dialog.waitFor({ state: "hidden" });
  await row().waitFor();
  await row().getByText("Scheduled", { exact: true }).waitFor();
  await row().getByText("Never", { exact: true }).waitFor();
  await row().getByText("Local Provider").waitFor();
  const syncs = await local.client.get("/api/marketplace-remote-synchronisations/");
  assert.equal(syncs.length, 1);
  assert.equal(syncs[0].remote_organization_name, REMOTE_ORG);
  assert.equal(syncs[0].remotelocalcategory_set[0].remote_category_name, "Remote Compute");
});

test("synchronizing shows the running state, then OK and the counts", async () => {
  // The run's answer is held back until the running state has been seen.
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route("**/run_synchronisation/", async (route) => {
    const response = await route.fetch();
    await released;
    await route.fulfill({ response });
  });

  await button(`Synchronize ${SYNC}`).click();
  const running = button("Synchronizing…");
  await running.waitFor();
  assert.equal(await running.isDisabled(), true);
  await row().getByText("Processing", { exact: true }).waitFor();
  await screenshot("synchronizing");
  release();

  await row().getByText("OK", { exact: true }).waitFor();
  await button(`Synchronize ${SYNC}`).waitFor();
  await row().getByText("1 created").waitFor();
  await row().getByText("just now").waitFor();
  await page.unroute("**/run_synchronisation/");
  await view("after-sync");
});

test("the results of the last run name the imported offering", async () => {
  await button(`Results of ${SYNC}`).click();
  const dialog = page.getByRole("dialog", { name: "Results of last run" });
  await dialog.waitFor();
  const link = dialog.getByRole("link", { name: REMOTE_OFFERING });
  await link.waitFor();
  assert.match(await link.getAttribute("href"), /\/api\/marketplace-provider-offerings\/[0-9a-f]{32}\/$/);
  await dialog.getByRole("heading", { name: "Created offerings (1)" }).waitFor();
  await dialog.getByRole("heading", { name: "Previous runs" }).waitFor();
  assert.match(await dialog.locator("pre.log").innerText(), /\S/);
  await view("results");
  await dialog.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
});

test("editing shows the saved settings and saves them again", async () => {
  await button(`Edit ${SYNC}`).click();
  const dialog = page.getByRole("dialog", { name: "Edit synchronization" });
  await dialog.waitFor();
  const organization = dialog.getByLabel("Remote organization");
  assert.equal(await organization.isDisabled(), true);
  assert.equal(await organization.locator("option:checked").innerText(), REMOTE_ORG);
  assert.equal(await dialog.getByLabel("Remote API URL").inputValue(), `${remote.url}/api/`);
  await dialog.getByText("Loaded 2 categories").waitFor();
  assert.equal(await dialog.getByLabel("Remote category").locator("option:checked").innerText(), "Remote Compute");
  assert.equal(await dialog.getByLabel("Local category").locator("option:checked").innerText(), "Local Compute");
  assert.equal(
    await dialog.getByLabel("Local service provider").locator("option:checked").innerText(),
    "Local Provider",
  );

  // A second rule without a local category is refused in place.
  await button("Add rule").click();
  await dialog.getByLabel("Remote category").nth(1).selectOption({ label: "Remote Storage" });
  await button("Save changes").click();
  await dialog.getByText("Choose the local category.").waitFor();
  await view("edit-dialog");
  await dialog.getByLabel("Local category").nth(1).selectOption({ label: "Local Storage" });
  await button("Save changes").click();
  await dialog.waitFor({ state: "hidden" });
  const [sync] = await local.client.get("/api/marketplace-remote-synchronisations/");
  assert.deepEqual(
    sync.remotelocalcategory_set.map((m) => m.remote_category_name).sort(),
    ["Remote Compute", "Remote Storage"],
  );
});

test("disabling a synchronization shows it disabled", async () => {
  await button(`Disable ${SYNC}`).click();
  await row().getByText("Disabled", { exact: true }).waitFor();
  await button(`Enable ${SYNC}`).waitFor();
  const [sync] = await local.client.get("/api/marketplace-remote-synchronisations/");
  assert.equal(sync.is_active, false);
  await view("disabled");
});

test("on a narrow screen the table becomes a list", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await row().waitFor();
  await view("narrow");
  await button(`Results of ${SYNC}`).click();
  const dialog = page.getByRole("dialog", { name: "Results of last run" });
  await dialog.getByRole("link", { name: REMOTE_OFFERING }).waitFor();
  await view("narrow-results");
  await dialog.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
  await page.setViewportSize({ width: 1280, height: 860 });
});

test("a run that fails is shown Erred, with its message", async () => {
  await remote.stop();
  await button(`Synchronize ${SYNC}`).click();
  await row().getByText("Erred", { exact: true }).waitFor();
  const banner = page.locator("#banner");
  await banner.getByText(`The synchronization of ${REMOTE_ORG} failed.`).waitFor();
  assert.match(await banner.innerText(), /Unable to reach/);
  await row().getByText("1 error").waitFor();
  await view("erred");

  await button(`Results of ${SYNC}`).click();
  const dialog = page.getByRole("dialog", { name: "Results of last run" });
  await dialog.getByText("The run failed.").waitFor();
  await dialog.getByRole("heading", { name: "Previous runs" }).waitFor();
  assert.equal(await dialog.locator(".runs-table tbody tr").count(), 2);
  await view("erred-results");
  await dialog.getByRole("button", { name: "Close" }).click();
});

test("deleting asks first and then empties the table", async () => {
  await button(`Delete ${SYNC}`).click();
  const dialog = page.getByRole("dialog", { name: "Delete synchronization?" });
  await dialog.waitFor();
  await dialog.getByText("cannot be undone").waitFor();
  await view("delete-confirm");
  await dialog.getByRole("button", { name: "Delete" }).click();
  await page.getByText("No synchronizations yet").waitFor();
  assert.equal(await row().count(), 0);
  const syncs = await local.client.get("/api/marketplace-remote-synchronisations/");
  assert.equal(syncs.length, 0);
});

test("signing out forgets the token; a user who is not staff is told so", async () => {
  await button("Sign out").click();
  await page.getByRole("heading", { name: "Sign in" }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);

  const token = await local.userToken("alice");
  await page.getByLabel("API token").fill(token);
  await button("Sign in").click();
  await page.getByRole("heading", { name: "Staff only" }).waitFor();
  await page.getByText("alice").first().waitFor();
  assert.equal(await button("Add synchronization").first().isVisible(), false);
  await view("not-staff");
});

test("nothing broke the page or its policy", () => {
  assert.deepEqual(problems, []);
});
