-- Checks a screen of Neovim captured from a real terminal (`tmux capture-pane -e -p`: rows with their SGR
-- colour codes), as a user sees the bundled example. Run by scripts/lib/nvim_screen.sh:
--
--   nvim -l screen_check.lua SCREEN.ansi WIDTH PHASE
--
-- For every screen: no row wider than WIDTH; a lens row (a virtual line above its instruction, starting
-- with a status symbol) either ends before the last column or is shortened with `…`; no row says the same
-- status twice (`✓ cached ✓ cached`, `8.2s ⏱ 8.2s`); the instruction below a lens has no hint of its own
-- (one signal per line). PHASE adds what that screen must show (see `phases`). Exit 1 with every fault.
local path, width, phase = arg[1], tonumber(arg[2]), arg[3]
local faults = {}
local function fault(fmt, ...)
  table.insert(faults, fmt:format(...))
end

--- One screen row from its ANSI text: the plain text and the foreground colour of each of its bytes.
local function parse_row(ansi)
  local plain, fg, cur = {}, {}, 'default'
  local i = 1
  while i <= #ansi do
    local s, e, params = ansi:find('^\27%[([%d;:]*)m', i)
    if s then
      local codes = vim.split(params == '' and '0' or params, '[;:]')
      local k = 1
      while k <= #codes do
        local c = tonumber(codes[k]) or 0
        if c == 0 or c == 39 then
          cur = 'default'
        elseif c == 38 and codes[k + 1] == '2' then
          cur = table.concat({ codes[k + 2], codes[k + 3], codes[k + 4] }, ',')
          k = k + 4
        elseif c == 38 and codes[k + 1] == '5' then
          cur = 'idx' .. tostring(codes[k + 2])
          k = k + 2
        elseif c == 48 or c == 58 then
          k = k + (codes[k + 1] == '2' and 4 or 2) -- background / underline colour: skipped
        elseif (c >= 30 and c <= 37) or (c >= 90 and c <= 97) then
          cur = 'ansi' .. c
        end
        k = k + 1
      end
      i = e + 1
    else
      local e2 = (ansi:find('\27', i + 1, true) or #ansi + 1) - 1
      local text = ansi:sub(i, e2):gsub('\27%[[%d;:?]*[A-Za-z]', '')
      for b = 1, #text do
        table.insert(fg, cur)
      end
      table.insert(plain, text)
      i = e2 + 1
    end
  end
  return { text = table.concat(plain), fg = fg }
end

local rows = {}
for line in io.lines(path) do
  table.insert(rows, parse_row(line))
end
if #rows == 0 then
  fault('%s: empty capture', path)
end

--- The text after the sign column (two cells), where lenses and code start.
local function body(row)
  return vim.fn.strcharpart(row.text, 2)
end

local lens_symbols = { '✗', '↻', '⏵', '⏱', '✓', '⊘' }
local function is_lens(row)
  local b = body(row)
  for _, s in ipairs(lens_symbols) do
    if vim.startswith(b, s) then
      return true
    end
  end
  return false
end

--- The status words and numbers of a row: each may appear once.
local function tokens(text)
  local found = {}
  for _, pat in ipairs({ '%d+%.%ds', '%d+[mhd] ago', 'cached', 'failed', 'rebuilt', 'rebuilds', 'will rebuild', 'executed' }) do
    for t in text:gmatch(pat) do
      table.insert(found, t)
    end
  end
  return found
end

--- A hint at the end of a code row: `✓ cached`, `⊘ …`, `0.1s` or `0.1s · 54 B`.
local function ends_with_hint(text)
  text = text:gsub('%s+$', '')
  return text:find(' ✓ cached$') or text:find(' ⊘ [%w ]+$') or text:find(' %d+%.%ds$') or text:find(' %d+%.%ds · [%d.]+ %a?B$')
end

for n, row in ipairs(rows) do
  local w = vim.fn.strdisplaywidth(row.text)
  if w > width then
    fault('row %d is %d columns wide (window %d): %s', n, w, width, row.text)
  end
  if is_lens(row) and w >= width and not vim.endswith(vim.trim(row.text), '…') then
    fault('row %d: a lens cut at the window edge (no …): %s', n, row.text)
  end
  local seen = {}
  for _, t in ipairs(tokens(row.text)) do
    if seen[t] then
      fault('row %d says %q twice: %s', n, t, row.text)
    end
    seen[t] = true
  end
  local below = rows[n + 1]
  if is_lens(row) and below and not is_lens(below) then
    if ends_with_hint(below.text) then
      fault('rows %d-%d: a lens above and a hint after the same line:\n  %s\n  %s', n, n + 1, row.text, below.text)
    end
    for _, t in ipairs(tokens(below.text)) do
      if seen[t] then
        fault('rows %d-%d say %q twice (lens and its line):\n  %s\n  %s', n, n + 1, t, row.text, below.text)
      end
    end
  end
end

--- The first row holding `needle` (a plain substring), and `lens`: whether it must be a lens row.
local function find(needle, lens)
  for n, row in ipairs(rows) do
    local at = row.text:find(needle, 1, true)
    if at and (lens == nil or is_lens(row) == lens) then
      return n, row, at
    end
  end
end

--- The foreground colour of the first byte of `needle` on screen.
local function colour(what, needle, lens)
  local n, row, at = find(needle, lens)
  if not n then
    fault('%s: %q not on screen', what, needle)
    return nil
  end
  return row.fg[at]
end

local function distinct(a_what, a, b_what, b)
  if a and b and a == b then
    fault('%s and %s are drawn in the same colour (%s)', a_what, b_what, a)
  end
end

local phases = {}

--- The example as opened: the failed lens stands out from the cached hints, and hints from code.
function phases.example()
  local failed = colour('the failed lens', '✗ failed (exit 2): hello.c:12:5', true)
  local hint = colour('a cached hint', '✓ cached', false)
  local code = colour('code', 'fixture-base', false)
  local rebuilt = colour('a rebuilt lens', '⏱ 8.2s', true)
  distinct('the failed lens', failed, 'a cached hint', hint)
  distinct('the failed lens', failed, 'code', code)
  distinct('the failed lens', failed, 'a rebuilt lens', rebuilt)
  distinct('a cached hint', hint, 'code', code)
end

--- After `:7s/$/ && echo done/`: the will-rebuild lens above line 7, in its own colour, no hint on line 7.
function phases.edit()
  local n = find('↻ this edit rebuilds', true)
  if not n then
    fault('no will-rebuild lens on screen')
  elseif not (rows[n + 1] and rows[n + 1].text:find('&& echo done', 1, true)) then
    fault('the will-rebuild lens is not above the edited line: %s', rows[n + 1] and rows[n + 1].text or '')
  end
  local rebuild = colour('the will-rebuild lens', '↻ this edit rebuilds', true)
  distinct('the will-rebuild lens', rebuild, 'a cached hint', colour('a cached hint', '✓ cached', false))
  distinct('the will-rebuild lens', rebuild, 'code', colour('code', 'fixture-base', false))
end

--- A debug-shell terminal open below the Dockerfile: the lenses are still drawn above it.
function phases.debug_shell()
  if not find('debug-shell-ready') then
    fault('the debug shell did not print')
  end
  colour('the failed lens beside the debug shell', '✗ failed (exit 2)', true)
end

--- After `lenses = 'all'` (workspace/inlayHint/refresh): a lens on every instruction and no stale hint.
function phases.all_lenses()
  if not find('✓ cached', true) then
    fault('no cached lens after lenses = all')
  end
  if find('✓ cached', false) then
    fault('a stale cached hint is still drawn after lenses = all')
  end
end

if phases[phase] then
  phases[phase]()
else
  fault('unknown phase %q', tostring(phase))
end

if #faults > 0 then
  io.stderr:write(('screen %s (%s):\n  %s\n'):format(phase, path, table.concat(faults, '\n  ')))
  os.exit(1)
end
io.stderr:write(('screen %s: ok (%d rows)\n'):format(phase, #rows))
os.exit(0)
