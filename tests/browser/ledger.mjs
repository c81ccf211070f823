// Real `ledger serve` processes for the browser tests: each on a database of its own and a
// free port, with its staff token read from the output of its first start, and a small
// JSON client for seeding it through its API.

import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";

const run = promisify(execFile);

/** The repository's root. */
export const root = fileURLToPath(new URL("../..", import.meta.url)).replace(/\/$/, "");

/** The built binary (tests/run builds it). */
export const ledgerBin =
  process.env.LEDGER_BIN || `${process.env.CARGO_TARGET_DIR || `${root}/target`}/debug/ledger`;

const databaseServer = process.env.TEST_DATABASE_SERVER || "postgres://postgres@127.0.0.1:5432";

/** The key the test ledgers encrypt stored remote tokens with. */
const SECRET_KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

async function dropDatabase(name) {
  await run("psql", [`${databaseServer}/postgres`, "-qc", `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`]);
}

/**
 * Starts `ledger serve` on a new database called `ledger_browser_<label>_<pid>`; resolves
 * once it listens. `stop()` ends it and drops the database.
 */
export async function startLedger(label) {
  const database = `ledger_browser_${label}_${process.pid}`;
  const databaseUrl = `${databaseServer}/${database}`;
  await dropDatabase(database);
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    LEDGER_REMOTE_ALLOW_PRIVATE: "true",
    LEDGER_SECRET_KEY: SECRET_KEY,
    LEDGER_CATCH_UP_INTERVAL_MS: "200",
    RUST_LOG: process.env.RUST_LOG || "warn",
  };
  const child = spawn(ledgerBin, ["serve", "--listen", "127.0.0.1:0"], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // What it prints goes to stdout, its log to stderr; both are kept for failure reports.
  let printed = "";
  let output = "";
  const started = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ledger ${label} did not start:\n${output}`)), 120_000);
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      printed += chunk;
      output += chunk;
      const url = printed.match(/^Listening on (\S+)$/m);
      const token = printed.match(/^Created staff user[^\n]*\n(\S+)$/m);
      if (url && token) {
        clearTimeout(timer);
        resolve({ url: url[1], token: token[1] });
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk) => {
      output += chunk;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`ledger ${label} exited with ${code}:\n${output}`));
    });
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`ledger ${label} could not be started (${ledgerBin}): ${err.message}`));
    });
  });
  const { url, token } = await started;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    url,
    token,
    databaseUrl,
    client: new Client(url, token),
    output: () => output,
    /** A token for a user who is not staff (created if needed), through `ledger token create`. */
    async userToken(username) {
      const { stdout } = await run(ledgerBin, ["token", "create", "--username", username], { env });
      return stdout.trim().split("\n").pop().trim();
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timeout = new Promise((resolve) => setTimeout(resolve, 10_000, "timeout"));
      if ((await Promise.race([exited, timeout])) === "timeout") child.kill("SIGKILL");
      await dropDatabase(database);
    },
  };
}

/** JSON over HTTP with a token; fails on any status but the one expected. */
export class Client {
  constructor(url, token) {
    this.url = url;
    this.token = token;
  }

  async call(method, path, body, expected) {
    const headers = { Authorization: `Token ${this.token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) {
      throw new Error(`${method} ${path}: expected ${expected}, got ${response.status}: ${text}`);
    }
    return text ? JSON.parse(text) : null;
  }

  get(path) {
    return this.call("GET", path, undefined, 200);
  }

  create(path, body) {
    return this.call("POST", path, body, 201);
  }

  action(path, body) {
    return this.call("POST", path, body, 200);
  }
}

/** An organization registered as a service provider. */
export async function createProvider(client, name, abbreviation) {
  const customer = await client.create("/api/customers/", { name, abbreviation });
  await client.create("/api/marketplace-service-providers/", { customer: customer.url });
  return customer;
}

/** A shared, active offering with one component and one plan. */
export async function createActiveOffering(client, { name, customer, category }) {
  const offering = await client.create("/api/marketplace-provider-offerings/", {
    name,
    category: category.url,
    customer: customer.url,
    type: "Marketplace.Basic",
    shared: true,
    components: [{ type: "cpu", name: "CPU", billing_type: "limit" }],
    plans: [{ name: "Default", unit: "month", unit_price: "1", prices: { cpu: "10" } }],
  });
  await client.action(`/api/marketplace-provider-offerings/${offering.uuid}/activate/`);
  return offering;
}
