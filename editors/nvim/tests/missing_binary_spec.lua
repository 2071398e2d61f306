-- A missing server binary: one clear error naming the path, no client, no crash, and the commands still
-- answer (with a warning).
local H = require('helpers')
local compat = require('buildlens.compat')

local messages = {}
vim.notify = function(msg, level)
  table.insert(messages, { msg = msg, level = level })
end

local missing = H.ws .. '/no-such-dir/buildlens'
require('buildlens').setup({ binary = missing })
vim.cmd('edit ' .. vim.fn.fnameescape(H.ws .. '/Dockerfile'))
H.eq('dockerfile', vim.bo.filetype, 'filetype')
local err = H.wait('an error about the missing binary', function()
  for _, m in ipairs(messages) do
    if m.level == vim.log.levels.ERROR and m.msg:find(missing, 1, true) then
      return m.msg
    end
  end
end, function()
  return messages
end)
H.contains('not found', err, 'the error says the binary is missing')
H.contains('setup{ binary', err, 'the error says how to set the path')
H.eq(0, #compat.clients(), 'no buildlens client started')
-- A second buffer does not repeat the error.
vim.cmd('edit ' .. vim.fn.fnameescape(H.ws .. '/../names/Containerfile'))
H.eq('dockerfile', vim.bo.filetype, 'Containerfile is a dockerfile')
local errors = vim.tbl_filter(function(m)
  return m.level == vim.log.levels.ERROR
end, messages)
H.eq(1, #errors, 'the missing-binary error is given once')
for _, name in ipairs({ 'app.Dockerfile', 'app.dockerfile' }) do
  vim.cmd('edit ' .. vim.fn.fnameescape(H.ws .. '/../names/' .. name))
  H.eq('dockerfile', vim.bo.filetype, name .. ' is a dockerfile')
end
vim.cmd('BuildlensOpenLog')
H.truthy(#messages > #errors, 'BuildlensOpenLog without a server warns instead of failing')
