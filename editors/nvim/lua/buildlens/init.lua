--- buildlens for Neovim: starts `buildlens serve` for Dockerfiles and for build logs in the store,
--- refreshes code lenses, enables inlay hints, opens a step's log (`:BuildlensOpenLog`) and runs the
--- client-side `buildlens.debugShell` command in a `:terminal`. Neovim 0.10+; degrades on 0.7-0.9
--- (see `:help buildlens-compat`).
local compat = require('buildlens.compat')
local lenses = require('buildlens.lenses')

local M = {}

M.defaults = {
  --- The server binary (`binaryPath` is accepted too, as in VS Code's settings).
  binary = 'buildlens',
  --- The whole command line; default `{ binary, 'serve' }`.
  cmd = nil,
  --- Server settings (section `buildlens`), sent as initializationOptions and workspace/configuration.
  settings = {
    storePath = nil,
    logGlobs = nil,
    codeLens = { enabled = true },
    inlayHints = { enabled = true },
    --- 'auto': a lens only where there is something to act on or notice, a short hint elsewhere; 'all'.
    lenses = 'auto',
    historyDepth = 10,
    docker = { host = nil },
    explain = { expensiveSeconds = 60 },
  },
  --- Filetype given to `.buildlens/builds/*/build.log`.
  log_filetype = 'buildlens-log',
  --- Keys (normal mode, buffer-local); false for none. open_log: the open-log action in Dockerfiles;
  --- follow_link: in build logs, the Dockerfile line of the link under the cursor (else the global gx).
  keys = { open_log = '<leader>bl', follow_link = 'gx' },
  --- Lenses are asked for again this long after the last change of the buffer (normal-mode edits too).
  debounce_ms = 300,
  inlay_hints = true,
  codelens = true,
  --- Start the server from the plugin's FileType autocommand. On 0.11 you may set this to false and call
  --- `vim.lsp.enable('buildlens')` instead: the `vim.lsp.config` entry is registered either way.
  autostart = true,
  --- Called as on_attach(client, bufnr) after the plugin's own set-up.
  on_attach = nil,
}

M.config = vim.deepcopy(M.defaults)
--- Counters the tests read (how often the server asked for a lens refresh).
M.stats = { codelens_refresh = 0, inlay_hint_refresh = 0, edit_refresh = 0 }

local group = vim.api.nvim_create_augroup('buildlens', { clear = true })
local notified_missing = {}

function M.command()
  local cfg = M.config
  return cfg.cmd or { cfg.binaryPath or cfg.settings.binaryPath or cfg.binary, 'serve' }
end

--- Settings without the client-only keys and without empty tables: an empty Lua table is encoded as a
--- JSON array or object unpredictably, and one malformed value makes the server ignore the section.
local function clean(value)
  if type(value) ~= 'table' then
    return value
  end
  local out, any = {}, false
  for k, v in pairs(value) do
    if k ~= 'binaryPath' then
      local c = clean(v)
      if c ~= nil then
        out[k], any = c, true
      end
    end
  end
  return any and out or nil
end

function M.server_settings()
  return clean(M.config.settings) or vim.empty_dict()
end

--- The workspace root: the nearest folder up holding `.buildlens`, else the git root, else the file's folder.
function M.root_dir(path)
  local dir = vim.fn.fnamemodify(path ~= '' and path or vim.fn.getcwd(), ':p:h')
  local git
  while true do
    if vim.fn.isdirectory(dir .. '/.buildlens') == 1 then
      return dir
    end
    if not git and vim.fn.isdirectory(dir .. '/.git') + vim.fn.filereadable(dir .. '/.git') > 0 then
      git = dir
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      break
    end
    dir = parent
  end
  return git or vim.fn.fnamemodify(path, ':p:h')
end

local function binary_ok()
  local cmd = M.command()
  if type(cmd) ~= 'table' then
    return true -- a function (0.11 `cmd`): the caller knows what it starts
  end
  local exe = cmd[1]
  if type(exe) == 'string' and vim.fn.executable(exe) == 1 then
    return true
  end
  if not notified_missing[exe] then
    notified_missing[exe] = true
    vim.notify(
      ('buildlens: server binary %q not found or not executable; install buildlens (cargo install --path .) '
        .. 'or set require("buildlens").setup{ binary = "/path/to/buildlens" }'):format(exe),
      vim.log.levels.ERROR
    )
  end
  return false
end

local function capabilities()
  local caps = vim.lsp.protocol.make_client_capabilities()
  caps.workspace = caps.workspace or {}
  -- Our handler below answers workspace/codeLens/refresh; Neovim alone does not (0.11: MethodNotFound).
  caps.workspace.codeLens = { refreshSupport = true }
  return caps
end

local function refresh_attached()
  M.stats.codelens_refresh = M.stats.codelens_refresh + 1
  for _, client in ipairs(compat.clients()) do
    for bufnr in pairs(client.attached_buffers or {}) do
      lenses.refresh(bufnr)
    end
  end
  return vim.NIL
end

--- `workspace/inlayHint/refresh`, answered by the plugin. Neovim 0.11's own handler marks the lines as not
--- applied and asks again, but a redraw before the answer re-applies the old hints under the unchanged
--- buffer version, and the answer (same version) is then never drawn: hints the server dropped (e.g. after
--- `lenses = 'all'`) stay on screen. Turning the buffer's hints off and on clears them and asks again.
local function refresh_hints(_, _, ctx)
  M.stats.inlay_hint_refresh = M.stats.inlay_hint_refresh + 1
  local client = ctx and ctx.client_id and vim.lsp.get_client_by_id(ctx.client_id)
  for bufnr in pairs(client and client.attached_buffers or {}) do
    compat.reenable_inlay_hints(bufnr)
  end
  return vim.NIL
end

local function on_attach(client, bufnr)
  local keys = M.config.keys or {}
  if keys.follow_link and vim.bo[bufnr].filetype == M.config.log_filetype then
    vim.keymap.set('n', keys.follow_link, function()
      require('buildlens.actions').follow_link()
    end, { buffer = bufnr, desc = 'buildlens: go to the Dockerfile line of the link under the cursor' })
  end
  if M.config.codelens then
    lenses.refresh(bufnr)
    lenses.watch(bufnr, M.config.debounce_ms or 300)
    vim.api.nvim_clear_autocmds({ group = group, buffer = bufnr })
    vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost' }, {
      group = group,
      buffer = bufnr,
      callback = function(ev)
        lenses.refresh(ev.buf)
      end,
    })
  end
  if M.config.inlay_hints then
    compat.enable_inlay_hints(bufnr)
  end
  local key = keys.open_log
  if key then
    vim.keymap.set('n', key, function()
      require('buildlens.actions').open_log()
    end, { buffer = bufnr, desc = 'buildlens: open the log of the step under the cursor' })
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

