-- What every supported Neovim (0.7.2 and 0.11) must do: start the server for a Dockerfile and for a
-- build log in the store, lens texts, diagnostics, hover, go-to-definition from the log, the open-log
-- action and the client-side `buildlens.debugShell` command.
local H = require('helpers')
local E = require('expected')
local compat = require('buildlens.compat')
local buildlens = require('buildlens')

buildlens.setup({ binary = H.bin, settings = { historyDepth = 2 } })
local dockerfile = H.ws .. '/Dockerfile'

-- Dockerfile: filetype, one client rooted at the folder holding .buildlens.
local df, client = H.open('Dockerfile')
H.eq('dockerfile', vim.bo[df].filetype, 'filetype of Dockerfile')
H.eq(H.ws, client.config.root_dir, 'root_dir (the folder holding .buildlens)')

-- Lens texts, as the server sends them ...
local lenses = H.request(client, 'textDocument/codeLens', { textDocument = { uri = vim.uri_from_bufnr(df) } }, df)
local titles = H.lens_titles(lenses)
for line, list in pairs(titles) do
  titles[line] = vim.tbl_map(E.ago, list)
end
H.eq(E.lenses, titles, 'lens titles by Dockerfile line')
-- ... and as the client holds them after the plugin's refresh (on attach).
local held = H.wait('code lenses held by the client', function()
  local got = H.lens_titles(vim.lsp.codelens.get(df))
  return next(got) and got or nil
end)
H.eq(E.lenses[16], held[16], 'lens held by the client on the failed line')

-- One signal per line (issue 14): the server's hints are on the quiet lines only, never on a lens line,
-- and no hint says what a lens on its line says.
local all = { start = { line = 0, character = 0 }, ['end'] = { line = 99, character = 0 } }
local hint_labels = H.hint_labels(H.request(client, 'textDocument/inlayHint', { textDocument = { uri = vim.uri_from_bufnr(df) }, range = all }, df))
H.eq(E.hints, hint_labels, 'inlay hint labels by Dockerfile line')
for line in pairs(hint_labels) do
  H.truthy(not titles[line], ('line %d has a lens %s and a hint %s'):format(line, vim.inspect(titles[line]), vim.inspect(hint_labels[line])))
end

-- The plugin draws each lens above its line, in the group its status says; the failed one stands out.
local lens_marks = H.wait('the lenses drawn above lines 9 and 16', function()
  local d = H.drawn(df)
  return d[16] and #d[16].above > 0 and d[9] and #d[9].above > 0 and d or nil
end, function()
  return H.drawn(df)
end)
H.contains('✗ failed (exit 2): hello.c:12:5', lens_marks[16].above[1], 'the failed lens above line 16')
H.eq('BuildlensFailed', lens_marks[16].groups[1], 'the failed lens is drawn in BuildlensFailed')
H.eq('BuildlensLens', lens_marks[9].groups[1], 'a rebuilt lens in BuildlensLens')
H.eq('DiagnosticError', vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID('BuildlensFailed')), 'name'), 'BuildlensFailed links to DiagnosticError')
H.eq('DiagnosticWarn', vim.fn.synIDattr(vim.fn.synIDtrans(vim.fn.hlID('BuildlensWillRebuild')), 'name'), 'BuildlensWillRebuild links to DiagnosticWarn')

-- 120 columns: every lens and hint fits in the window (the long failed line is shortened with `…`).
vim.o.columns = 120
require('buildlens.lenses').redraw_all()
local width = vim.api.nvim_win_get_width(0)
H.eq({}, H.cut_at(df, width), 'virtual text cut at ' .. width .. ' columns')
H.wait('the failed lens shortened to fit', function()
  local d = H.drawn(df)[16]
  return d and d.above[1] and d.above[1]:find('…', 1, true) and vim.fn.strdisplaywidth(d.above[1]) <= width
end, function()
  return H.drawn(df)[16]
end)

