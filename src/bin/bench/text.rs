//! The generator's text: make output lines, BuildKit times, the fixed parts of each format.

/// Wall-clock start of the generated build, in rawjson.
pub const START_UNIX_MS: i64 = 1_795_000_000_000;

pub const RUN_NAME: &str = "[toolchain 5/9] RUN make -j2 toolchain/install";
pub const RUN_PROCESS: &str = r#"process "/bin/sh -c make -j2 toolchain/install" did not complete successfully: exit code: 2"#;

/// BuildKit (plain) time since the vertex started: `%.3f` under 10 s, `%.2f` under 100 s, else `%.1f` (§2.1).
pub fn push_seconds(out: &mut Vec<u8>, ms: u64) {
    push_u64(out, ms / 1000);
    out.push(b'.');
    let frac = ms % 1000;
    let (value, width) = match ms {
        0..10_000 => (frac, 3),
        10_000..100_000 => (frac / 10, 2),
        _ => (frac / 100, 1),
    };
    let start = out.len();
    push_u64(out, value);
    while out.len() - start < width {
        out.insert(start, b'0');
    }
}

pub fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// RFC 3339 time `ms` milliseconds after the RUN step started (negative for the vertexes before it).
pub fn rfc3339(ms: i64) -> String {
    let at = chrono::DateTime::from_timestamp_millis(START_UNIX_MS.saturating_add(ms)).unwrap_or_default();
    let text = at.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    // Go's RFC3339Nano drops trailing zeros of the fraction, and the dot with them.
    let trimmed = text.trim_end_matches('Z').trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed}Z")
}

/// xorshift64*: cheap, deterministic variety.
pub fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

pub fn pick<'a>(rng: &mut u64, items: &[&'a str]) -> &'a str {
    items[(next(rng) % items.len() as u64) as usize]
}

pub const DIRS: &[&str] =
    &["gcc", "gcc/c-family", "gcc/config/mips", "libgcc", "libiberty", "libcpp", "gmp/mpn", "mpfr/src", "isl", "zlib"];
pub const FILES: &[&str] =
    &["tree-ssa-loop", "expr", "fold-const", "reload1", "varasm", "mips", "cp-tree", "regex", "hashtab", "mul_1", "div"];

/// One line of a make run of the toolchain: compiler calls mostly, some make, libtool, configure and warnings.
pub fn compiler_line(rng: &mut u64) -> Vec<u8> {
    let (dir, file, n) = (pick(rng, DIRS), pick(rng, FILES), next(rng) % 900 + 10);
    let line = match next(rng) % 10 {
        0 => format!("make[{}]: Entering directory '/builder/build_dir/toolchain-mips_24kc_gcc-12.3.0_musl/gcc-12.3.0-initial/{dir}'", n % 5 + 1),
        1 => format!("libtool: compile:  mips-openwrt-linux-musl-gcc -DHAVE_CONFIG_H -I. -I../../{dir} -Os -pipe -c ../../{dir}/{file}{n}.c  -fPIC -DPIC -o .libs/{file}{n}.o"),
        2 => format!("checking for {file}{n}... {}", if n % 3 == 0 { "no" } else { "yes" }),
        3 => format!("../{dir}/{file}.c:{n}:{}: warning: unused variable 'tmp{n}' [-Wunused-variable]", n % 40 + 1),
        4 => format!("mips-openwrt-linux-musl-ar rc lib{}.a {file}{n}.o {file}{}.o", dir.replace('/', "_"), n + 1),
        _ => format!("mips-openwrt-linux-musl-gcc -Os -pipe -mno-branch-likely -mips32r2 -mtune=24kc -fno-caller-saves -I../{dir}/include -DIN_GCC -c ../{dir}/{file}{n}.c -o {file}{n}.o"),
    };
    line.into_bytes()
}

/// A 1 MiB compiler command line (huge `-D` lists happen).
pub fn long_line() -> Vec<u8> {
    let mut line = b"mips-openwrt-linux-musl-gcc -Os -pipe".to_vec();
    let mut i = 0u64;
    while line.len() < 1 << 20 {
        line.extend_from_slice(format!(" -DCONFIG_OPTION_{i}=1").as_bytes());
        i += 1;
    }
    line
}

