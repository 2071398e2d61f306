//! BuildKit loads an image once for every stage that starts `FROM` it and names that vertex after ONE of
//! the stages that use it, chosen by a race: maybe a stage that only derives from it (`FROM b AS c`),
//! printed with the label of that stage's own first step (`[c 1/2] FROM …` and `[c 1/2] COPY …`).
//! Hand-made plain logs of that class, the image vertex named after each possible stage and printed
//! before or after the step whose label it shares, are parsed and mapped, and every Dockerfile line's
//! status is checked: the image goes to a FROM that names it, the derived stages keep all their steps
//! and the failure stays on its line.

use buildlens::dockerfile;
use buildlens::log::{self, StepStatus};
use buildlens::mapping;

/// An image shared by a, b and e; c derives from b and d from c (two deep); the target is d, whose last
/// step fails. a and e are not needed by the target.
const CHAIN: &str = "\
FROM fixture-base AS a
RUN echo a

FROM fixture-base AS b
RUN echo b

FROM b AS c
COPY x /x
RUN echo c

FROM c AS d
WORKDIR /w
RUN exit 3

FROM fixture-base AS e
COPY --from=a /x /y
";

/// The steps BuildKit runs for target d (FROM <stage> is no vertex), in the order it prints them.
const CHAIN_STEPS: &[(&str, Outcome)] = &[
    ("[b 2/2] RUN echo b", Outcome::Done),
    ("[c 1/2] COPY x /x", Outcome::Done),
    ("[c 2/2] RUN echo c", Outcome::Done),
    ("[d 1/2] WORKDIR /w", Outcome::Done),
    ("[d 2/2] RUN exit 3", Outcome::Error),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Done,
    Cached,
    Error,
}

/// A plain BuildKit log of `steps`, numbered `#1…` in order, with the error block and final line.
fn plain_log(steps: &[(String, Outcome)]) -> String {
    let mut log = String::from("#0 building with \"default\" instance using docker driver\n\n");
    log.push_str("#1 [internal] load build definition from Dockerfile\n#1 transferring dockerfile: 353B done\n#1 DONE 0.0s\n\n");
    let mut failed = None;
    for (i, (name, outcome)) in steps.iter().enumerate() {
        let n = i + 2;
        log.push_str(&format!("#{n} {name}\n"));
        match outcome {
            Outcome::Done => log.push_str(&format!("#{n} 0.105 some output\n#{n} DONE 0.2s\n\n")),
            Outcome::Cached => log.push_str(&format!("#{n} CACHED\n\n")),
            Outcome::Error => {
                log.push_str(&format!("#{n} ERROR: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\n"));
                failed = Some(name.clone());
            }
        }
    }
    if let Some(name) = failed {
        log.push_str(&format!("------\n > {name}:\n------\n"));
        log.push_str("ERROR: failed to solve: process \"/bin/sh -c exit 3\" did not complete successfully: exit code: 3\n");
    }
    log
}

/// The status on each instruction's first line: the last step mapped there, `None` when none.
fn line_statuses(dockerfile_text: &str, log_text: &str) -> Vec<(u32, Option<StepStatus>)> {
    let df = dockerfile::parse(dockerfile_text);
    let parsed = log::parse_bytes(log_text.as_bytes());
    assert_eq!(parsed.builds.len(), 1, "one build in:\n{log_text}");
    let build = &parsed.builds[0];
    let m = mapping::map_build(&df, build);
    df.instructions
        .iter()
        .map(|ins| {
            let mut at = m.steps.iter().zip(&build.steps).filter(|(s, _)| s.as_ref().is_some_and(|s| s.line == ins.line));
            (ins.line, at.next_back().map(|(_, step)| step.status))
        })
        .collect()
}

/// The chain's steps with the image vertex `[<stage> k/n] FROM …` put at `at`.
fn with_image_vertex(label: &str, at: usize, outcome: Outcome) -> Vec<(String, Outcome)> {
    let mut steps: Vec<(String, Outcome)> = CHAIN_STEPS.iter().map(|(n, o)| (n.to_string(), *o)).collect();
    steps.insert(at.min(steps.len()), (format!("{label} FROM docker.io/library/fixture-base"), outcome));
    steps
}

