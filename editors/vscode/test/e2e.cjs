// End-to-end check of the packaged extension in real VS Code (code-server) through headless Chromium.
// scripts/test-vscode.sh starts code-server (the .vsix installed) and Chromium (remote debugging), then runs:
//
//   node e2e.cjs   with E2E_CDP (Chromium's DevTools URL), E2E_URL (code-server), E2E_FOLDER (the example
//                  copy), E2E_SHOTS (screenshot folder); playwright-core comes from NODE_PATH.
//
// Every check waits on a DOM condition with a deadline (no fixed sleeps) and throws a clear message; the
// exit code is 1 when one fails. What the lenses must say is what `buildlens report fixtures/example/Dockerfile`
// prints for the example's three recorded builds.
"use strict";

const fs = require("fs");
const path = require("path");
const { chromium } = require("playwright-core");

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const CDP = env("E2E_CDP");
const URL = env("E2E_URL");
const FOLDER = env("E2E_FOLDER");
const SHOTS = env("E2E_SHOTS");
const USER_SETTINGS = env("E2E_USER_SETTINGS");
// Lens texts of the example (build #3 is the last one: the toolchain ran 8.1 s, the package step failed).
const TOOLCHAIN_LINE = "RUN for part in binutils gcc-initial musl gcc-final";
const TOOLCHAIN_LENS = process.env.E2E_TOOLCHAIN_LENS || "⏱ 8.2s · rebuilt: line 8 COPY changed inputs";
const FAILED_LINE = "RUN sh package/hello/build.sh";
// The headline is the first output line that reads like the cause (the compiler's error), not make's echo.
const HELLO_C_ERROR = "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'";
const FAILED_LENS = `✗ failed (exit 2): ${HELLO_C_ERROR}`;
const FAILED_PROBLEM = `${HELLO_C_ERROR} (exit 2)`;
// Line 7, edited at its end by the test (issue 14: an append was not seen).
const FEEDS_LINE = 'RUN echo "Updating feeds for OpenWrt $OPENWRT_RELEASE"';

const log = (msg) => console.error(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`);
let page;
let shot = 0;

async function screenshot(name) {
  if (!page) return;
  shot += 1;
  const file = path.join(SHOTS, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file }).catch((e) => log(`screenshot ${name} failed: ${e.message}`));
}

/** Polls `probe` (runs in the page or here) until it returns a truthy value; throws `what` after `ms`. */
async function until(what, probe, ms = 30000) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms / 1000}s waiting for ${what}${last ? ` (last: ${String(last).slice(0, 300)})` : ""}`);
    }
    await page.waitForTimeout(200); // poll interval of a condition wait, not a synchronisation sleep
  }
}

/** The editor's rendered line whose text starts with `text`: its box (page coordinates). */
async function lineBox(text) {
  const line = page.locator(".monaco-editor .view-lines .view-line").filter({ hasText: text }).first();
  if ((await line.count()) === 0) return null;
  return line.boundingBox();
}

/** Every code lens of the editor with its text and box. */
async function lenses() {
  return page.$$eval(".monaco-editor .contentWidgets .codelens-decoration", (els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      return { text: e.textContent || "", y: r.y, bottom: r.bottom, height: r.height };
    }),
  );
}

/** The lens containing `lensText` sits directly above the line starting with `lineText` (within two lines). */
async function assertLensAbove(lensText, lineText) {
  // Geometry is checked inside the wait: a refresh (new sizes, the context walk) re-renders the lenses, and a
  // lens being laid out again measures 0..0 for a moment.
  const { lens } = await until(`a code lens "${lensText}" right above "${lineText}"`, async () => {
    const box = await lineBox(lineText);
    const all = await lenses();
    const lens = all.find((l) => l.text.includes(lensText));
    if (!lens) throw new Error(`lenses shown: ${JSON.stringify(all.map((l) => l.text))}`);
    if (!box) return null;
    const gap = box.y - lens.bottom;
    if (!(lens.height > 0 && lens.bottom <= box.y + 1 && gap < 2 * box.height)) {
      throw new Error(`lens "${lens.text}" is not right above "${lineText}": lens ${lens.y}..${lens.bottom}, line at ${box.y}`);
    }
    return { box, lens };
  }, 90000);
  log(`lens ok: "${lens.text}" above "${lineText}"`);
}

