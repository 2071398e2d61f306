--- Draws the server's code lenses itself, one virtual line above the instruction (`virt_lines_above`), in a
--- highlight group that says the status (`BuildlensFailed`, `BuildlensWillRebuild`, `BuildlensRunning`,
--- `BuildlensLens`, `BuildlensQuiet`), shortened with `…` to fit the window. Neovim's own code-lens
--- display puts every lens at the end of the line in one colour, where a long one is cut at the window
--- edge. The lenses are still saved with `vim.lsp.codelens.save`, so `vim.lsp.codelens.run()` and
--- `vim.lsp.codelens.get()` work as usual. Quiet lines have no lens (the server gives them an inlay hint).
local compat = require('buildlens.compat')

local M = {}

M.ns = vim.api.nvim_create_namespace('buildlens.lenses')

--- Highlight group -> the group it links to by default (`:highlight link` it to change).
M.groups = {
  BuildlensFailed = 'DiagnosticError',
  BuildlensWillRebuild = 'DiagnosticWarn',
  BuildlensRunning = 'DiagnosticInfo',
  BuildlensLens = 'DiagnosticHint',
  BuildlensQuiet = 'Comment',
}

--- The lenses last drawn, by buffer.
local drawn = {}

function M.define_highlights()
  for group, link in pairs(M.groups) do
    vim.cmd(('highlight default link %s %s'):format(group, link))
  end
end

--- The group of a lens title, from the symbol it starts with (the server puts the status first).
function M.group(title)
  local symbols = {
    { '✗', 'BuildlensFailed' },
    { '↻', 'BuildlensWillRebuild' },
    { '⏵', 'BuildlensRunning' },
    { '✓', 'BuildlensQuiet' },
    { '⊘', 'BuildlensQuiet' },
  }
  for _, s in ipairs(symbols) do
    if vim.startswith(title, s[1]) then
      return s[2]
    end
  end
  return 'BuildlensLens'
end

--- `text` cut to `width` display cells, ending in `…` when cut.
function M.fit(text, width)
  if vim.fn.strdisplaywidth(text) <= width then
    return text
  end
  local chars = vim.fn.strchars(text)
  while chars > 0 and vim.fn.strdisplaywidth(vim.fn.strcharpart(text, 0, chars)) > width - 1 do
    chars = chars - 1
  end
  return vim.fn.strcharpart(text, 0, chars) .. '…'
end

