// Build logs for the timeline page's browser test (tests/timeline/page.cjs): a hostile build (a step
// name and its output with <script>, an <img onerror>) and a large history (1,000 steps, 100 builds).
// Plain BuildKit logs, written as BuildKit prints them; durations from a seeded generator.
"use strict";

const fs = require("fs");
const path = require("path");

const HOSTILE_DOCKERFILE = `FROM alpine AS evil
RUN echo "<script>window.__pwned=1</script>" && exit 1

FROM alpine AS other
RUN sleep 1

FROM alpine
COPY --from=other /x /x
`;

const HOSTILE_LOG = `#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 200B done
#1 DONE 0.0s

#2 [evil 1/2] FROM docker.io/library/alpine:latest
#2 DONE 0.1s

#3 [other 1/2] FROM docker.io/library/alpine:latest
#3 DONE 0.1s

#4 [other 2/2] RUN sleep 1
#4 DONE 1.0s

#5 [evil 2/2] RUN echo "<script>window.__pwned=1</script>" && exit 1
#5 0.105 <script>window.__pwned2=1</script><img src=x onerror="window.__pwned3=1">
#5 0.106 error: <script>window.__pwned4=1</script>
#5 ERROR: process "/bin/sh -c echo \\"<script>window.__pwned=1</script>\\" && exit 1" did not complete successfully: exit code: 1
------
 > [evil 2/2] RUN echo "<script>window.__pwned=1</script>" && exit 1:
0.105 <script>window.__pwned2=1</script><img src=x onerror="window.__pwned3=1">
------
ERROR: failed to solve: process "/bin/sh -c echo \\"<script>window.__pwned=1</script>\\" && exit 1" did not complete successfully: exit code: 1
`;

/** Stages s0..s9 of 100 steps each (FROM + 99): s9 copies from the others, the rest run commands. */
function largeDockerfile() {
  const lines = [];
  for (let s = 0; s < 10; s++) {
    lines.push(`FROM alpine AS s${s}`);
    for (let k = 2; k <= 100; k++) {
      lines.push(s === 9 && k <= 10 ? `COPY --from=s${k - 2} /out /in/s${k - 2}` : `RUN echo s${s}-${k} && sleep ${(k % 7) + 1}`);
    }
  }
  return lines.join("\n") + "\n";
}

function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** One build of the large Dockerfile: step n cached unless the random draw says it ran. */
function largeLog(build) {
  const next = rng(build * 7919 + 1);
  const out = ["#1 [internal] load build definition from Dockerfile", "#1 DONE 0.0s", ""];
  let n = 2;
  const text = largeDockerfile().trim().split("\n");
  for (let s = 0; s < 10; s++) {
    for (let k = 1; k <= 100; k++) {
      const ins = text[s * 100 + k - 1].replace(/^FROM alpine AS s\d+$/, "FROM docker.io/library/alpine:latest");
      out.push(`#${n} [s${s} ${k}/100] ${ins}`);
      if (k > 1 && next() < 0.6) out.push(`#${n} CACHED`);
      else out.push(`#${n} DONE ${(next() * 5 + (build > 60 && k === 50 ? 20 : 0)).toFixed(1)}s`);
      out.push("");
      n++;
    }
  }
  return out.join("\n");
}

/** Writes `<dir>/hostile/{Dockerfile,build.log}` and `<dir>/large/{Dockerfile,logs/NNN.log}`. */
function write(dir) {
  fs.mkdirSync(path.join(dir, "hostile"), { recursive: true });
  fs.writeFileSync(path.join(dir, "hostile", "Dockerfile"), HOSTILE_DOCKERFILE);
  fs.writeFileSync(path.join(dir, "hostile", "build.log"), HOSTILE_LOG);
  fs.mkdirSync(path.join(dir, "large", "logs"), { recursive: true });
  fs.writeFileSync(path.join(dir, "large", "Dockerfile"), largeDockerfile());
  for (let b = 1; b <= 100; b++) fs.writeFileSync(path.join(dir, "large", "logs", `${String(b).padStart(3, "0")}.log`), largeLog(b));
}

module.exports = { write };
if (require.main === module) write(process.argv[2]);