async function openExample() {
  await page.goto(`${URL}/?folder=${encodeURIComponent(FOLDER)}`);
  const row = page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^Dockerfile$/ }) });
  await until("the Explorer to list Dockerfile", async () => (await row.count()) > 0, 60000);
  await row.first().click();
  await until("the Dockerfile to open in an editor", async () => (await lineBox("FROM fixture-base AS sdk")) !== null);
  log("Dockerfile open");
}

async function assertHoverTable() {
  const box = await lineBox(TOOLCHAIN_LINE);
  if (!box) throw new Error(`line "${TOOLCHAIN_LINE}" is not rendered`);
  const hover = page.locator(".monaco-hover:not(.hidden)").filter({ has: page.locator("table") });
  const table = await until("a hover with the history table over the toolchain RUN line", async () => {
    // Move off and back on, so a hover that closed early is asked for again.
    await page.mouse.move(box.x + 5, box.y - 200);
    await page.mouse.move(box.x + 60, box.y + box.height / 2);
    await hover.first().waitFor({ state: "visible", timeout: 3000 });
    return hover.first().evaluate((el) => {
      const t = el.querySelector("table");
      const head = [...t.querySelectorAll("th")].map((c) => c.textContent.trim());
      const rows = [...t.querySelectorAll("tbody tr")].map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent.trim()));
      const text = (el.querySelector(".hover-contents") || el).textContent || "";
      return { head, rows, text };
    });
  }, 60000);
  await screenshot("hover-history");
  // The toolchain's stage is not the target: no sizes, so no size column, and a line says why (issue 14 item 7).
  const want = ["build (UTC)", "when", "status", "duration", "cached", "exit"];
  if (want.join() !== table.head.join()) throw new Error(`hover table headers ${JSON.stringify(table.head)}, want ${want}`);
  if (!table.text.includes("No layer sizes: stage sdk is not the target")) throw new Error(`the hover does not say why there are no sizes: ${table.text}`);
  if (table.rows.length !== 3) throw new Error(`hover table has ${table.rows.length} rows, want 3 (three recorded builds): ${JSON.stringify(table.rows)}`);
  if (!table.rows.every((r) => r.includes("executed"))) throw new Error(`hover rows are not all "executed": ${JSON.stringify(table.rows)}`);
  // Each row names its build, newest first: `#3 · 08:31` (with the date when not today).
  const builds = table.rows.map((r) => (/^#(\d+) · (\d\d-\d\d )?\d\d:\d\d$/.exec(r[0]) || [])[1]);
  if (builds.join(",") !== "3,2,1") throw new Error(`hover rows' builds ${JSON.stringify(table.rows.map((r) => r[0]))}, want #3, #2, #1`);
  // As rendered: the cause reads plainly (no backslash escapes, no raw kind name after it).
  const cause = "(against build #2): rebuilt because line 8 (COPY . .) was not cached: its inputs changed (package/hello/build.sh)";
  if (!table.text.includes(cause)) throw new Error(`hover does not read "${cause}": ${table.text.slice(0, 600)}`);
  if (table.text.includes("\\") || table.text.includes("parent-rebuilt")) throw new Error(`hover shows an escape or a kind name: ${table.text.slice(0, 600)}`);
  log(`hover ok: ${JSON.stringify(table.rows)}`);
  await page.mouse.move(5, 5);
  await page.keyboard.press("Escape");
}

async function assertSquiggle() {
  await until(`an error squiggle on "${FAILED_LINE}"`, async () => {
    const box = await lineBox(FAILED_LINE);
    if (!box) return false;
    const squiggles = await page.$$eval(".monaco-editor .view-overlays .squiggly-error", (els) => els.map((e) => e.getBoundingClientRect().y));
    return squiggles.some((y) => Math.abs(y - box.y) < box.height / 2);
  });
  // Its hover offers the debug shell as a quick fix ("Quick Fix…"), not "No quick fixes available".
  const box = await lineBox(FAILED_LINE);
  await page.mouse.move(box.x + 40, box.y + box.height / 2);
  const actions = await until("the failure's hover with its quick fix", async () => {
    const text = await page.locator(".monaco-hover:not(.hidden)").first().textContent().catch(() => "");
    if (!text || !/Quick Fix|No quick fixes/.test(text)) return null;
    if (text.includes("No quick fixes")) throw new Error(`the hover says "No quick fixes": ${text.slice(-200)}`);
    return text;
  });
  await page.mouse.move(5, 5);
  await page.keyboard.press("Escape");
  log(`squiggle ok; its hover: "…${actions.slice(-60)}"`);
}

async function assertProblems() {
  await page.keyboard.press("Control+Shift+M");
  const text = await until("the Problems panel to list the failed step", async () => {
    const rows = await page.$$eval(".markers-panel .monaco-list-row", (els) => els.map((e) => e.textContent || ""));
    return rows.find((r) => r.includes(FAILED_PROBLEM) && r.includes("Ln 16,"));
  });
  await screenshot("problems");
  log(`problems ok: ${text.slice(0, 160)}`);
}

async function assertStatusBar() {
  const item = await until("the status bar item with the last build", async () =>
    page.$$eval(".statusbar-item", (els) => els.map((e) => e.textContent || "").find((t) => t.includes("build failed"))),
  );
  if (!/build failed \d+(\.\d)?s/.test(item)) throw new Error(`status bar item "${item}" has no duration`);
  // A click opens the newest record's log at its failure (the hello.c error line), not at line 1.
  const records = path.join(FOLDER, ".buildlens", "builds");
  const newest = fs.readdirSync(records).sort().pop();
  const logLines = fs.readFileSync(path.join(records, newest, "build.log"), "utf8").split("\n");
  const want = logLines.findIndex((l) => l.includes(HELLO_C_ERROR)) + 1;
  if (want < 2) throw new Error(`no "${HELLO_C_ERROR}" in ${newest}/build.log`);
  await page.locator(".statusbar-item", { hasText: "build failed" }).first().click();
  const pos = await until(`build.log to open at its failure (line ${want}) from the status bar`, async () => {
    const tab = await page.locator(".tabs-container .tab.active").textContent();
    const items = await page.$$eval(".statusbar-item", (els) => els.map((e) => (e.textContent || "").trim()));
    const at = items.find((t) => /^Ln \d+, Col \d+/.test(t));
    if (!(tab && tab.includes("build.log") && at)) return null;
    if (Number(/^Ln (\d+)/.exec(at)[1]) !== want) throw new Error(`build.log open at ${at}, want line ${want}`);
    return at;
  });
  // The log marks its own error lines as hints, and Problems still lists the failure once (the Dockerfile's).
  await until("the log's error lines marked (hint diagnostics)", async () => (await page.locator(".monaco-editor .squiggly-hint").count()) > 0);
  const labels = await page.$$eval(".statusbar-item, .statusbar-item a", (els) => els.map((e) => `${e.getAttribute("aria-label") || ""}|${e.textContent || ""}`));
  const problems = labels.find((t) => /^Errors: \d+/.test(t) || /No Problems/i.test(t));
  if (!/^Errors: 1\|/.test(problems || "")) throw new Error(`with the log open, Problems reads "${problems}", want 1 error: ${JSON.stringify(labels)}`);
  log(`status bar ok: "${item.trim()}", opens build.log at ${pos}; problems "${problems}"`);
  await runCommand("View: Close Editor");
  // The Dockerfile was a preview tab that the log replaced: open it again.
  const row = page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^Dockerfile$/ }) });
  await row.first().click();
  await until("the Dockerfile back in front", async () => (await lineBox(TOOLCHAIN_LINE)) !== null);
}

