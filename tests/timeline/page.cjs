// The timeline page (`buildlens report --html`) in real headless Chromium, driven by playwright-core.
// scripts/test-timeline.sh runs it with TL_BIN (target/debug/buildlens), TL_WORK (an empty temp folder),
// TL_SHOTS (test-artifacts/timeline) and TL_CHROMIUM (the browser); playwright-core comes from NODE_PATH.
//
// Checks, each with a clear message (exit code 1 when one fails): no console error, no page error and
// no request but the page itself; one bar per step in its stage's lane; the critical path outlined; a
// `<script>` in a step name and in its output shown as text and never run; a click names the line and
// posts {line} to a VS Code webview host. Then 1,000 steps over 100 builds: the page's size and the time
// to its first frame, printed and held to 2 MB and 1 s.
"use strict";

const fs = require("fs");
const path = require("path");
const { execFileSync } = require("child_process");
const { chromium } = require("playwright-core");
const fixtures = require("./fixtures.cjs");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const BIN = env("TL_BIN");
const WORK = env("TL_WORK");
const SHOTS = env("TL_SHOTS");
const CHROMIUM = env("TL_CHROMIUM");
const MAX_BYTES = 2 * 1024 * 1024;
const MAX_RENDER_MS = 1000;

const log = (msg) => console.error(`[timeline] ${msg}`);
function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
  log(`ok: ${what}`);
}

/** `buildlens import` the logs, then `report --html -o`; returns the page's path. */
function page(dir, logs) {
  const run = (args) => execFileSync(BIN, args, { cwd: dir, stdio: ["ignore", "pipe", "inherit"] });
  run(["import", "--store", ".bl", "--dockerfile", "Dockerfile", ...logs]);
  run(["report", "Dockerfile", "--store", ".bl", "--html", "-o", "page.html"]);
  return path.join(dir, "page.html");
}

/** A fresh page that records console errors, page errors, requests and what it posts to a VS Code host. */
async function open(browser, file) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const tab = await context.newPage();
  const trouble = [];
  const url = `file://${file}`;
  tab.on("console", (m) => m.type() === "error" && trouble.push(`console: ${m.text()}`));
  tab.on("pageerror", (e) => trouble.push(`page error: ${e.message}`));
  tab.on("request", (r) => r.url() !== url && trouble.push(`request: ${r.url()}`));
  await tab.addInitScript(() => {
    window.__posted = [];
    window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m) });
  });
  const start = Date.now();
  await tab.goto(url, { waitUntil: "load" });
  // The first frame after load: two animation frames.
  const painted = await tab.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now())))));
  return { context, tab, trouble, wall: Date.now() - start, painted };
}

/** Each bar: its line, the stage of its lane, its classes, its tooltip. */
function bars(tab) {
  return tab.$$eval("rect.bar", (els) =>
    els.map((e) => ({
      line: Number(e.getAttribute("data-line")),
      stage: e.closest("g.lane")?.getAttribute("data-stage"),
      cls: e.getAttribute("class"),
      title: e.querySelector("title")?.textContent || "",
    })),
  );
}

async function hostile(browser) {
  const dir = path.join(WORK, "hostile");
  const file = page(dir, ["build.log"]);
  const { context, tab, trouble } = await open(browser, file);
  const all = await bars(tab);
  check(all.length === 4, `one bar per step (4): ${all.length}`);
  const lanes = all.map((b) => `${b.line}:${b.stage}`).join(" ");
  check(lanes === "1:evil 2:evil 4:other 5:other", `bars in their stage's lane: ${lanes}`);
  const crit = all.filter((b) => b.cls.split(" ").includes("crit")).map((b) => b.line);
  check(crit.join(",") === "4,5", `the critical path outlined: lines ${crit}`);
  const failed = all.find((b) => b.line === 2);
  check(failed && failed.cls.includes("failed"), "the failed step in the failed colour");
  check(failed.title.includes('RUN echo "<script>window.__pwned=1</script>"'), `the step name as text in its tooltip: ${failed.title}`);
  check(failed.title.includes("<script>window.__pwned4=1</script>"), "its output's headline as text in the tooltip");
  const ran = await tab.evaluate(() => [window.__pwned, window.__pwned2, window.__pwned3, window.__pwned4].filter((x) => x !== undefined).length);
  check(ran === 0, "no script or handler from the log ran");
  check((await tab.$$("script")).length === 1, "one script element (ours)");
  const fill = await tab.$eval("rect.bar.failed", (e) => getComputedStyle(e).fill);
  const executed = await tab.$eval("rect.bar.executed", (e) => getComputedStyle(e).fill);
  check(fill !== executed && fill !== "none", `failed and executed in distinct colours (${fill} / ${executed}): the nonced style applied`);
  await tab.screenshot({ path: path.join(SHOTS, "hostile.png"), fullPage: true });
  await tab.click('rect.bar[data-line="5"]');
  const picked = await tab.textContent("#picked");
  check(picked.startsWith("line 5: RUN sleep 1"), `a click names the line: ${picked}`);
  const posted = await tab.evaluate(() => JSON.stringify(window.__posted));
  check(posted === '[{"line":5}]', `a click posts {line} to the VS Code host: ${posted}`);
  check(trouble.length === 0, `no console error, page error or request: ${trouble.join("; ")}`);
  await context.close();
}

async function large(browser) {
  const dir = path.join(WORK, "large");
  const logs = fs.readdirSync(path.join(dir, "logs")).map((f) => path.join("logs", f));
  const file = page(dir, logs);
  const size = fs.statSync(file).size;
  const { context, tab, trouble, wall, painted } = await open(browser, file);
  console.log(`timeline page: 1000 steps, ${logs.length} builds: ${(size / 1048576).toFixed(2)} MiB, first frame ${painted.toFixed(0)} ms after navigation (load + frame ${wall} ms wall)`);
  check(size < MAX_BYTES, `page under 2 MiB: ${size} bytes`);
  check(painted < MAX_RENDER_MS, `rendered in under 1 s: ${painted.toFixed(0)} ms`);
  const counts = await tab.evaluate(() => [document.querySelectorAll("rect.bar").length, document.querySelectorAll("g.lane").length, document.querySelectorAll("table.trend tr").length]);
  check(counts.join(",") === "1000,10,1000", `1000 bars in 10 lanes, 1000 trend rows: ${counts}`);
  const row = await tab.textContent('table.trend tr[data-line="50"]');
  const from = Number((row.match(/slower from build #(\d+)/) || [])[1]);
  check(from > 60, `the line that got 20 s slower after build 60 says so: ${row}`);
  check(trouble.length === 0, `no console error, page error or request: ${trouble.join("; ")}`);
  await tab.screenshot({ path: path.join(SHOTS, "large.png") });
  await context.close();
}

(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  fixtures.write(WORK);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    await hostile(browser);
    await large(browser);
  } finally {
    await browser.close();
  }
  log("all checks passed");
})().catch((e) => {
  console.error(`[timeline] FAILED: ${e.message}`);
  process.exit(1);
});