-- Diagnostics: the failed step's line and message.
local diags = H.wait('diagnostics on the Dockerfile', function()
  local d = vim.diagnostic.get(df)
  return #d > 0 and d or nil
end)
H.eq(1, #diags, 'number of diagnostics')
local d = diags[1]
H.eq(E.diagnostic, { lnum = d.lnum, col = d.col, severity = d.severity, source = d.source, message = d.message }, 'diagnostic')
-- Its related information points at the log line of that error.
local related = ((d.user_data or {}).lsp or {}).relatedInformation or {}
H.truthy(related[1], 'related information on the diagnostic')
H.eq(vim.uri_from_fname(H.ws .. '/' .. E.failed_log), related[1].location.uri, 'related information: the failed log')
H.eq(E.diagnostic_log_line, related[1].location.range.start.line + 1, 'related information: the line of the error')

-- Hover: the history table (historyDepth = 2 from setup{} reached the server).
local hover = H.request(client, 'textDocument/hover', H.position(df, 15, 4), df)
H.eq(E.hover_failed, E.ago(H.hover_text(hover)), 'hover on the failed RUN')

-- The server asked for a lens refresh (we advertise refreshSupport and answer it).
H.wait('a workspace/codeLens/refresh from the server', function()
  return buildlens.stats.codelens_refresh > 0
end)

-- Go-to-definition from the recorded log's step headers to the Dockerfile line.
local log, log_client = H.open(E.failed_log)
H.eq('buildlens-log', vim.bo[log].filetype, 'filetype of a build.log in the store')
H.eq(client.id, log_client.id, 'the log shares the Dockerfile client (same root)')
for _, case in ipairs(E.definitions) do
  vim.cmd('buffer ' .. log)
  vim.api.nvim_win_set_cursor(0, { case.log_line, case.col })
  vim.lsp.buf.definition()
  H.wait(('definition from log line %d to Dockerfile:%d'):format(case.log_line, case.dockerfile_line), function()
    return H.current_file() == dockerfile and H.cursor_line() == case.dockerfile_line
  end, function()
    return { H.current_file(), H.cursor_line() }
  end)
end

-- gx on a step header of the log (from column 1): the Dockerfile line, not the word under the cursor opened
-- as a URL. On a line without a link gx does what the global gx does (here a stand-in that records the line).
vim.keymap.set('n', 'gx', function()
  vim.g.global_gx = vim.fn.line('.')
end)
for _, case in ipairs({ { 44, 0, 9 }, { 61, 13, 16 } }) do
  vim.cmd('buffer ' .. log)
  vim.api.nvim_win_set_cursor(0, { case[1], case[2] })
  vim.api.nvim_feedkeys('gx', 'mx', false)
  H.wait(('gx from log line %d col %d to Dockerfile:%d'):format(case[1], case[2] + 1, case[3]), function()
    return H.current_file() == dockerfile and H.cursor_line() == case[3]
  end, function()
    return { H.current_file(), H.cursor_line() }
  end)
end
H.eq(nil, vim.g.global_gx, 'the global gx was not used on a link')
vim.cmd('buffer ' .. log)
vim.api.nvim_win_set_cursor(0, { 62, 0 })
vim.api.nvim_feedkeys('gx', 'mx', false)
H.wait('the global gx on a log line without a link', function()
  return vim.g.global_gx == 62
end, function()
  return { vim.g.global_gx, H.current_file() }
end)

-- Open-log: :BuildlensOpenLog on the failed line and on a continuation line of the toolchain RUN.
local log_path = H.ws .. '/' .. E.failed_log
for _, case in ipairs(E.open_log) do
  vim.cmd('buffer ' .. df)
  vim.api.nvim_win_set_cursor(0, { case.dockerfile_line, 0 })
  buildlens.stats.open_log = nil
  vim.cmd('BuildlensOpenLog')
  -- 0.11 also gets window/showDocument, which may land first: wait for the answer's handler too.
  H.wait(('open-log from Dockerfile:%d to log line %d'):format(case.dockerfile_line, case.log_line), function()
    return buildlens.stats.open_log and H.current_file() == log_path and H.cursor_line() == case.log_line
  end, function()
    return { H.current_file(), H.cursor_line(), buildlens.stats.open_log }
  end)
  local text = vim.api.nvim_get_current_line()
  H.eq(case.text, text:sub(1, #case.text), 'log line under the cursor after open-log')
  -- The server's {uri, range} answer was opened (0.7 has no showDocument: it is the only way there).
  H.eq('answer', buildlens.stats.open_log, 'open-log followed the command answer')
end

-- buildlens.debugShell, as a lens or code action runs it (vim.lsp.commands): a terminal running argv in cwd.
local shell_cmd = {
  title = 'debug shell',
  command = 'buildlens.debugShell',
  arguments = { { argv = { 'sh', '-c', 'pwd; echo debug-shell-$((6*7)); exec sleep 60' }, cwd = H.ws, title = 'debug RUN' } },
}
H.truthy(vim.lsp.commands['buildlens.debugShell'], 'buildlens.debugShell registered in vim.lsp.commands')
if compat.has_011 then
  client:exec_cmd(shell_cmd, { bufnr = df }) -- the path a code lens takes on 0.11
else
  vim.lsp.commands['buildlens.debugShell'](shell_cmd, { bufnr = df, client_id = client.id })
end
local term = vim.api.nvim_get_current_buf()
H.eq('terminal', vim.bo[term].buftype, 'buftype of the debug shell buffer')
local lines = H.wait('the debug shell to print', function()
  local text = table.concat(vim.api.nvim_buf_get_lines(term, 0, -1, false), '\n')
  return text:find('debug-shell-42', 1, true) and text or nil
end, function()
  return vim.api.nvim_buf_get_lines(term, 0, -1, false)
end)
H.contains(H.ws, lines, 'the debug shell runs in cwd')
H.eq('debug RUN', vim.b[term].buildlens_title, 'debug shell title')
-- The terminal does not take the lenses off the Dockerfile, neither while it runs nor back in the Dockerfile
-- window (WinEnter redraws, BufEnter asks the server again).
local function failed_lens()
  local d = H.drawn(df)[16]
  return d and d.above[1] and d.above[1]:find('✗ failed', 1, true) and d.above[1] or nil
end
H.truthy(failed_lens(), 'the failed lens drawn while the debug shell runs')
vim.cmd('wincmd p')
vim.cmd('buffer ' .. df)
H.wait('the failed lens drawn after going back to the Dockerfile', failed_lens, function()
  return H.drawn(df)[16]
end)
vim.cmd('wincmd p')
vim.fn.jobstop(vim.b[term].terminal_job_id)

-- The server's own `Debug: shell before this step` lens on the failed line: its argv is `buildlens debug
-- <Dockerfile>:16 --store <store>`, run in a terminal. Without a daemon reachable the command still names the
-- failed step and build before it reaches docker, which is what this checks.
local debug_lens
for _, lens in ipairs(lenses) do
  if lens.command and lens.command.command == 'buildlens.debugShell' then
    debug_lens = lens
  end
end
H.truthy(debug_lens, 'a buildlens.debugShell lens from the server')
H.eq(15, debug_lens.range.start.line, 'the debug lens sits on the failed line (16)')
local dargs = debug_lens.command.arguments[1]
H.eq({ 'debug', dockerfile .. ':16', '--store' }, { dargs.argv[2], dargs.argv[3], dargs.argv[4] }, 'debug argv')
vim.env.DOCKER_HOST = 'unix://' .. H.ws .. '/no-docker.sock'
vim.cmd('buffer ' .. df)
if compat.has_011 then
  client:exec_cmd(debug_lens.command, { bufnr = df })
else
  vim.lsp.commands['buildlens.debugShell'](debug_lens.command, { bufnr = df, client_id = client.id })
end
local dterm = vim.api.nvim_get_current_buf()
H.eq('terminal', vim.bo[dterm].buftype, 'buftype of the server debug shell buffer')
H.wait('buildlens debug to name the failed build', function()
  local text = table.concat(vim.api.nvim_buf_get_lines(dterm, 0, -1, false), '')
  return text:find(E.failed_build, 1, true) and text or nil
end, function()
  return vim.api.nvim_buf_get_lines(dterm, 0, -1, false)
end)

-- An unsaved edit at the end of an instruction (issue 14): ` && echo done` appended to line 7 in the buffer
-- only (didChange, no save). The request flushes the change first; the server compares the buffer with the
-- last build's Dockerfile (inputs.json) and puts the estimate lens on the edited line.
vim.cmd('buffer ' .. df)
local line7 = vim.api.nvim_buf_get_lines(df, 6, 7, false)[1]
vim.api.nvim_buf_set_lines(df, 6, 7, false, { line7 .. ' && echo done' })
H.truthy(vim.bo[df].modified, 'the edit is not saved')
local edited = H.lens_titles(H.request(client, 'textDocument/codeLens', { textDocument = { uri = vim.uri_from_bufnr(df) } }, df))
local estimate = vim.tbl_filter(function(t)
  return t:find('^↻ this edit rebuilds %d+ steps') ~= nil
end, edited[7] or {})
H.eq(1, #estimate, 'the will-rebuild lens on the edited line 7 among ' .. vim.inspect(edited[7]))

-- Normal-mode edits (`u`, `:s`, `p`) redraw the lenses by themselves, debounced: no InsertLeave, no save.
local function lens7()
  local d = H.drawn(df)[7]
  return d and d.above[1] or ''
end
local function drawn7(what, rebuild)
  H.wait(what, function()
    return (lens7():find('^↻ this edit rebuilds') ~= nil) == rebuild
  end, lens7)
end
drawn7('the will-rebuild lens drawn above line 7 after the API edit', true)
vim.cmd('silent normal! u')
drawn7('no will-rebuild lens above line 7 after u', false)
vim.cmd([[7s/$/ \&\& true/]])
drawn7('the will-rebuild lens above line 7 after :s', true)
vim.cmd('silent normal! u')
drawn7('no will-rebuild lens above line 7 after the second u', false)
vim.fn.setreg('"', ' && echo put', 'c')
vim.api.nvim_win_set_cursor(0, { 7, 0 })
vim.cmd('normal! $p')
drawn7('the will-rebuild lens above line 7 after p', true)
H.contains('&& echo put', vim.api.nvim_buf_get_lines(df, 6, 7, false)[1], 'line 7 after p')
-- A burst of edits is one request, sent once the burst is over.
local lenses_mod = require('buildlens.lenses')
H.wait('no refresh pending', function()
  return not lenses_mod.pending(df)
end)
local before = buildlens.stats.edit_refresh
for _ = 1, 5 do
  vim.cmd([[7s/$/ x/]])
end
H.truthy(lenses_mod.pending(df), 'a refresh is pending after the burst')
H.wait('the debounced refresh', function()
  return not lenses_mod.pending(df) and buildlens.stats.edit_refresh > before
end)
H.eq(before + 1, buildlens.stats.edit_refresh, 'lens refreshes for a burst of 5 edits')

-- :BuildlensTimeline: the latest build as text bars in a split below, scaled to the window's width.
vim.api.nvim_set_current_buf(df)
vim.o.columns = 120
vim.cmd('BuildlensTimeline')
local tl = vim.api.nvim_get_current_buf()
H.truthy(tl ~= df, 'the timeline opened in a buffer of its own')
local rows = vim.api.nvim_buf_get_lines(tl, 0, -1, false)
H.matches('^build 20261124T083104%.046Z%-b5b3 failed in 11%.5s', rows[1], 'the timeline names build #3')
H.eq(9, #rows, 'a header and a row per step of build #3')
local tl_width = vim.api.nvim_win_get_width(0)
for i = 2, #rows do
  H.truthy(vim.fn.strdisplaywidth(rows[i]) <= tl_width and vim.fn.strdisplaywidth(rows[i]) > tl_width - 10, ('row %d fits %d columns: %q'):format(i, tl_width, rows[i]))
end
H.matches('^%s+9 sdk', rows[7], 'the toolchain row')
H.contains('████████', rows[7], 'the toolchain drawn as a long bar')
H.matches('8%.2s ◆$', rows[7], 'the toolchain on the critical path')
H.contains('✗', rows[9], 'the failed step drawn as failed')
H.eq('nofile', vim.bo[tl].buftype, 'a scratch buffer')
H.eq(false, vim.bo[tl].modifiable, 'read-only')
vim.cmd('close')
H.eq(df, vim.api.nvim_get_current_buf(), 'back in the Dockerfile after closing it')
