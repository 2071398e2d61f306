-- What the server says on the bundled example (fixtures/example: three recorded builds, the last one failed
-- at `RUN sh package/hello/build.sh`), read from a first run and checked against `buildlens report`.
-- "<ago>" stands for the relative time ("1h ago"), which depends on the clock: the server has no way to
-- pin it from outside, so specs normalise it with E.ago().
local E = {}

E.failed_build = '20261124T065511.046Z-36e6'
E.failed_log = '.buildlens/builds/' .. E.failed_build .. '/build.log'

--- 1-based Dockerfile line -> lens titles.
E.lenses = {
  [3] = { '⏱ 0.0s · executed · <ago>' },
  [5] = { '✓ cached' },
  [6] = { '✓ cached' },
  [7] = { '✓ cached' },
  [8] = { '⏱ 0.0s · executed · <ago>' },
  [9] = { '⏱ 8.1s · executed · <ago>' },
  [14] = { '⏱ 3.1s · executed · <ago>' },
  [16] = { '✗ failed (exit 2): make[3]: *** [Makefile:1234: all] Error 2', 'Debug: shell before this step' },
  [19] = { '⏱ 0.0s · executed · 54 B · <ago>' },
  [20] = { '⏱ 0.1s · executed · <ago>' },
}

--- 1-based Dockerfile line -> inlay hint labels.
E.hints = {
  [3] = { '0.0s' },
  [5] = { 'cached' },
  [6] = { 'cached' },
  [7] = { 'cached' },
  [8] = { '0.0s' },
  [9] = { '8.1s' },
  [14] = { '3.1s' },
  [16] = { 'failed (exit 2)' },
  [19] = { '0.0s · 54 B' },
  [20] = { '0.1s' },
}

--- Hover on line 16 with `historyDepth = 2` (the setting reaches the server: two rows, not three).
E.hover_failed = table.concat({
  '**RUN** · stage sdk',
  '',
  '| when | status | duration | cached | size | exit |',
  '|---|---|---|---|---|---|',
  '| <ago> | failed | – | no | – | 2 |',
  '| <ago> | executed | 0.1s | no | – | – |',
  '',
  '**Error**',
  '',
  '```text',
  'executor failed running [/bin/sh -c sh package/hello/build.sh]: exit code: 2',
  '```',
  '',
  '**Last output** (4 lines in all)',
  '',
  '```text',
  "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'",
  'make[3]: *** [Makefile:1234: all] Error 2',
  "make[3]: Entering directory '/openwrt/package/hello'",
  ' CC      hello.o',
  '```',
  '',
}, '\n')

E.diagnostic = { lnum = 15, col = 0, severity = 1, source = 'buildlens', message = 'make[3]: *** [Makefile:1234: all] Error 2 (exit 2)' }

--- Log line (1-based) -> the Dockerfile line its step header links to (in the failed build's log).
E.definitions = {
  { log_line = 57, col = 6, dockerfile_line = 16 }, -- `#12 [sdk 8/8] RUN sh package/hello/build.sh`
  { log_line = 40, col = 6, dockerfile_line = 9 }, -- `#10 [sdk 6/8] RUN for part in binutils ...`
  { log_line = 65, col = 4, dockerfile_line = 16 }, -- ` > [sdk 8/8] RUN sh package/hello/build.sh:`
}

--- Dockerfile line -> where open-log lands in the failed build's log (the step's first output line).
E.open_log = {
  { dockerfile_line = 16, log_line = 59, text = '#12 0.058 hello.c:12:5' },
  { dockerfile_line = 11, log_line = 42, text = "#10 0.063 make[2]: Entering directory '/openwrt/toolchain/binutils'" },
}

function E.ago(text)
  return (text:gsub('%d+[mhd] ago', '<ago>'):gsub('just now', '<ago>'))
end

return E
