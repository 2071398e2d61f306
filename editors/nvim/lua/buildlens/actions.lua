--- The open-log action (`:BuildlensOpenLog`, the open-log key) and the client-side `buildlens.debugShell`
--- command. Protocol: `buildlens.openLog` takes `[{path, offset}]` and answers with `window/showDocument`
--- where the client supports it and/or returns `{uri, range}`; `buildlens.debugShell` takes
--- `[{argv, cwd, title}]` and is run by the client (here in a `:terminal`).
local compat = require('buildlens.compat')

local M = {}

local OPEN_LOG = 'buildlens.openLog'
local DEBUG_SHELL = 'buildlens.debugShell'

--- The open-log lens of the instruction under the cursor: the lens on the cursor line, else the nearest
--- one above it (the cursor may be on a continuation line of the instruction).
function M.lens_at(lenses, line)
  local best
  for _, lens in ipairs(lenses or {}) do
    local cmd = lens.command
    local l = lens.range and lens.range.start.line
    if cmd and cmd.command == OPEN_LOG and l and l <= line and (not best or l > best.range.start.line) then
      best = lens
    end
  end
  return best
end

local function supports_show_document()
  local caps = vim.lsp.protocol.make_client_capabilities()
  return caps.window and caps.window.showDocument and caps.window.showDocument.support == true
end

local function warn(msg)
  vim.notify('buildlens: ' .. msg, vim.log.levels.WARN)
end

--- Runs `buildlens.openLog` for `lens` and opens what it answers (or, on a client without
--- showDocument and a server that returns nothing, the log at the lens's byte offset).
local function run_open_log(client, bufnr, lens)
  local cmd = lens.command
  local arg = cmd.arguments and cmd.arguments[1] or {}
  local params = { command = cmd.command, arguments = cmd.arguments }
  compat.request(client, 'workspace/executeCommand', params, function(err, result)
    if err then
      warn('openLog failed: ' .. (err.message or vim.inspect(err)))
      return
    end
    local stats = require('buildlens').stats
    if type(result) == 'table' and result.uri then
      local line = type(result.range) == 'table' and result.range.start and result.range.start.line or 0
      stats.open_log = 'answer'
      compat.open_at(vim.uri_to_fname(result.uri), line)
    elseif not supports_show_document() and arg.path then
      stats.open_log = 'offset'
      compat.open_at_offset(arg.path, tonumber(arg.offset) or 0)
    end
    -- Otherwise the server's window/showDocument opens it.
  end, bufnr)
end

--- The open-log commands of the quiet lines, which have an inlay hint (its label part carries the command)
--- instead of a lens, as lenses: {range, command}.
function M.hint_lenses(hints)
  local out = {}
  for _, hint in ipairs(hints or {}) do
    for _, part in ipairs(type(hint.label) == 'table' and hint.label or {}) do
      if part.command and part.command.command == OPEN_LOG then
        table.insert(out, { range = { start = hint.position }, command = part.command })
      end
    end
  end
  return out
end

--- Opens the last log of the step under the cursor: its lens, or on a quiet line its hint's command.
function M.open_log()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = compat.clients(bufnr)[1]
  if not client then
    warn('no buildlens server attached to this buffer')
    return
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  compat.request(client, 'textDocument/codeLens', params, function(err, lenses)
    if err then
      warn('codeLens failed: ' .. (err.message or vim.inspect(err)))
      return
    end
    local range = { start = { line = 0, character = 0 }, ['end'] = { line = line + 1, character = 0 } }
    local hint_params = { textDocument = params.textDocument, range = range }
    compat.request(client, 'textDocument/inlayHint', hint_params, function(_, hints)
      local all = vim.list_extend(vim.deepcopy(lenses or {}), M.hint_lenses(hints))
      local lens = M.lens_at(all, line)
      if not lens then
        warn('no recorded step on this line')
        return
      end
      run_open_log(client, bufnr, lens)
    end, bufnr)
  end, bufnr)
end

--- The global (not buffer-local) normal-mode mapping of `lhs`, or nil.
local function global_map(lhs)
  for _, m in ipairs(vim.api.nvim_get_keymap('n')) do
    if m.lhs == lhs then
      return m
    end
  end
end

--- What `gx` does without the plugin (0.10+: open the URL under the cursor; 0.7: netrw's).
local function fallback_gx()
  local m = global_map('gx')
  if m and m.callback then
    m.callback()
  elseif m and m.rhs and m.rhs ~= '' then
    local keys = vim.api.nvim_replace_termcodes(m.rhs, true, false, true)
    vim.api.nvim_feedkeys(keys, m.noremap == 1 and 'n' or 'm', false)
  end
end

--- The document link of `line` (0-based) among `links`: a log line holds at most one.
function M.link_at(links, line)
  for _, link in ipairs(links or {}) do
    if link.range and link.range.start.line == line and type(link.target) == 'string' then
      return link
    end
  end
end

--- In a build log: opens the Dockerfile line the link on the cursor line points at (`file:///…#L16`), from
--- any column; on a line without a link, does what the global `gx` does.
function M.follow_link()
  local bufnr = vim.api.nvim_get_current_buf()
  local client = compat.clients(bufnr)[1]
  if not client then
    return fallback_gx()
  end
  local line = vim.api.nvim_win_get_cursor(0)[1] - 1
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  compat.request(client, 'textDocument/documentLink', params, function(err, links)
    local link = not err and M.link_at(links, line)
    if not link then
      return fallback_gx()
    end
    local uri, fragment = link.target:match('^([^#]*)#?(.*)$')
    local target_line = tonumber(fragment:match('^L(%d+)') or '1') or 1
    compat.open_at(vim.uri_to_fname(uri), target_line - 1)
  end, bufnr)
end

--- `buildlens.debugShell`: a new window with a `:terminal` running argv in cwd.
function M.debug_shell(command)
  local arg = command and command.arguments and command.arguments[1]
  if type(arg) ~= 'table' or type(arg.argv) ~= 'table' or #arg.argv == 0 then
    warn('buildlens.debugShell takes {argv, cwd, title}')
    return
  end
  vim.cmd('botright new')
  local opts = {}
  if type(arg.cwd) == 'string' and arg.cwd ~= '' then
    opts.cwd = arg.cwd
  end
  local job
  if compat.has_011 then
    job = vim.fn.jobstart(arg.argv, vim.tbl_extend('force', opts, { term = true }))
  else
    job = vim.fn.termopen(arg.argv, opts)
  end
  if job <= 0 then
    warn('could not start ' .. tostring(arg.argv[1]))
    return
  end
  if type(arg.title) == 'string' then
    vim.b.buildlens_title = arg.title
  end
  vim.cmd('startinsert')
  return job
end

function M.register()
  vim.lsp.commands[DEBUG_SHELL] = function(command)
    M.debug_shell(command)
  end
  vim.api.nvim_create_user_command('BuildlensOpenLog', function()
    M.open_log()
  end, { desc = 'buildlens: open the last log of the step under the cursor' })
end

return M
