--- What differs between Neovim 0.7 and 0.11 for this plugin, in one place: client requests (dot or
--- colon call), client lists, inlay hints, opening a location.
local M = {}

M.has_011 = vim.fn.has('nvim-0.11') == 1
M.has_010 = vim.fn.has('nvim-0.10') == 1
M.has_08 = vim.fn.has('nvim-0.8') == 1

--- `client:request` on 0.11 (the dot form is deprecated there); `client.request` before.
function M.request(client, method, params, handler, bufnr)
  if M.has_011 then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

function M.request_sync(client, method, params, timeout_ms, bufnr)
  if M.has_011 then
    return client:request_sync(method, params, timeout_ms, bufnr)
  end
  return client.request_sync(method, params, timeout_ms, bufnr)
end

--- The buildlens clients, optionally only those attached to `bufnr`.
function M.clients(bufnr)
  local found = {}
  if vim.lsp.get_clients then
    found = vim.lsp.get_clients({ name = 'buildlens', bufnr = bufnr })
  else
    local all = bufnr and vim.lsp.buf_get_clients(bufnr) or vim.lsp.get_active_clients()
    for _, c in pairs(all) do
      if c.name == 'buildlens' then
        table.insert(found, c)
      end
    end
  end
  return found
end

--- Inlay hints exist from 0.10 (`vim.lsp.inlay_hint.enable(true, {bufnr})`); a no-op before.
function M.enable_inlay_hints(bufnr)
  if M.has_010 and vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
  end
end

--- Turns the hints of `bufnr` off and on where they are on: clears what Neovim drew and asks again.
function M.reenable_inlay_hints(bufnr)
  local ih = M.has_010 and vim.lsp.inlay_hint
  if not (ih and ih.enable and ih.is_enabled) or not vim.api.nvim_buf_is_loaded(bufnr) then
    return
  end
  if ih.is_enabled({ bufnr = bufnr }) then
    pcall(ih.enable, false, { bufnr = bufnr })
    pcall(ih.enable, true, { bufnr = bufnr })
  end
end

--- Opens `path` in the current window with the cursor on 0-based `line` (column 0).
function M.open_at(path, line)
  if vim.fn.fnamemodify(vim.api.nvim_buf_get_name(0), ':p') ~= vim.fn.fnamemodify(path, ':p') then
    vim.cmd('edit ' .. vim.fn.fnameescape(path))
  end
  local last = vim.api.nvim_buf_line_count(0)
  vim.api.nvim_win_set_cursor(0, { math.max(1, math.min(line + 1, last)), 0 })
end

--- Opens `path` at byte `offset` (0-based), for clients where the server can show nothing itself.
function M.open_at_offset(path, offset)
  vim.cmd('edit ' .. vim.fn.fnameescape(path))
  vim.cmd('goto ' .. (math.max(0, offset) + 1))
  vim.api.nvim_win_set_cursor(0, { vim.api.nvim_win_get_cursor(0)[1], 0 })
end

return M
