// `buildlens: Show build timeline`: runs the configured binary's `report <Dockerfile> --html` and shows the
// page in a webview beside the Dockerfile. The page is self-contained under its own strict CSP
// (`default-src 'none'`, its one style and script by nonce), so the webview needs no local resources, no
// command URIs, and scripts only for that nonce'd script; a click on a bar posts `{line}`, which reveals the
// line in the Dockerfile.

import { execFile } from "child_process";
import * as path from "path";
import * as vscode from "vscode";

import { reportMissingBinary, resolveBinary } from "./binary";

const MAX_PAGE_BYTES = 64 * 1024 * 1024;

/** The page `buildlens report --html` prints (stdout), or an Error with its stderr. */
function reportHtml(bin: string, dockerfile: string, cwd: string): Promise<string> {
  const store = vscode.workspace.getConfiguration("buildlens").get<string | null>("storePath");
  const env = store ? { ...process.env, BUILDLENS_STORE: store } : process.env;
  return new Promise((resolve, reject) => {
    execFile(bin, ["report", dockerfile, "--html"], { cwd, env, maxBuffer: MAX_PAGE_BYTES, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(String(stderr || err.message).trim()));
      else resolve(stdout);
    });
  });
}

/** A `{line}` message from the page: a positive integer line, else nothing. */
function lineOf(message: unknown): number | undefined {
  const line = (message as { line?: unknown } | null)?.line;
  return typeof line === "number" && Number.isInteger(line) && line >= 1 ? line : undefined;
}

async function showTimeline(): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const doc = editor?.document;
  if (!editor || !doc || doc.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("buildlens: open a Dockerfile to see its build timeline.");
    return;
  }
  const bin = await resolveBinary();
  if (!bin.path) {
    reportMissingBinary(bin.configured);
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(doc.uri)?.uri.fsPath ?? path.dirname(doc.uri.fsPath);
  let html: string;
  try {
    html = await reportHtml(bin.path, doc.uri.fsPath, folder);
  } catch (e) {
    void vscode.window.showErrorMessage(`buildlens: no timeline: ${(e as Error).message}`);
    return;
  }
  const panel = vscode.window.createWebviewPanel(
    "buildlens.timeline",
    `Timeline: ${path.basename(doc.uri.fsPath)}`,
    { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true },
    { enableScripts: true, enableCommandUris: false, enableForms: false, localResourceRoots: [] },
  );
  panel.webview.html = html;
  const column = editor.viewColumn;
  panel.webview.onDidReceiveMessage(async (message: unknown) => {
    const line = lineOf(message);
    if (line === undefined) return;
    const at = new vscode.Position(Math.min(line, doc.lineCount) - 1, 0);
    const shown = await vscode.window.showTextDocument(doc, { viewColumn: column, selection: new vscode.Range(at, at), preserveFocus: false });
    shown.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  });
}

export function registerTimeline(context: vscode.ExtensionContext): void {
  context.subscriptions.push(vscode.commands.registerCommand("buildlens.showTimeline", showTimeline));
}
