-- Runs one spec in a headless Neovim: `nvim --headless --clean -n -c 'luafile run.lua'` with
-- BUILDLENS_SPEC (the spec file), BUILDLENS_PLUGIN (editors/nvim), BUILDLENS_BIN and BUILDLENS_WS set.
-- An error inside `-c luafile` would leave Neovim running, so the spec runs under xpcall and this file
-- always ends Neovim: `qall!` when the spec passed, `cquit 1` when it failed.
local spec = os.getenv('BUILDLENS_SPEC')
local version = vim.fn.execute('version'):match('NVIM v[%w%.%-%+]+') or '?'
local ok, err = xpcall(function()
  vim.opt.runtimepath:prepend(os.getenv('BUILDLENS_PLUGIN'))
  package.path = os.getenv('BUILDLENS_PLUGIN') .. '/tests/?.lua;' .. package.path
  dofile(spec)
end, debug.traceback)
-- Stop the servers before quitting and wait until they are gone: quitting with a server mid-exit can
-- end Neovim by SIGPIPE (exit 141) after a spec passed.
local function clients()
  return (vim.lsp.get_clients or vim.lsp.get_active_clients)()
end
pcall(function()
  for _, c in ipairs(clients()) do
    vim.lsp.stop_client(c.id)
  end
  if not vim.wait(5000, function()
    return #clients() == 0
  end, 20) then
    for _, c in ipairs(clients()) do
      vim.lsp.stop_client(c.id, true)
    end
  end
end)
if ok then
  io.stderr:write(('PASS %s (%s)\n'):format(vim.fn.fnamemodify(spec, ':t'), version))
  vim.cmd('qall!')
else
  io.stderr:write(('FAIL %s (%s): %s\n'):format(vim.fn.fnamemodify(spec, ':t'), version, tostring(err)))
  vim.cmd('cquit 1')
end
