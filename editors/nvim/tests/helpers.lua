-- Assertions and waits for the specs. Every wait is a vim.wait on a condition with a deadline; a timeout
-- is a failure that says what was awaited and what was seen last.
local compat = require('buildlens.compat')
local H = {}

H.ws = os.getenv('BUILDLENS_WS')
H.bin = os.getenv('BUILDLENS_BIN')
H.timeout = tonumber(os.getenv('BUILDLENS_NVIM_WAIT_MS') or '') or 20000

function H.log(...)
  io.stderr:write(table.concat(vim.tbl_map(tostring, { ... }), ' ') .. '\n')
end

function H.fail(msg)
  error(msg, 2)
end

function H.eq(expected, actual, what)
  if not vim.deep_equal(expected, actual) then
    error(('%s:\n  expected: %s\n  actual:   %s'):format(what, vim.inspect(expected), vim.inspect(actual)), 2)
  end
end

function H.truthy(value, what)
  if not value then
    error(what, 2)
  end
  return value
end

function H.matches(pattern, text, what)
  if type(text) ~= 'string' or not text:find(pattern) then
    error(('%s: %s does not match %q'):format(what, vim.inspect(text), pattern), 2)
  end
end

function H.contains(needle, text, what)
  if type(text) ~= 'string' or not text:find(needle, 1, true) then
    error(('%s: %q not found in:\n%s'):format(what, needle, tostring(text)), 2)
  end
end

--- Waits until `cond()` returns a truthy value and returns it; fails naming `what` (and `seen()`).
function H.wait(what, cond, seen, ms)
  local value
  local done = vim.wait(ms or H.timeout, function()
    local ok, v = pcall(cond)
    value = ok and v or nil
    return value ~= nil and value ~= false
  end, 20)
  if not done then
    local last = seen and vim.inspect(seen()) or ''
    error(('timed out after %d ms waiting for %s %s'):format(ms or H.timeout, what, last), 2)
  end
  return value
end

--- Opens `rel` (relative to the workspace) and waits for the buildlens client to attach.
function H.open(rel)
  vim.cmd('edit ' .. vim.fn.fnameescape(H.ws .. '/' .. rel))
  local bufnr = vim.api.nvim_get_current_buf()
  local client = H.wait('the buildlens client on ' .. rel, function()
    local c = compat.clients(bufnr)[1]
    return c and c.initialized ~= false and c or nil
  end)
  return bufnr, client
end

--- A request answered within the deadline; its result (fails on an error response).
function H.request(client, method, params, bufnr)
  local resp, err = compat.request_sync(client, method, params, H.timeout, bufnr)
  H.truthy(resp, ('%s: no response (%s)'):format(method, tostring(err)))
  H.truthy(not resp.err, ('%s: error %s'):format(method, vim.inspect(resp.err)))
  return resp.result
end

function H.position(bufnr, line, col)
  return { textDocument = { uri = vim.uri_from_bufnr(bufnr) }, position = { line = line, character = col or 0 } }
end

--- The code lenses of `bufnr` as {[1-based line] = {titles...}} once the server answered.
function H.lens_titles(lenses)
  local by_line = {}
  for _, lens in ipairs(lenses or {}) do
    if lens.command then
      local l = lens.range.start.line + 1
      by_line[l] = by_line[l] or {}
      table.insert(by_line[l], lens.command.title)
    end
  end
  return by_line
end

--- The hint labels the server gives `bufnr` as {[1-based line] = {labels...}} (label parts joined).
function H.hint_labels(hints)
  local by_line = {}
  for _, h in ipairs(hints or {}) do
    local l = h.position.line + 1
    local label = h.label
    if type(label) == 'table' then
      label = table.concat(vim.tbl_map(function(p)
        return p.value
      end, label))
    end
    by_line[l] = by_line[l] or {}
    table.insert(by_line[l], label)
  end
  return by_line
end

--- What Neovim draws on `bufnr` (every namespace's extmarks: the plugin's lenses; and Neovim's inlay hints,
--- drawn by a decoration provider, from vim.lsp.inlay_hint.get), by 1-based line:
--- { text = <virt_text at or in the line>, above = {<virt_lines>...}, groups = {<hl groups>...} }.
function H.drawn(bufnr)
  local out = {}
  local marks = {}
  for _, ns in pairs(vim.api.nvim_get_namespaces()) do
    vim.list_extend(marks, vim.api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true }))
  end
  if vim.lsp.inlay_hint and vim.lsp.inlay_hint.get then
    for _, h in ipairs(vim.lsp.inlay_hint.get({ bufnr = bufnr })) do
      local label = h.inlay_hint.label
      if type(label) == 'table' then
        label = table.concat(vim.tbl_map(function(p)
          return p.value
        end, label))
      end
      table.insert(marks, { 0, h.inlay_hint.position.line, 0, { virt_text = { { label, 'LspInlayHint' } } } })
    end
  end
  for _, m in ipairs(marks) do
    local l, d = m[2] + 1, m[4]
    local entry = out[l] or { text = '', above = {}, below = {}, groups = {} }
    out[l] = entry
    for _, chunk in ipairs(d.virt_text or {}) do
      entry.text = entry.text .. chunk[1]
      table.insert(entry.groups, chunk[2])
    end
    for _, vl in ipairs(d.virt_lines or {}) do
      local text = ''
      for _, chunk in ipairs(vl) do
        text = text .. chunk[1]
        table.insert(entry.groups, type(chunk[2]) == 'table' and chunk[2][1] or chunk[2])
      end
      table.insert(d.virt_lines_above and entry.above or entry.below, text)
    end
  end
  return out
end

--- The lines of `bufnr` whose virtual text does not fit in `width` columns: virtual lines wider than the
--- window, or text after a line that runs past its edge. {[line] = what}; empty when all fit.
function H.cut_at(bufnr, width)
  local cut = {}
  for l, d in pairs(H.drawn(bufnr)) do
    local line = vim.api.nvim_buf_get_lines(bufnr, l - 1, l, false)[1] or ''
    if d.text ~= '' and vim.fn.strdisplaywidth(line) + 1 + vim.fn.strdisplaywidth(d.text) > width then
      cut[l] = line .. ' ' .. d.text
    end
    for _, v in ipairs(vim.list_extend(vim.deepcopy(d.above), d.below)) do
      if vim.fn.strdisplaywidth(v) > width then
        cut[l] = v
      end
    end
  end
  return cut
end

function H.hover_text(result)
  local c = result and result.contents
  if type(c) == 'table' then
    return c.value or c[1] and (c[1].value or c[1]) or ''
  end
  return c
end

function H.current_file()
  return vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':p')
end

function H.cursor_line()
  return vim.api.nvim_win_get_cursor(0)[1]
end

return H