/// What every line of CHAIN must show when the image vertex lands on line `from_line`.
fn chain_expected(from_line: u32, from: StepStatus) -> Vec<(u32, Option<StepStatus>)> {
    use StepStatus::{Error, Executed};
    let mut want = vec![
        (1, None),
        (2, None),
        (4, None),
        (5, Some(Executed)),
        (7, None),
        (8, Some(Executed)),
        (9, Some(Executed)),
        (11, None),
        (12, Some(Executed)),
        (13, Some(Error)),
        (15, None),
        (16, None),
    ];
    for w in &mut want {
        if w.0 == from_line {
            w.1 = Some(from);
        }
    }
    want
}

#[test]
fn the_image_vertex_named_after_any_stage_of_the_chain_keeps_every_line() {
    // (label, line its FROM must land on): a stage that loads the image keeps it; a derived stage's label
    // goes to the root of its chain (b), never to the derived stage's own first step.
    let labels = [("[a 1/2]", 1), ("[b 1/2]", 4), ("[c 1/2]", 4), ("[d 1/2]", 4), ("[e 1/2]", 15)];
    for (label, line) in labels {
        for at in 0..=CHAIN_STEPS.len() {
            for (outcome, status) in [(Outcome::Cached, StepStatus::Cached), (Outcome::Done, StepStatus::Executed)] {
                let log = plain_log(&with_image_vertex(label, at, outcome));
                let got = line_statuses(CHAIN, &log);
                assert_eq!(got, chain_expected(line, status), "image vertex {label} at {at}:\n{log}");
            }
        }
    }
}

/// A derived stage whose chain starts from another image: the shared vertex named after it goes to the
/// first stage that loads the image and has steps in the log.
const OTHER_ROOT: &str = "\
FROM other-base AS x
RUN echo x

FROM fixture-base AS unused
RUN echo unused

FROM fixture-base AS a
RUN echo a

FROM x AS y
COPY --from=a /a /a
RUN exit 3
";

#[test]
fn a_derived_stage_of_another_image_sends_the_vertex_to_a_stage_that_loads_it() {
    use StepStatus::{Cached, Error, Executed};
    for label in ["[y 1/2]", "[x 1/2]"] {
        let steps: Vec<(String, Outcome)> = [
            ("[x 1/2] FROM docker.io/library/other-base", Outcome::Cached),
            (&*format!("{label} FROM docker.io/library/fixture-base"), Outcome::Cached),
            ("[x 2/2] RUN echo x", Outcome::Done),
            ("[a 2/2] RUN echo a", Outcome::Done),
            ("[y 1/2] COPY --from=a /a /a", Outcome::Done),
            ("[y 2/2] RUN exit 3", Outcome::Error),
        ]
        .iter()
        .map(|(n, o)| (n.to_string(), *o))
        .collect();
        let log = plain_log(&steps);
        let want = vec![
            (1, Some(Cached)),
            (2, Some(Executed)),
            (4, None),
            (5, None),
            (7, Some(Cached)),
            (8, Some(Executed)),
            (10, None),
            (11, Some(Executed)),
            (12, Some(Error)),
        ];
        assert_eq!(line_statuses(OTHER_ROOT, &log), want, "image vertex {label}:\n{log}");
    }
}

#[test]
fn an_edited_from_of_its_own_stage_still_maps_there() {
    // Not the class: the labelled stage loads an image and no FROM names the printed one (edited since).
    let df = "FROM fixture-base:2 AS a\nRUN echo a\n";
    let log = plain_log(&[
        ("[a 1/2] FROM docker.io/library/fixture-base:1".to_string(), Outcome::Cached),
        ("[a 2/2] RUN echo a".to_string(), Outcome::Done),
    ]);
    assert_eq!(line_statuses(df, &log), vec![(1, Some(StepStatus::Cached)), (2, Some(StepStatus::Executed))]);
}