/// The last lines of the failing make run (also shown in the plain error summary).
pub const FAILURE_LINES: [&str; 10] = [
    "mips-openwrt-linux-musl-gcc -Os -pipe -c ../gcc/tree-ssa-loop-ivopts.c -o tree-ssa-loop-ivopts.o",
    "../gcc/tree-ssa-loop-ivopts.c: In function 'rewrite_use_nonlinear_expr':",
    "../gcc/tree-ssa-loop-ivopts.c:7123:3: error: 'gsi_insert_seq' undeclared (first use in this function)",
    "../gcc/tree-ssa-loop-ivopts.c:7123:3: note: each undeclared identifier is reported only once",
    "make[4]: *** [Makefile:1143: tree-ssa-loop-ivopts.o] Error 1",
    "make[4]: Leaving directory '/builder/build_dir/toolchain-mips_24kc_gcc-12.3.0_musl/gcc-12.3.0-initial/gcc'",
    "make[3]: *** [Makefile:4421: all-gcc] Error 2",
    "make[2]: *** [toolchain/gcc/initial/Makefile:32: compile] Error 2",
    "make[1]: *** [toolchain/Makefile:97: toolchain/gcc/initial/compile] Error 2",
    "make: *** [/builder/include/toplevel.mk:231: toolchain/install] Error 2",
];

pub const PLAIN_PREAMBLE: &str = r#"#0 building with "default" instance using docker driver

#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 1.92kB done
#1 DONE 0.0s

#2 resolve image config for docker-image://docker.io/docker/dockerfile:1
#2 DONE 0.9s

#3 docker-image://docker.io/docker/dockerfile:1@sha256:4a43a54dd1fedceb30ba47e76cfcf2b47304f4161c0caeac2db1c61804ea3c91
#3 CACHED

#4 [internal] load metadata for docker.io/library/debian:bookworm
#4 DONE 1.1s

#5 [auth] library/debian:pull token for registry-1.docker.io
#5 DONE 0.0s

#6 [internal] load .dockerignore
#6 transferring context: 2B done
#6 DONE 0.0s

#7 [toolchain 1/9] FROM docker.io/library/debian:bookworm@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a
#7 resolve docker.io/library/debian:bookworm@sha256:b877a1a3fdf02469440f1768cf69c9771338a875b7add5e80c45b756c92ac20a done
#7 CACHED

#8 [internal] load build context
#8 transferring context: 48.12MB 1.4s done
#8 DONE 1.5s

#9 [toolchain 2/9] RUN apt-get update && apt-get install -y build-essential gawk gettext libncurses-dev python3 rsync unzip zlib1g-dev
#9 CACHED

#10 [toolchain 3/9] WORKDIR /builder
#10 CACHED

#11 [toolchain 4/9] COPY . /builder
#11 DONE 3.2s

#12 [toolchain 5/9] RUN make -j2 toolchain/install
"#;

pub const PLAIN_SNIPPET: &str = "------
Dockerfile:42
--------------------
  40 |     COPY . /builder
  41 |     
  42 | >>> RUN make -j2 toolchain/install
  43 |     RUN make -j2 target/compile
  44 |     
--------------------
";

pub const LEGACY_PREAMBLE: &str = "Sending build context to Docker daemon  48.12MB
Step 1/9 : FROM debian:bookworm AS toolchain
 ---> 5027089adc4c
Step 2/9 : RUN apt-get update && apt-get install -y build-essential gawk gettext libncurses-dev python3 rsync unzip zlib1g-dev
 ---> Using cache
 ---> 1b2f1e9c7a31
Step 3/9 : WORKDIR /builder
 ---> Using cache
 ---> 7c0d4e2b9a18
Step 4/9 : COPY . /builder
 ---> 4e8a1f6b2d90
Step 5/9 : RUN make -j2 toolchain/install
 ---> Running in 3f2a9c1d7e55
";

pub const RAWJSON_VERTEXES: &[(&str, bool)] = &[
    ("[internal] load build definition from Dockerfile", false),
    ("[internal] load metadata for docker.io/library/debian:bookworm", false),
    ("[internal] load .dockerignore", false),
    ("[toolchain 1/9] FROM docker.io/library/debian:bookworm", true),
    ("[internal] load build context", false),
    ("[toolchain 2/9] RUN apt-get update && apt-get install -y build-essential", true),
    ("[toolchain 3/9] WORKDIR /builder", true),
    ("[toolchain 4/9] COPY . /builder", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_have_buildkit_precision() {
        let show = |ms| {
            let mut out = Vec::new();
            push_seconds(&mut out, ms);
            String::from_utf8(out).unwrap()
        };
        assert_eq!([show(53), show(9_999), show(15_860), show(159_700), show(1_234_567)], ["0.053", "9.999", "15.86", "159.7", "1234.5"]);
    }

    #[test]
    fn rawjson_times_drop_trailing_zeros() {
        assert_eq!(
            [rfc3339(-60_000), rfc3339(0), rfc3339(100), rfc3339(1)],
            ["2026-11-18T11:05:40Z", "2026-11-18T11:06:40Z", "2026-11-18T11:06:40.1Z", "2026-11-18T11:06:40.001Z"]
        );
    }
}