/** Runs a command from the palette (F1) by its title. */
async function runCommand(title) {
  await page.keyboard.press("Escape");
  await page.keyboard.press("F1");
  const input = page.locator(".quick-input-widget input");
  await input.waitFor({ state: "visible", timeout: 10000 });
  await input.fill(`>${title}`);
  await page.locator(".quick-input-widget .monaco-list-row", { hasText: title }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press("Enter");
}

/** `buildlens.recordBuild` offers the command line to edit, prefilled for this Dockerfile (not run here). */
async function assertRecordPrompt() {
  const box = await lineBox(TOOLCHAIN_LINE);
  await page.mouse.click(box.x + 200, box.y + box.height / 2);
  await runCommand("buildlens: Record a build of this Dockerfile");
  const value = await until("the record input box", async () => {
    const title = await page.locator(".quick-input-widget .quick-input-title").textContent().catch(() => "");
    const v = await page.locator(".quick-input-widget input").inputValue();
    return title.includes("Record a build") && v;
  }, 10000);
  await screenshot("record-prompt");
  if (!value.endsWith(" record -- docker build -f Dockerfile .")) throw new Error(`record command line "${value}"`);
  await page.keyboard.press("Escape");
  log(`record prompt ok: "${value}"`);
}

/** `buildlens.openStepLog` from the command palette, cursor in the toolchain step: its log opens at the step. */
async function assertOpenStepLog() {
  const box = await lineBox(TOOLCHAIN_LINE);
  await page.mouse.click(box.x + 200, box.y + box.height / 2);
  await runCommand("buildlens: Open the last log of the step under the cursor");
  const where = await until("build.log to open at the toolchain step (buildlens.openStepLog)", async () => {
    const tab = await page.locator(".tabs-container .tab.active").textContent();
    const items = await page.$$eval(".statusbar-item", (els) => els.map((e) => (e.textContent || "").trim()));
    const pos = items.find((t) => /^Ln \d+, Col \d+/.test(t));
    const lang = items.find((t) => t === "Build log (buildlens)");
    return tab && tab.includes("build.log") && pos && lang && { pos, lang };
  });
  await screenshot("open-step-log");
  const line = Number(/^Ln (\d+)/.exec(where.pos)[1]);
  // The toolchain step's header is log line 44 and its output starts on 46 (build #3's build.log).
  if (line < 44 || line > 46) throw new Error(`build.log opened at ${where.pos}, want the toolchain step (lines 44-46)`);
  log(`open step log ok: build.log at ${where.pos}, language "${where.lang}"`);
}

/** A missing binary: one error message with a button that opens the setting. A new window, so the workbench
 * reads the changed settings file at start (a running code-server window does not watch it). */
async function assertMissingBinary() {
  const settings = JSON.parse(fs.readFileSync(USER_SETTINGS, "utf8"));
  settings["buildlens.binaryPath"] = "/nonexistent/buildlens";
  fs.writeFileSync(USER_SETTINGS, JSON.stringify(settings, null, 2));
  const context = page.context();
  await page.close();
  page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  await openExample();
  const toast = page.locator(".notification-toast").filter({ hasText: 'the executable "/nonexistent/buildlens" was not found' });
  await until("the missing-binary error message", async () => (await toast.count()) > 0, 60000);
  await screenshot("missing-binary");
  const count = await toast.count();
  if (count !== 1) throw new Error(`${count} missing-binary messages, want exactly 1`);
  await toast.first().getByRole("button", { name: "Open Setting" }).click();
  await until("the Settings editor on buildlens.binaryPath", async () =>
    page.$$eval(".settings-editor .setting-item-contents", (els) =>
      els.some((e) => (e.textContent || "").includes("Binary Path") && [...e.querySelectorAll("input")].some((i) => i.value === "/nonexistent/buildlens")),
    ),
  );
  await screenshot("binary-setting");
  log("missing binary ok: one message, its button opens the setting");
}

/** The failed step's `Debug: shell before this step` lens runs `buildlens.debugShell`: an integrated terminal
 * named after the server's command (`buildlens debug Dockerfile:16`) opens and the command runs in it. What
 * follows depends on the docker CLI the terminal's shell finds (a debug build and a shell, or an error): here
 * the terminal and the command's first words are checked. */
async function assertDebugShell() {
  // Open-log replaced the Dockerfile's tab: open the Dockerfile again from the Explorer.
  const row = page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^Dockerfile$/ }) });
  await row.first().click();
  await until("the Dockerfile to open again", async () => (await lineBox("FROM fixture-base AS sdk")) !== null);
  const link = page.locator(".monaco-editor .contentWidgets .codelens-decoration a", { hasText: "Debug: shell before this step" });
  await until("the debug lens on the failed step", async () => (await link.count()) > 0);
  await link.first().click();
  const title = await until("a terminal named after the debug command", async () =>
    page.$$eval(".part.panel .terminal-tabs-entry, .part.panel .single-terminal-tab, .part.panel .terminal-tab, .part.panel .monaco-icon-label", (els) =>
      els.map((e) => e.textContent || "").find((t) => t.includes("buildlens debug Dockerfile:16")),
    ),
  );
  // The command runs in that terminal's shell: `buildlens debug` names the failed step and its build before it
  // needs the daemon (without one it stops there, and its message stays on screen). xterm puts only the visible
  // rows in the DOM, and with a daemon the debug build's output (then the debug shell) scrolls that first line
  // away: each probe scrolls the terminal to its top and reads the rows. New output may scroll it back down
  // before the read; once the output stops (a prompt, or the debug shell waiting), a probe sees the top.
  const shown = await until("buildlens debug to name the failed build in the terminal", async () => {
    await runCommand("Terminal: Scroll to Top");
    return page.$$eval(".part.panel .xterm-rows", (els) => els.map((e) => e.textContent || "").find((t) => t.includes("failed in build 20261124T083104.046Z-b5b3")));
  });
  await screenshot("debug-shell");
  // code-server keeps terminals across page loads: the debug build or shell must not follow into the next check.
  await runCommand("Terminal: Kill All Terminals");
  log(`debug shell ok: terminal "${title.trim()}" shows "${shown.trim().slice(0, 120)}…"`);
}