--- The columns before the text of `win` as its options ask for them, with an `auto` sign column counted as
--- shown: the diagnostics' signs often arrive after the lenses (and Neovim updates the window's `textoff`
--- only at its next redraw), and would push a lens that fit past the window edge.
local function gutter(win, bufnr)
  local wo = vim.wo[win]
  local cols = 0
  if wo.number or wo.relativenumber then
    cols = math.max(wo.numberwidth, #tostring(vim.api.nvim_buf_line_count(bufnr)) + 1)
  end
  cols = cols + (tonumber(wo.foldcolumn) or tonumber(wo.foldcolumn:match('(%d+)$') or '') or 0)
  local sc = wo.signcolumn
  if sc:sub(1, 4) == 'auto' or sc:sub(1, 3) == 'yes' then
    cols = cols + 2 * (tonumber(sc:match(':(%d+)$') or sc:match(':(%d+)') or '1') or 1)
  end
  return cols
end

--- The width text may take in the windows showing `bufnr` (the narrowest), less the sign/number columns.
local function width(bufnr)
  local best
  for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
    local info = vim.fn.getwininfo(win)[1]
    local w = vim.api.nvim_win_get_width(win) - math.max(info and info.textoff or 0, gutter(win, bufnr))
    best = best and math.min(best, w) or w
  end
  return (best or vim.o.columns) - 1
end

--- Draws `lenses` (LSP CodeLens[]) on `bufnr`: the titles of one line side by side, each in its group.
function M.draw(bufnr, lenses)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  drawn[bufnr] = lenses
  vim.api.nvim_buf_clear_namespace(bufnr, M.ns, 0, -1)
  local by_line, order = {}, {}
  for _, lens in ipairs(lenses or {}) do
    local title = lens.command and lens.command.title
    if title and title ~= '' then
      local l = lens.range.start.line
      if not by_line[l] then
        by_line[l] = {}
        table.insert(order, l)
      end
      table.insert(by_line[l], title)
    end
  end
  local room, last = width(bufnr), vim.api.nvim_buf_line_count(bufnr)
  for _, l in ipairs(order) do
    if l < last then
      local chunks, used = {}, 0
      for i, title in ipairs(by_line[l]) do
        local sep = i > 1 and '  ' or ''
        local text = M.fit(title, room - used - #sep)
        if text == '…' or room - used - #sep < 2 then
          break
        end
        if sep ~= '' then
          table.insert(chunks, { sep, 'BuildlensQuiet' })
        end
        table.insert(chunks, { text, M.group(title) })
        used = used + #sep + vim.fn.strdisplaywidth(text)
      end
      -- Above the line; the first line of a buffer has no room above it on screen, so its lens goes below.
      pcall(vim.api.nvim_buf_set_extmark, bufnr, M.ns, l, 0, { virt_lines = { chunks }, virt_lines_above = l > 0 })
    end
  end
end

--- Asks the server for the lenses of `bufnr` and draws them.
function M.refresh(bufnr)
  if not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  for _, client in ipairs(compat.clients(bufnr)) do
    local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
    compat.request(client, 'textDocument/codeLens', params, function(err, result)
      if err or not vim.api.nvim_buf_is_loaded(bufnr) then
        return
      end
      pcall(vim.lsp.codelens.save, result or {}, bufnr, client.id)
      M.draw(bufnr, result or {})
    end, bufnr)
  end
end

local uv = vim.uv or vim.loop
--- Buffer -> its debounce timer, while the buffer's changes are watched.
local timers = {}

local function stats()
  return require('buildlens').stats
end

--- Refreshes the lenses of `bufnr` `delay_ms` after its last change, whatever made it: `:s`, `u`, `p`, a
--- plugin, the API (nvim_buf_attach sees them all; TextChanged only fires back in the main loop). A burst of
--- changes gives one request. In Insert mode it waits: InsertLeave refreshes, and lines above the cursor do
--- not jump while typing.
function M.watch(bufnr, delay_ms)
  if timers[bufnr] then
    return
  end
  local timer = uv.new_timer()
  timers[bufnr] = timer
  local fire = vim.schedule_wrap(function()
    if timers[bufnr] ~= timer or not vim.api.nvim_buf_is_loaded(bufnr) then
      return
    end
    local mode = vim.api.nvim_get_mode().mode
    if mode:sub(1, 1) == 'i' or mode:sub(1, 1) == 'R' then
      return
    end
    stats().edit_refresh = stats().edit_refresh + 1
    M.refresh(bufnr)
  end)
  local function stop()
    if timers[bufnr] == timer then
      timers[bufnr] = nil
    end
    timer:stop()
    if not timer:is_closing() then
      timer:close()
    end
  end
  vim.api.nvim_buf_attach(bufnr, false, {
    on_lines = function()
      if timers[bufnr] ~= timer then
        return true -- detach: the buffer was unwatched
      end
      timer:stop()
      timer:start(delay_ms, 0, fire)
    end,
    on_reload = function()
      timer:stop()
      timer:start(delay_ms, 0, fire)
    end,
    on_detach = stop,
  })
end

--- Whether a debounced refresh of `bufnr` is waiting to run.
function M.pending(bufnr)
  local timer = timers[bufnr]
  return timer ~= nil and timer:is_active()
end

--- Draws the last lenses again (the window width changed).
function M.redraw_all()
  for bufnr, lenses in pairs(drawn) do
    if vim.api.nvim_buf_is_loaded(bufnr) then
      M.draw(bufnr, lenses)
    else
      drawn[bufnr] = nil
    end
  end
end

return M