--- The client configuration shared by `vim.lsp.start` and the 0.11 `vim.lsp.config` entry.
function M.client_config(root)
  local settings = M.server_settings()
  return {
    name = 'buildlens',
    cmd = M.command(),
    root_dir = root,
    workspace_folders = root and { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } } or nil,
    init_options = settings,
    settings = { buildlens = settings },
    capabilities = capabilities(),
    handlers = { ['workspace/codeLens/refresh'] = refresh_attached, ['workspace/inlayHint/refresh'] = refresh_hints },
    on_attach = on_attach,
  }
end

-- 0.7: no vim.lsp.start; one client per root, attached by hand.
local legacy_clients = {}

--- Starts (or reuses) the server for `bufnr` and attaches it.
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' or vim.bo[bufnr].buftype ~= '' or not binary_ok() then
    return nil
  end
  local config = M.client_config(M.root_dir(name))
  if vim.lsp.start then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = legacy_clients[config.root_dir]
  if not id or vim.lsp.client_is_stopped(id) then
    id = vim.lsp.start_client(config)
    legacy_clients[config.root_dir] = id
  end
  if id then
    vim.lsp.buf_attach_client(bufnr, id)
  end
  return id
end

local function add_filetypes()
  local log_ft = M.config.log_filetype
  if compat.has_08 then
    vim.filetype.add({
      filename = { Containerfile = 'dockerfile', containerfile = 'dockerfile', dockerfile = 'dockerfile' },
      extension = { dockerfile = 'dockerfile', Dockerfile = 'dockerfile', containerfile = 'dockerfile' },
      pattern = { ['.*/%.buildlens/builds/[^/]+/build%.log'] = log_ft },
    })
    return
  end
  -- 0.7: filetype.lua is off by default; autocommands do it (after the built-in detection).
  local function set(pattern, ft)
    vim.api.nvim_create_autocmd({ 'BufRead', 'BufNewFile' }, {
      group = group,
      pattern = pattern,
      callback = function(ev)
        vim.bo[ev.buf].filetype = ft
      end,
    })
  end
  set({ 'Containerfile', 'containerfile', 'dockerfile', '*.Dockerfile', '*.dockerfile', '*.containerfile' }, 'dockerfile')
  set('*/.buildlens/builds/*/build.log', log_ft)
end

function M.filetypes()
  return { 'dockerfile', M.config.log_filetype }
end

--- 0.11: `vim.lsp.config('buildlens', ...)`, so `vim.lsp.enable('buildlens')` and :checkhealth know it.
local function register_lsp_config()
  if not (compat.has_011 and vim.lsp.config) then
    return
  end
  local config = M.client_config(nil)
  config.root_dir = function(bufnr, done)
    done(M.root_dir(vim.api.nvim_buf_get_name(bufnr)))
  end
  config.workspace_folders = nil
  config.filetypes = M.filetypes()
  vim.lsp.config('buildlens', config)
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  notified_missing = {}
  vim.api.nvim_clear_autocmds({ group = group })
  lenses.define_highlights()
  -- A colour scheme clears the default links; a new width changes what fits on a lens line.
  vim.api.nvim_create_autocmd('ColorScheme', { group = group, callback = lenses.define_highlights })
  vim.api.nvim_create_autocmd({ 'VimResized', 'WinEnter' }, { group = group, callback = lenses.redraw_all })
  add_filetypes()
  register_lsp_config()
  require('buildlens.actions').register()
  require('buildlens.timeline').register()
  if not M.config.autostart then
    return
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = M.filetypes(),
    callback = function(ev)
      M.attach(ev.buf)
    end,
  })
  -- Buffers opened before setup (lazy loading) get the server too.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(M.filetypes(), vim.bo[bufnr].filetype) then
      M.attach(bufnr)
    end
  end
end

return M