/** An unsaved edit at the end of line 7 (` && echo done`, typed, not saved): the server sees it (didChange) and
 * marks the line: the estimate lens above it and the `will rebuild` inlay hint on it. Undo takes them away. */
async function assertEditWillRebuild() {
  const row = page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^Dockerfile$/ }) });
  await row.first().click();
  await until("the Dockerfile to open again", async () => (await lineBox(FEEDS_LINE)) !== null);
  const box = await lineBox(FEEDS_LINE);
  await page.mouse.click(box.x + 200, box.y + box.height / 2);
  await page.keyboard.press("End");
  await page.keyboard.type(" && echo done");
  await assertLensAbove("↻ this edit rebuilds", FEEDS_LINE);
  const line = page.locator(".monaco-editor .view-lines .view-line").filter({ hasText: FEEDS_LINE }).first();
  // Monaco draws spaces as no-break spaces; the hint is injected text inside the line's own element.
  const lineText = async () => ((await line.textContent()) || "").replace(/\u00a0/g, " ");
  // One signal per line: the quiet `✓ cached` hint of line 7 gives way to the will-rebuild lens.
  const shown = await until("line 7 edited, without its cached hint", async () => {
    const text = await lineText();
    if (!text.includes("&& echo done") || text.includes("✓ cached")) throw new Error(`line 7 reads "${text}"`);
    return text;
  });
  // Every line after it in the stage says it too, in place of its last run (no stale `⏱ … rebuilt` lens).
  await assertLensAbove("↻ will rebuild · last 8.2s", TOOLCHAIN_LINE);
  await until("no lens of a last run left after the edit", async () => {
    const stale = (await lenses()).filter((l) => l.text.startsWith("⏱") || l.text.startsWith("✗"));
    if (stale.length) throw new Error(`stale lenses: ${JSON.stringify(stale.map((l) => l.text))}`);
    return true;
  });
  await screenshot("edit-will-rebuild");
  const dirty = await page.locator(".tabs-container .tab.active.dirty").count();
  if (dirty !== 1) throw new Error("the edited Dockerfile's tab is not dirty: the check must run on an unsaved buffer");
  log(`edit ok: line 7 reads "${shown.trim().slice(-60)}"`);
  // Typing makes several undo stops: undo until the line is as built.
  for (let i = 0; i < 20 && /routing"\s*&&/.test(await lineText()); i += 1) await page.keyboard.press("Control+Z");
  await until("the will-rebuild marks to go after undo", async () => {
    const all = await lenses();
    return !all.some((l) => l.text.includes("this edit rebuilds")) && (await lineText()).includes("✓ cached");
  });
  log("undo ok: the marks went");
}

