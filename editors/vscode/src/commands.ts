// The extension's commands: record a build in a terminal, open the step's last log (through the server's
// `buildlens.openLog`), import a log, and `buildlens.debugShell`, the client-side command the server puts
// on lenses and code actions of failed steps (`{argv, cwd, title}`: run argv in a terminal).

import * as path from "path";
import * as vscode from "vscode";
import { CodeLensRequest, ExecuteCommandRequest, LanguageClient } from "vscode-languageclient/node";

import { binaryForShell } from "./binary";

/** POSIX shell quoting for a command line shown to (and editable by) the user. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_\-+=.,/:@%]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function workspaceRoot(uri?: vscode.Uri): string | undefined {
  const folder = (uri && vscode.workspace.getWorkspaceFolder(uri)) ?? vscode.workspace.workspaceFolders?.[0];
  return folder?.uri.fsPath;
}

/** `BUILDLENS_STORE` for terminals when `buildlens.storePath` is set, so CLI and editor see one store. */
function storeEnv(): Record<string, string> {
  const store = vscode.workspace.getConfiguration("buildlens").get<string | null>("storePath");
  return store ? { BUILDLENS_STORE: store } : {};
}

function runInTerminal(name: string, commandLine: string, cwd: string | undefined): void {
  const terminal = vscode.window.createTerminal({ name, cwd, env: storeEnv() });
  terminal.show();
  terminal.sendText(commandLine, true);
}

async function recordBuild(): Promise<void> {
  const doc = vscode.window.activeTextEditor?.document;
  if (!doc || doc.uri.scheme !== "file") {
    void vscode.window.showWarningMessage("buildlens: open the Dockerfile to build first.");
    return;
  }
  if (doc.isDirty) {
    await doc.save();
  }
  const root = workspaceRoot(doc.uri) ?? path.dirname(doc.uri.fsPath);
  const rel = (p: string) => path.relative(root, p) || ".";
  const file = doc.uri.fsPath;
  const suggestion = `${await binaryForShell()} record -- docker build -f ${shellQuote(rel(file))} ${shellQuote(rel(path.dirname(file)))}`;
  const commandLine = await vscode.window.showInputBox({
    title: "Record a build",
    prompt: "The build command to run and record (edit tags, build args, --target, ...)",
    value: suggestion,
    ignoreFocusOut: true,
  });
  if (commandLine?.trim()) {
    runInTerminal("buildlens record", commandLine, root);
  }
}

/** Lenses carrying `buildlens.openLog`, nearest at or above the cursor (a lens sits on an instruction's first line). */
async function openStepLog(getClient: () => LanguageClient | undefined): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const client = getClient();
  if (!editor || !client) {
    void vscode.window.showWarningMessage("buildlens: open a Dockerfile with the language server running.");
    return;
  }
  const uri = client.code2ProtocolConverter.asUri(editor.document.uri);
  const lenses = (await client.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
  const cursor = editor.selection.active.line;
  const candidates = lenses
    .filter((l) => l.command?.command === "buildlens.openLog" && l.range.start.line <= cursor)
    .sort((a, b) => b.range.start.line - a.range.start.line);
  const lens = candidates[0];
  if (!lens?.command) {
    void vscode.window.showInformationMessage("buildlens: no recorded run of the step under the cursor.");
    return;
  }
  const result = await client.sendRequest(ExecuteCommandRequest.type, {
    command: lens.command.command,
    arguments: lens.command.arguments,
  });
  await openTarget(client, result);
}

/** The server sends `window/showDocument`; it also returns `{uri, range}`, which we open when present. */
async function openTarget(client: LanguageClient, result: unknown): Promise<void> {
  const target = result as { uri?: string; range?: Parameters<typeof client.protocol2CodeConverter.asRange>[0] } | null;
  if (!target?.uri) {
    return;
  }
  const uri = client.protocol2CodeConverter.asUri(target.uri);
  const range = target.range ? client.protocol2CodeConverter.asRange(target.range) : undefined;
  await vscode.window.showTextDocument(uri, { selection: range, preview: false });
}

async function importLog(): Promise<void> {
  const files = await vscode.window.showOpenDialog({
    canSelectMany: true,
    openLabel: "Import",
    title: "Import build logs into the buildlens store",
    filters: { "Build logs": ["log", "txt", "jsonl", "json"], "All files": ["*"] },
  });
  if (!files?.length) {
    return;
  }
  const args = files.map((f) => shellQuote(f.fsPath)).join(" ");
  runInTerminal("buildlens import", `${await binaryForShell()} import ${args}`, workspaceRoot(files[0]));
}

interface DebugShellArgs {
  argv: string[];
  cwd?: string;
  title?: string;
}

/** Runs argv directly (no shell between), so the server's arguments arrive exactly as sent. */
function debugShell(arg: DebugShellArgs | undefined): void {
  if (!arg || !Array.isArray(arg.argv) || arg.argv.length === 0 || arg.argv.some((a) => typeof a !== "string")) {
    void vscode.window.showErrorMessage("buildlens.debugShell takes {argv: string[], cwd, title}.");
    return;
  }
  // Typed into a shell, not run as the terminal's process: the command stays visible and editable, and when
  // `buildlens debug` stops with an error (no daemon, a moved context) its message stays on screen.
  runInTerminal(arg.title || "buildlens debug", arg.argv.map(shellQuote).join(" "), arg.cwd || workspaceRoot());
}

/** A build log, at byte `offset` when given: the server turns the offset into a line (`buildlens.openLog`,
 * the lenses' command); without a server, the log opens at its top. */
async function openBuildLog(getClient: () => LanguageClient | undefined, log: string, offset?: number): Promise<void> {
  const client = getClient();
  if (client && typeof offset === "number") {
    const result = await client
      .sendRequest(ExecuteCommandRequest.type, { command: "buildlens.openLog", arguments: [{ path: log, offset, line: null }] })
      .catch(() => undefined);
    if (result) {
      await openTarget(client, result);
      return;
    }
  }
  await vscode.window.showTextDocument(vscode.Uri.file(log), { preview: false });
}

export function registerCommands(context: vscode.ExtensionContext, getClient: () => LanguageClient | undefined): void {
  context.subscriptions.push(
    vscode.commands.registerCommand("buildlens.openBuildLog", (log: string, offset?: number) => openBuildLog(getClient, log, offset)),
    vscode.commands.registerCommand("buildlens.recordBuild", recordBuild),
    vscode.commands.registerCommand("buildlens.openStepLog", () => openStepLog(getClient)),
    vscode.commands.registerCommand("buildlens.importLog", importLog),
    vscode.commands.registerCommand("buildlens.debugShell", debugShell),
  );
}
