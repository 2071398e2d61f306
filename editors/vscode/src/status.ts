// The status bar item: the last recorded build's result and duration, from `buildlens builds --json`
// (the same store the server reads), refreshed when a record's files change. Click: open that build's log
// at its failure (the failed step's cause, else its output), through the server's `buildlens.openLog`.

import { execFile } from "child_process";
import * as path from "path";
import * as vscode from "vscode";

import { resolveBinary } from "./binary";

interface StepRow {
  status?: string;
  output?: { start?: number } | null;
  cause?: { offset?: number } | null;
}

interface Row {
  id: string;
  log: string;
  meta?: { started?: string; finished?: string | null; exit_code?: number | null; command?: string[] } | null;
  builds?: { result?: string; steps?: StepRow[] | null }[] | null;
}

/** The byte offset in the log where the newest record's failure shows: the first failed step's cause
 * line, else the start of its output. `undefined` when no step failed. Pure, for the e2e test. */
export function failureOffset(row: Row): number | undefined {
  for (const build of (row.builds ?? []).slice().reverse()) {
    const failed = (build.steps ?? []).find((s) => s.status === "error");
    if (failed) {
      return failed.cause?.offset ?? failed.output?.start ?? undefined;
    }
  }
  return undefined;
}

export interface Shown {
  text: string;
  tooltip: string;
}

function seconds(ms: number): string {
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)}s`;
  }
  const m = Math.floor(ms / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** What the item says for the newest record (ids sort by time). Pure, for the e2e test to check. */
export function describe(row: Row): Shown {
  const started = row.meta?.started ? Date.parse(row.meta.started) : NaN;
  const finished = row.meta?.finished ? Date.parse(row.meta.finished) : NaN;
  const running = !row.meta?.finished;
  const dur = !Number.isNaN(started) && !Number.isNaN(finished) ? ` ${seconds(finished - started)}` : "";
  const last = row.builds?.[row.builds.length - 1]?.result;
  const exit = row.meta?.exit_code;
  const tooltip = `buildlens: last build ${row.id}\n${(row.meta?.command ?? []).join(" ")}\nClick to open its log${row.builds?.some((b) => b.result === "failed") ? " at the failure" : ""}.`;
  if (running) {
    return { text: "$(sync~spin) build running", tooltip };
  }
  if (last === "success" || (last === undefined && exit === 0)) {
    return { text: `$(check) build ok${dur}`, tooltip };
  }
  if (last === "canceled") {
    return { text: `$(circle-slash) build canceled${dur}`, tooltip };
  }
  return { text: `$(error) build failed${dur}`, tooltip };
}

export class BuildStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem("buildlens.lastBuild", vscode.StatusBarAlignment.Left, 10);
  private watchers: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly output: vscode.OutputChannel) {
    this.item.name = "buildlens: last build";
  }

  /** (Re)creates the file watchers for the store and refreshes now. */
  watch(): void {
    this.watchers.forEach((w) => w.dispose());
    const store = vscode.workspace.getConfiguration("buildlens").get<string | null>("storePath");
    const pattern = store ? new vscode.RelativePattern(vscode.Uri.file(store), "builds/*/*.json") : "**/.buildlens/builds/*/*.json";
    const w = vscode.workspace.createFileSystemWatcher(pattern);
    const kick = () => this.schedule();
    this.watchers = [w, w.onDidCreate(kick), w.onDidChange(kick), w.onDidDelete(kick)];
    this.schedule();
  }

  /** Coalesces bursts of file events (a recording writes meta.json twice, the indexer summary.json). */
  private schedule(): void {
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => void this.refresh(), 300);
  }

  private async refresh(): Promise<void> {
    const binary = await resolveBinary();
    const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (!binary.path || !root) {
      this.item.hide();
      return;
    }
    const store = vscode.workspace.getConfiguration("buildlens").get<string | null>("storePath");
    const args = ["builds", "--json", ...(store ? ["--store", path.resolve(root, store)] : [])];
    execFile(binary.path, args, { cwd: root, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err) {
        this.output.appendLine(`buildlens builds --json: ${err.message}`);
        this.item.hide();
        return;
      }
      this.show(stdout);
    });
  }

  private show(stdout: string): void {
    let rows: Row[];
    try {
      rows = JSON.parse(stdout) as Row[];
    } catch {
      this.item.hide();
      return;
    }
    const last = rows.slice().sort((a, b) => a.id.localeCompare(b.id))[rows.length - 1];
    if (!last) {
      this.item.hide();
      return;
    }
    const shown = describe(last);
    this.item.text = shown.text;
    this.item.tooltip = shown.tooltip;
    this.item.command = { title: "Open build log", command: "buildlens.openBuildLog", arguments: [last.log, failureOffset(last)] };
    this.item.show();
  }

  dispose(): void {
    this.watchers.forEach((w) => w.dispose());
    if (this.timer) {
      clearTimeout(this.timer);
    }
    this.item.dispose();
  }
}