/** One signal per line (issue 14): a line with a lens has no hint repeating it, a quiet line has a hint and
 * no lens. Monaco puts inlay hints inside the line's own element. */
async function assertOneSignalPerLine() {
  const text = async (start) =>
    ((await page.locator(".monaco-editor .view-lines .view-line").filter({ hasText: start }).first().textContent()) || "").replace(/\u00a0/g, " ");
  const failed = await text(FAILED_LINE);
  if (failed.includes("failed")) throw new Error(`the failed line repeats its lens: "${failed}"`);
  const toolchain = await text(TOOLCHAIN_LINE);
  if (toolchain.includes("8.2s")) throw new Error(`the toolchain line repeats its lens: "${toolchain}"`);
  await until("the quiet line 7 to carry its `✓ cached` hint", async () => {
    const quiet = await text(FEEDS_LINE);
    if (!quiet.includes("✓ cached")) throw new Error(`line 7 reads "${quiet}"`);
    return true;
  });
  const all = await lenses();
  if (all.some((l) => l.text.startsWith("✓"))) throw new Error(`a cached line has a lens: ${JSON.stringify(all.map((l) => l.text))}`);
  log("one signal per line ok");
}

/** The frame of the timeline webview (code-server nests it: webview iframe, then its content frame). */
async function timelineFrame() {
  for (const f of page.frames()) {
    if (await f.$("svg#timeline").catch(() => null)) return f;
  }
  return null;
}

