-- What the server says on the bundled example (fixtures/example: three recorded builds, the last one failed
-- at `RUN sh package/hello/build.sh`), read from a first run and checked against `buildlens report`.
-- "<ago>" stands for the relative time ("1h ago"), which depends on the clock: the server has no way to
-- pin it from outside, so specs normalise it with E.ago().
local E = {}

E.failed_build = '20261124T083104.046Z-b5b3'
E.failed_log = '.buildlens/builds/' .. E.failed_build .. '/build.log'

--- 1-based Dockerfile line -> lens titles (`lenses = "auto"`: only the lines with something to notice).
E.lenses = {
  [8] = { '⏱ 0.1s · rebuilt: changed inputs · <ago>' },
  [9] = { '⏱ 8.2s · rebuilt: line 8 COPY changed inputs · <ago>' },
  [14] = { '⏱ 3.2s · rebuilt: line 8 COPY changed inputs · <ago>' },
  -- The headline is the compiler's error (the first line that reads like the cause), not make's echo.
  [16] = {
    "✗ failed (exit 2): hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol'",
    'Debug: shell before this step',
  },
}

--- 1-based Dockerfile line -> inlay hint labels: the quiet lines, none of them a lens line.
E.hints = {
  [3] = { '0.0s' },
  [5] = { '✓ cached' },
  [6] = { '✓ cached' },
  [7] = { '✓ cached' },
  [19] = { '0.1s · 54 B' },
  [20] = { '0.1s' },
}

--- Hover on line 16 with `historyDepth = 2` (the setting reaches the server: two rows, not three).
E.hover_failed = table.concat({
  '**RUN** · stage `sdk`',
  '',
  '**History** (newest first)',
  '',
  '| build (UTC) | when | status | duration | cached | exit |',
  '|---|---|---|---|---|---|',
  '| #3 · 08:31 | <ago> | failed | – | no | 2 |',
  '| #2 · 08:30 | <ago> | executed | 0.1s | no | – |',
  '',
  "*No layer sizes: stage `sdk` is not the target, and BuildKit keeps only the target stage's image (sizes come from the engine's image history).*",
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
  -- The cause (explain): escaped only where Markdown would read markup (nothing here), no kind name after it.
  '**Why it ran** (against build #2): rebuilt because line 8 (COPY . .) was not cached: its inputs changed '
    .. '(package/hello/build.sh)',
  '',
  'Chain, from the first step that missed the cache:',
  '',
  '```text',
  'line 8 COPY . .',
  'line 9 RUN for part in binutils gcc-initial musl gcc-final; do echo…',
  'line 14 RUN echo "building rust for mipsel-unknown-linux-musl" && sl…',
  'line 16 RUN sh package/hello/build.sh',
  '```',
  '',
}, '\n')

E.diagnostic = {
  lnum = 15,
  col = 0,
  severity = 1,
  source = 'buildlens',
  message = "hello.c:12:5: error: 'struct sockaddr_ll' has no member named 'sll_protocol' (exit 2)",
}
--- The diagnostic's related information: the log line of that error (1-based), in the failed build's log.
E.diagnostic_log_line = 63

--- Log line (1-based) -> the Dockerfile line its step header links to (in the failed build's log).
E.definitions = {
  { log_line = 61, col = 6, dockerfile_line = 16 }, -- `#12 [sdk 8/8] RUN sh package/hello/build.sh`
  { log_line = 61, col = 0, dockerfile_line = 16 }, -- the same header from column 1 (on `#12`)
  { log_line = 44, col = 6, dockerfile_line = 9 }, -- `#10 [sdk 6/8] RUN for part in binutils ...`
  { log_line = 69, col = 4, dockerfile_line = 16 }, -- ` > [sdk 8/8] RUN sh package/hello/build.sh:`
}

--- Dockerfile line -> where open-log lands in the failed build's log (the step's first output line).
E.open_log = {
  { dockerfile_line = 16, log_line = 63, text = '#12 0.344 hello.c:12:5' },
  { dockerfile_line = 11, log_line = 46, text = "#10 0.194 make[2]: Entering directory '/openwrt/toolchain/binutils'" },
}

--- Normalises what depends on the clock: `2h ago`, and the date a history row shows when not today.
function E.ago(text)
  return (text:gsub('%d+[mhd] ago', '<ago>'):gsub('just now', '<ago>'):gsub('(#%d+ · )%d%d%-%d%d (%d%d:%d%d)', '%1%2'))
end

return E
