--- `:BuildlensTimeline`: the latest recorded build of the current Dockerfile as text bars
--- (`buildlens report <file> --timeline --width N`, block characters scaled to the window) in a split
--- below, read-only. `q` closes it. The binary is the server's (`binary` / `binaryPath` / `cmd[1]`).
local M = {}

local function warn(msg)
  vim.notify('buildlens: ' .. msg, vim.log.levels.WARN)
end

--- The argv of the report for `file` at `width` columns.
function M.argv(file, width)
  local cfg = require('buildlens').config
  local cmd = require('buildlens').command()
  local bin = type(cmd) == 'table' and cmd[1] or cfg.binary
  local argv = { bin, 'report', file, '--timeline', '--width', tostring(width) }
  local store = cfg.settings and cfg.settings.storePath
  if type(store) == 'string' and store ~= '' then
    table.insert(argv, '--store')
    table.insert(argv, store)
  end
  return argv
end

--- Opens the timeline of the current buffer's Dockerfile; returns the new buffer, or nil.
function M.open()
  local file = vim.api.nvim_buf_get_name(0)
  if file == '' or vim.bo.buftype ~= '' then
    warn('open a Dockerfile to see its build timeline')
    return nil
  end
  vim.cmd('botright new')
  local win = vim.api.nvim_get_current_win()
  local width = math.max(vim.api.nvim_win_get_width(win) - 1, 40)
  local lines = vim.fn.systemlist(M.argv(file, width))
  if vim.v.shell_error ~= 0 then
    vim.cmd('close')
    warn('no timeline: ' .. table.concat(lines, ' '))
    return nil
  end
  local buf = vim.api.nvim_get_current_buf()
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'wipe'
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = 'buildlens-timeline'
  vim.wo[win].wrap = false
  vim.wo[win].number = false
  pcall(vim.api.nvim_buf_set_name, buf, 'buildlens timeline')
  vim.api.nvim_win_set_height(win, math.min(#lines + 1, 20))
  vim.api.nvim_buf_set_keymap(buf, 'n', 'q', '<cmd>close<cr>', { noremap = true, silent = true })
  return buf
end

function M.register()
  vim.api.nvim_create_user_command('BuildlensTimeline', function()
    M.open()
  end, { desc = 'buildlens: the latest build as a text timeline in a split' })
end

return M
