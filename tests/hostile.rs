//! Hostile input: a 100 MB output line, NUL bytes and binary noise inside a build, an empty file. The
//! parser streams through them with bounded memory and still reads the build around them.

use std::io::Read;

use buildlens::log::{parse_bytes, parse_reader, BuildResult, StepStatus};

/// A plain log whose one RUN step prints a single line of `len` bytes, generated on the fly (the test
/// holds no copy of it).
struct HugeLine {
    parts: Vec<Vec<u8>>,
    part: usize,
    pos: usize,
    filler_left: u64,
}

impl HugeLine {
    fn new(len: u64) -> HugeLine {
        let head = b"#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#2 [1/1] RUN make\n#2 0.123 ".to_vec();
        let tail = b"\n#2 0.456 done\n#2 DONE 12.3s\n".to_vec();
        HugeLine { parts: vec![head, tail], part: 0, pos: 0, filler_left: len }
    }
}

impl Read for HugeLine {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.part == 0 && self.pos == self.parts[0].len() && self.filler_left > 0 {
            let n = buf.len().min(usize::try_from(self.filler_left).unwrap_or(usize::MAX));
            buf[..n].fill(b'x');
            self.filler_left -= n as u64;
            return Ok(n);
        }
        if self.part < self.parts.len() && self.pos == self.parts[self.part].len() {
            self.part += 1;
            self.pos = 0;
        }
        let Some(p) = self.parts.get(self.part) else { return Ok(0) };
        let n = buf.len().min(p.len() - self.pos);
        buf[..n].copy_from_slice(&p[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn a_100_mb_output_line_is_counted_not_kept() {
    let len = 100 * 1024 * 1024;
    let parsed = parse_reader(HugeLine::new(len));
    let step = &parsed.builds[0].steps[1];
    assert_eq!((step.status, step.duration_ms, step.output.lines), (StepStatus::Executed, Some(12_300), 2));
    assert!(step.excerpt[0].len() < 1024 && step.excerpt[0].ends_with('…'), "the excerpt keeps a bounded start");
    assert_eq!(step.excerpt[1], "done");
    assert!(step.output.end > len, "offsets stay exact past the long line");
}

#[test]
fn nul_bytes_and_binary_noise_inside_a_build() {
    let mut log = b"#1 [1/2] FROM docker.io/library/alpine\n#1 CACHED\n\n#2 [2/2] RUN ./configure\n#2 0.1 a\0b\n".to_vec();
    log.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8));
    log.extend_from_slice(
        b"\n#2 0.2 \xff\xfe\xfd checking\n#2 ERROR: process \"/bin/sh -c ./configure\" did not complete successfully: exit code: 1\n",
    );
    let parsed = parse_bytes(&log);
    let build = &parsed.builds[0];
    assert_eq!(build.result, BuildResult::Failed);
    let step = build.steps.iter().find(|s| s.k == Some(2)).unwrap();
    assert_eq!((step.status, step.exit_code), (StepStatus::Error, Some(1)));
    assert!(step.excerpt.iter().all(|l| !l.contains('\0')), "no control characters reach an excerpt");
}

#[test]
fn empty_and_non_build_input_say_so_in_one_problem() {
    for input in [&b""[..], b"\n\n", b"hello world\nthis is not a build\n", &[0u8; 1000]] {
        let parsed = parse_bytes(input);
        assert!(parsed.builds.is_empty());
        assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
        assert!(parsed.problems[0].message.starts_with("not a build log"));
    }
}
