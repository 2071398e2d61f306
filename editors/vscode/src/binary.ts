// Finding the `buildlens` executable (`buildlens.binaryPath`, else `PATH`) and saying clearly when it is
// missing: one message with a button to the setting, instead of a language client that restarts and fails.

import { constants as fsConstants, promises as fs } from "fs";
import * as path from "path";
import * as vscode from "vscode";

export interface Binary {
  /** What the setting says (`buildlens` by default). */
  configured: string;
  /** The executable found, or undefined. */
  path: string | undefined;
}

async function executable(file: string): Promise<boolean> {
  try {
    const st = await fs.stat(file);
    if (!st.isFile()) {
      return false;
    }
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `binaryPath` as given when it names a file (absolute, `~/`, or relative to the first workspace folder), else a `PATH` look-up. */
export async function resolveBinary(): Promise<Binary> {
  const configured = vscode.workspace.getConfiguration("buildlens").get<string>("binaryPath")?.trim() || "buildlens";
  const home = process.env.HOME ?? "";
  const expanded = configured.startsWith("~/") ? path.join(home, configured.slice(2)) : configured;
  if (expanded.includes("/") || expanded.includes("\\")) {
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? process.cwd();
    const file = path.resolve(root, expanded);
    return { configured, path: (await executable(file)) ? file : undefined };
  }
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const file = path.join(dir, expanded);
    if (dir && (await executable(file))) {
      return { configured, path: file };
    }
  }
  return { configured, path: undefined };
}

/** The binary to put on a command line the user will see and run (`buildlens` when found on PATH). */
export async function binaryForShell(): Promise<string> {
  const b = await resolveBinary();
  return b.path && b.configured !== "buildlens" ? b.path : "buildlens";
}

export function reportMissingBinary(configured: string, detail?: string): void {
  const msg =
    detail ??
    `buildlens: the executable "${configured}" was not found, so Dockerfiles get no build data. ` +
      "Install buildlens (cargo install --path .) or set buildlens.binaryPath to its full path.";
  void vscode.window.showErrorMessage(msg, "Open Setting").then((choice) => {
    if (choice === "Open Setting") {
      void vscode.commands.executeCommand("workbench.action.openSettings", "buildlens.binaryPath");
    }
  });
}
