-- The init file of the Neovim that scripts/lib/nvim_screen.sh runs in a real terminal (tmux, 120x40) on a copy
-- of the bundled example: the plugin as a user sets it up, nothing else (termguicolors comes from
-- COLORTERM=truecolor, as the README says). The commands below are the steps the script types.
vim.opt.runtimepath:prepend(os.getenv('BUILDLENS_PLUGIN'))
require('buildlens').setup({ binary = os.getenv('BUILDLENS_BIN') })

-- A debug-shell terminal, as the server's `Debug: shell before this step` lens opens one (a harmless argv:
-- the real one needs a Docker daemon).
vim.api.nvim_create_user_command('ScreenDebugShell', function()
  vim.lsp.commands['buildlens.debugShell']({
    title = 'debug shell',
    command = 'buildlens.debugShell',
    arguments = { { argv = { 'sh', '-c', 'echo debug-shell-ready; exec sleep 120' }, cwd = vim.fn.getcwd(), title = 'debug' } },
  }, {})
end, {})

-- `lenses = 'all'` sent to the server: it answers with workspace/codeLens/refresh and
-- workspace/inlayHint/refresh (every instruction gets a lens, no line keeps a hint).
vim.api.nvim_create_user_command('ScreenAllLenses', function()
  for _, client in ipairs(require('buildlens.compat').clients()) do
    client.settings.buildlens.lenses = 'all'
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  end
end, {})
