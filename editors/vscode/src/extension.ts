// The buildlens VS Code extension: starts `buildlens serve` (LSP over stdio) for Dockerfiles and for the
// build logs of the store, and adds the commands and the status bar item the server cannot provide.
// Lenses, hints, hover, diagnostics and log links all come from the server; this file only wires them.

import * as vscode from "vscode";
import { LanguageClient, LanguageClientOptions, ServerOptions, State } from "vscode-languageclient/node";

import { resolveBinary, reportMissingBinary } from "./binary";
import { registerCommands } from "./commands";
import { BuildStatus } from "./status";
import { registerTimeline } from "./timeline";

/** Documents the server handles: Dockerfiles (VS Code's `dockerfile` language plus two name patterns) and logs. */
function documentSelector(logGlobs: string[]): LanguageClientOptions["documentSelector"] {
  return [
    { scheme: "file", language: "dockerfile" },
    { scheme: "file", pattern: "**/Containerfile" },
    { scheme: "file", pattern: "**/*.Dockerfile" },
    { scheme: "file", language: "buildlens-log" },
    ...logGlobs.map((pattern) => ({ scheme: "file", pattern })),
  ];
}

/** The `buildlens` section as the server reads it (`initializationOptions`, `workspace/configuration`). */
export function serverSettings(): Record<string, unknown> {
  const c = vscode.workspace.getConfiguration("buildlens");
  return {
    storePath: c.get<string | null>("storePath") || null,
    logGlobs: c.get<string[]>("logGlobs", []),
    codeLens: { enabled: c.get<boolean>("codeLens.enabled", true) },
    inlayHints: { enabled: c.get<boolean>("inlayHints.enabled", true) },
    lenses: c.get<string>("lenses", "auto"),
    historyDepth: c.get<number>("historyDepth", 10),
    docker: { host: c.get<string | null>("docker.host") || null },
    explain: { expensiveSeconds: c.get<number>("explain.expensiveSeconds", 60) },
    maxDocumentBytes: c.get<number>("maxDocumentBytes", 8 * 1024 * 1024),
    remote: c.get<string | null>("remote") || null,
    remoteLast: c.get<number>("remoteLast", 20),
    remoteIntervalSeconds: c.get<number>("remoteIntervalSeconds", 300),
  };
}

/** Owns the one language client of the window; restarts it when the binary or the log globs change. */
class Server {
  client: LanguageClient | undefined;
  /** Restarts run one after another: two quick setting changes must not start two servers. */
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly output: vscode.LogOutputChannel) {}

  async start(): Promise<void> {
    const binary = await resolveBinary();
    if (!binary.path) {
      reportMissingBinary(binary.configured);
      return;
    }
    const serverOptions: ServerOptions = {
      command: binary.path,
      args: ["serve"],
      options: { env: { ...process.env, RUST_BACKTRACE: "1" } },
    };
    const settings = serverSettings();
    const clientOptions: LanguageClientOptions = {
      documentSelector: documentSelector(settings.logGlobs as string[]),
      initializationOptions: settings,
      outputChannel: this.output,
      // didChangeConfiguration on every change of the section; the server also pulls it.
      synchronize: { configurationSection: "buildlens" },
    };
    const client = new LanguageClient("buildlens", "buildlens", serverOptions, clientOptions);
    this.client = client;
    try {
      await client.start();
    } catch (e) {
      // A binary that exists but does not start (wrong file, not executable): say so once, no retry loop.
      this.client = undefined;
      const msg = `buildlens: could not start "${binary.path} serve": ${e instanceof Error ? e.message : String(e)}`;
      this.output.appendLine(msg);
      reportMissingBinary(binary.configured, msg);
    }
  }

  restart(): Promise<void> {
    this.queue = this.queue
      .then(() => this.stop())
      .then(() => this.start())
      .catch((e) => this.output.appendLine(`buildlens: restart failed: ${e instanceof Error ? e.message : String(e)}`));
    return this.queue;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client && client.state !== State.Stopped) {
      await client.stop().catch(() => undefined);
    }
  }

  ready(): LanguageClient | undefined {
    return this.client && this.client.state === State.Running ? this.client : undefined;
  }
}

let server: Server | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("buildlens", { log: true });
  server = new Server(output);
  const status = new BuildStatus(output);
  context.subscriptions.push(output, status);
  registerCommands(context, () => server?.ready());
  registerTimeline(context);
  context.subscriptions.push(
    vscode.commands.registerCommand("buildlens.restartServer", () => server?.restart()),
    vscode.workspace.onDidChangeConfiguration((e) => {
      // The binary and the document selector are fixed at start: those two need a restart.
      if (e.affectsConfiguration("buildlens.binaryPath") || e.affectsConfiguration("buildlens.logGlobs")) {
        void server?.restart();
      }
      if (e.affectsConfiguration("buildlens")) {
        status.watch();
      }
    }),
  );
  status.watch();
  await server.restart();
}

export async function deactivate(): Promise<void> {
  await server?.stop();
}
