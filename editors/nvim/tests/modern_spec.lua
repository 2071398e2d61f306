-- What 0.10+ adds (run on 0.11): inlay hints, lenses drawn as virtual text, the hover window, open-log
-- through window/showDocument and the key, and on 0.11 the vim.lsp.config entry.
local H = require('helpers')
local E = require('expected')
local compat = require('buildlens.compat')

vim.g.mapleader = ' '
-- The lens key the README suggests.
require('buildlens').setup({
  binary = H.bin,
  settings = { historyDepth = 2 },
  on_attach = function(_, bufnr)
    vim.keymap.set('n', '<leader>br', vim.lsp.codelens.run, { buffer = bufnr, desc = 'buildlens: run the lens' })
  end,
})
local df = H.open('Dockerfile')

-- 0.11: a vim.lsp.config entry for users of vim.lsp.enable.
if compat.has_011 then
  local entry = vim.lsp.config.buildlens
  H.truthy(entry, 'vim.lsp.config.buildlens exists')
  H.eq({ H.bin, 'serve' }, entry.cmd, 'vim.lsp.config cmd')
  H.eq({ 'dockerfile', 'buildlens-log' }, entry.filetypes, 'vim.lsp.config filetypes')
  H.eq(2, entry.settings.buildlens.historyDepth, 'vim.lsp.config settings')
end

-- Inlay hints: enabled by the plugin, labels on the expected lines.
H.truthy(vim.lsp.inlay_hint.is_enabled({ bufnr = df }), 'inlay hints enabled on the Dockerfile')
local hints = H.wait('inlay hints', function()
  local got = vim.lsp.inlay_hint.get({ bufnr = df })
  return #got > 0 and got or nil
end)
local labels = {}
for _, h in ipairs(hints) do
  local l = h.inlay_hint.position.line + 1
  labels[l] = labels[l] or {}
  local label = h.inlay_hint.label
  table.insert(labels[l], type(label) == 'string' and label or label[1].value)
end
H.eq(E.hints, labels, 'inlay hint labels by Dockerfile line')

-- Drawn by Neovim: lenses as virtual lines above their line (the plugin), hints as text at the end of the
-- quiet lines (Neovim). One signal per line: no line has both, and no hint repeats a lens.
local drawn = H.wait('lenses above line 16 and hints on line 5', function()
  local d = H.drawn(df)
  return d[16] and d[16].above[1] and d[5] and d[5].text:find('✓ cached', 1, true) and d or nil
end, function()
  return H.drawn(df)
end)
H.matches('^⏱ 8%.2s · rebuilt: line 8 COPY changed inputs · %d+[mhd] ago', drawn[9].above[1], 'lens drawn above line 9')
H.eq('', drawn[9].text, 'no hint on the lens line 9')
H.eq('BuildlensFailed', drawn[16].groups[1], 'the failed lens in BuildlensFailed')
for line, d in pairs(drawn) do
  if d.text ~= '' and #d.above > 0 then
    H.fail(('line %d says it twice: %q above, %q after'):format(line, d.above[1], d.text))
  end
end
-- At 120 columns nothing is cut: lenses are shortened to the window, hints are short.
vim.o.columns = 120
require('buildlens.lenses').redraw_all()
H.eq({}, H.cut_at(df, vim.api.nvim_win_get_width(0)), 'virtual text cut at 120 columns')

-- Hover window: vim.lsp.buf.hover() opens a float with the history table.
vim.api.nvim_win_set_cursor(0, { 16, 4 })
vim.lsp.buf.hover()
local float = H.wait('the hover window', function()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), '\n')
      if text:find('| build (UTC) | when | status |', 1, true) then
        return text
      end
    end
  end
end)
H.contains('failed', float, 'hover window shows the failed run')
H.contains("'struct sockaddr_ll' has no member named 'sll_protocol'", float, 'hover window shows the last output')
-- As Neovim shows it (escapes are drawn as typed): rows name their builds, newest first, and no backslash.
H.matches('| #3 · [%d: -]+ | [^\n]* failed |', float, 'the newest row is build #3')
H.contains('(against build #2): rebuilt because line 8 (COPY . .) was not cached', float, 'the cause reads plainly')
H.truthy(not float:find('\\', 1, true), 'no backslash escape in the hover window:\n' .. float)
H.truthy(not float:find('parent-rebuilt', 1, true), 'no raw kind name in the hover window')
vim.cmd('fclose!')