/** `buildlens: Show build timeline` opens the page beside the Dockerfile: build #3's eight steps, the critical
 * path outlined; a click on the toolchain's bar reveals its line in the Dockerfile. */
async function assertTimeline() {
  const row = page.locator(".explorer-folders-view .monaco-list-row").filter({ has: page.locator(".label-name", { hasText: /^Dockerfile$/ }) });
  await row.first().click();
  await until("the Dockerfile in front", async () => (await lineBox(FEEDS_LINE)) !== null);
  await until("the Dockerfile's language active", async () => {
    const items = await page.$$eval(".statusbar-item", (els) => els.map((e) => (e.textContent || "").trim()));
    return items.some((t) => /^(Docker|Dockerfile)$/i.test(t));
  });
  const box = await lineBox(FEEDS_LINE);
  await page.mouse.click(Math.max(box.x, 420) + 60, box.y + box.height / 2);
  await runCommand("buildlens: Show build timeline");
  const frame = await until("the timeline webview with its bars", timelineFrame, 30000);
  const bars = await frame.$$eval("rect.bar", (els) => els.map((e) => `${e.getAttribute("data-line")}${e.getAttribute("class").includes("crit") ? "◆" : ""}`));
  if (bars.join(" ") !== "3◆ 5◆ 6◆ 7◆ 8◆ 9◆ 14◆ 16◆") throw new Error(`timeline bars ${bars.join(" ")}`);
  await screenshot("timeline");
  await frame.locator('rect.bar[data-line="9"]').click();
  const pos = await until("the toolchain line revealed by a click on its bar", async () => {
    const items = await page.$$eval(".statusbar-item", (els) => els.map((e) => (e.textContent || "").trim()));
    const at = items.find((t) => /^Ln \d+, Col \d+/.test(t));
    return at && at.startsWith("Ln 9,") && at;
  });
  const picked = await frame.textContent("#picked");
  if (!picked.startsWith("line 9: RUN for part in")) throw new Error(`the page named "${picked}"`);
  log(`timeline ok: bars ${bars.join(" ")}, a click revealed ${pos}`);
}

async function main() {
  const browser = await chromium.connectOverCDP(CDP);
  const context = browser.contexts()[0] || (await browser.newContext());
  page = await context.newPage();
  await page.setViewportSize({ width: 1600, height: 1000 });
  try {
    await openExample();
    await assertLensAbove(TOOLCHAIN_LENS, TOOLCHAIN_LINE);
    await assertLensAbove(FAILED_LENS, FAILED_LINE);
    await assertOneSignalPerLine();
    await screenshot("lenses");
    await assertSquiggle();
    await assertHoverTable();
    await assertProblems();
    await assertStatusBar();
    await assertRecordPrompt();
    await assertOpenStepLog();
    await assertDebugShell();
    await assertEditWillRebuild();
    await assertTimeline();
    await assertMissingBinary();
    await screenshot("done");
    log("all VS Code checks passed");
  } catch (e) {
    await screenshot("FAILED");
    throw e;
  } finally {
    await browser.close().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`VS Code e2e FAILED: ${e.message}`);
    process.exit(1);
  },
);
