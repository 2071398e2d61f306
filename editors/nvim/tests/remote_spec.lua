-- A team's CI builds in the editor (issue 17): the workspace has no local record; the bundled example's
-- records exist only in a real registry (scripts/test-nvim.sh pushed them with `buildlens push` and
-- removed them from the store). With `remote` set, the server pulls them for the open Dockerfile in the
-- background and asks for a refresh: the failed build's lens appears on its line.
local H = require('helpers')
local buildlens = require('buildlens')

local remote = os.getenv('BUILDLENS_REMOTE_TARGET')
H.truthy(remote and remote ~= '', 'BUILDLENS_REMOTE_TARGET is not set (scripts/test-nvim.sh sets it)')
H.eq(0, vim.fn.isdirectory(H.ws .. '/.buildlens/builds'), 'the workspace has no local records')

buildlens.setup({ binary = H.bin, settings = { remote = remote, remoteIntervalSeconds = 3600 } })
local df = H.open('Dockerfile')
local held = H.wait('the failed lens of a record pulled from the registry', function()
  local got = H.lens_titles(vim.lsp.codelens.get(df))
  return got[16] and got or nil
end, function()
  return H.lens_titles(vim.lsp.codelens.get(df))
end, 60000)
H.contains("✗ failed (exit 2): hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'", held[16][1], 'the lens on line 16')
H.eq(1, vim.fn.isdirectory(H.ws .. '/.buildlens/remote'), 'the records were pulled into the store remote area')
H.truthy(vim.fn.isdirectory(H.ws .. '/.buildlens/builds') == 0, 'no local record was made')