-- Line 19's last run is from build #2: the hover says the newest build (#3) stopped at line 16.
vim.api.nvim_win_set_cursor(0, { 19, 2 })
vim.lsp.buf.hover()
local older = H.wait('the hover window of line 19', function()
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    if vim.api.nvim_win_get_config(win).relative ~= '' then
      local text = table.concat(vim.api.nvim_buf_get_lines(vim.api.nvim_win_get_buf(win), 0, -1, false), '\n')
      if text:find('From build', 1, true) then
        return text
      end
    end
  end
end)
H.contains('From build #2; #3 stopped at line 16.', older, 'line 19: from an older build')
H.truthy(not older:find('\\', 1, true), 'no backslash escape in the hover window:\n' .. older)
vim.cmd('fclose!')

-- Open-log through the key (showDocument on 0.10+), from the failed line.
local log_path = H.ws .. '/' .. E.failed_log
vim.cmd('buffer ' .. df)
vim.api.nvim_win_set_cursor(0, { 16, 0 })
vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<leader>bl', true, false, true), 'x', false)
H.wait('the open-log key to open the failed log at line ' .. E.open_log[1].log_line, function()
  return H.current_file() == log_path and H.cursor_line() == E.open_log[1].log_line
end, function()
  return { H.current_file(), H.cursor_line() }
end)

-- A lens run by Neovim itself (vim.lsp.codelens.run on the cursor line, from the README's key): the
-- server's showDocument.
vim.cmd('buffer ' .. df)
vim.api.nvim_win_set_cursor(0, { 9, 0 })
vim.api.nvim_feedkeys(vim.api.nvim_replace_termcodes('<leader>br', true, false, true), 'mx', false)
H.wait('codelens.run on line 9 to open the failed log at line ' .. E.open_log[2].log_line, function()
  return H.current_file() == log_path and H.cursor_line() == E.open_log[2].log_line
end, function()
  return { H.current_file(), H.cursor_line() }
end)

-- An unsaved edit at the end of line 7 (issue 14): the will-rebuild lens, drawn by the plugin.
vim.cmd('buffer ' .. df)
local line7 = vim.api.nvim_buf_get_lines(df, 6, 7, false)[1]
vim.api.nvim_buf_set_lines(df, 6, 7, false, { line7 .. ' && echo done' })
-- The plugin asks for the lenses again (as on InsertLeave); the will-rebuild lens stands above line 7 in its
-- own colour, and line 7's quiet hint gave way to it.
require('buildlens.lenses').refresh(df)
local marked = H.wait('a will-rebuild lens above the edited line 7', function()
  local d = H.drawn(df)[7]
  return d and d.above[1] and d.above[1]:find('^↻ this edit rebuilds') and d or nil
end, function()
  return H.drawn(df)[7]
end)
H.eq('BuildlensWillRebuild', marked.groups[1], 'the will-rebuild lens in BuildlensWillRebuild')
H.truthy(vim.bo[df].modified, 'the edit is not saved')

-- workspace/inlayHint/refresh after a settings change (`lenses = 'all'`: a lens on every instruction, no
-- hints). Neovim 0.11's own handler keeps drawing the old hints when the buffer did not change since; the
-- plugin's handler clears them. What is drawn: the extmarks of Neovim's inlay-hint namespace after a redraw.
vim.cmd('buffer ' .. df)
local buildlens = require('buildlens')
local hint_ns = vim.api.nvim_get_namespaces()['nvim.lsp.inlayhint']
H.truthy(hint_ns, "Neovim's inlay hint namespace")
local function hint_marks()
  vim.cmd('redraw')
  return vim.api.nvim_buf_get_extmarks(df, hint_ns, 0, -1, { details = true })
end
H.wait('inlay hints drawn on the quiet lines', function()
  return #hint_marks() > 0
end)
-- The screen is redrawn while the hint request is in flight (as a real UI does, e.g. for the lenses that
-- arrive meanwhile): the race that leaves Neovim's stale hints in place.
local redraws = 0
vim.api.nvim_create_autocmd('LspRequest', {
  callback = function(ev)
    local req = ev.data and ev.data.request
    if req and req.method == 'textDocument/inlayHint' and req.type == 'pending' then
      redraws = redraws + 1
      vim.cmd('redraw')
    end
  end,
})
local client = compat.clients(df)[1]
client.settings.buildlens.lenses = 'all'
client:notify('workspace/didChangeConfiguration', { settings = client.settings })
H.wait('a workspace/inlayHint/refresh from the server', function()
  return buildlens.stats.inlay_hint_refresh > 0
end)
H.wait('the lens of every instruction drawn (line 5 above)', function()
  local d = H.drawn(df)[5]
  return d and d.above[1] and d.above[1]:find('cached', 1, true)
end, function()
  return H.drawn(df)[5]
end)
H.wait('no stale hint drawn after the refresh', function()
  return #hint_marks() == 0
end, function()
  return vim.tbl_map(function(m)
    return { m[2] + 1, m[4].virt_text }
  end, hint_marks())
end)
H.truthy(redraws > 0, 'a redraw happened while a hint request was in flight')
