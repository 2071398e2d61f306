//! The steps index (`buildkit_plain_steps`) answers what the demultiplexer's rules say over the steps
//! themselves (`demux_fit`'s scans), whatever steps were added, in whatever order, with the index brought
//! up to date at any point and headers renamed in place (a console-wrapped header rejoined).

use proptest::prelude::*;

use super::fit::{fits_stages, from_image, same_stage};
use crate::log::buildkit_plain::steps::StepsIndex;
use crate::log::model::Step;
use crate::log::step_name::{self, StepName};

const NAMES: [&str; 21] = [
    "[internal] load build definition from Dockerfile",
    "[internal] load metadata for docker.io/library/alpine:3.19",
    "[internal] load metadata for golang:1.22",
    "[internal] load build context",
    "[1/3] FROM docker.io/library/alpine:3.19",
    "[2/3] RUN a",
    "[3/3] COPY . .",
    "[2/4] RUN a",
    "[build 1/2] FROM golang:1.22",
    "[build 2/2] RUN go build",
    "[build 2/3] RUN go vet",
    "[app 2/4] COPY --from=build /x /y",
    "[app 3/4] ADD . /src",
    "[linux/arm64 build 2/2] RUN go build",
    "[web app 1/2] RUN x",
    "[stage-0 1/1] FROM x",
    "exporting to image",
    "[bu",
    "[1/3] FR",
    "[build 1/2] FR",
    "[internal] load metadata for docker.io/lib",
];

/// What a console-wrapped header's next line adds to it.
const TAILS: [&str; 7] = ["", "ild 2/2] RUN go build", " more", "] load build context", "/3] RUN b", "OM golang:1.22", "rary/alpine:3.19"];

#[derive(Debug, Clone)]
enum Op {
    Push(usize),
    Rename(usize, usize),
    Sync,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..NAMES.len()).prop_map(Op::Push),
        1 => (0usize..64, 0..TAILS.len()).prop_map(|(i, t)| Op::Rename(i, t)),
        1 => Just(Op::Sync),
    ]
}

fn step(name: &str) -> Step {
    let mut step = Step::named(name.to_string());
    step_name::apply(&mut step);
    step
}

/// The index's answers for `name` against the scans of `steps`.
fn agree(index: &StepsIndex, steps: &[Step], name: &StepName, text: &str) -> Result<(), TestCaseError> {
    if let (Some(n), None) = (name.n, from_image(name)) {
        prop_assert_eq!(index.fits_stages(name, n), fits_stages(steps, name), "fits_stages {}", text);
    }
    let stage = name.n.is_some() && steps.iter().any(|s| same_stage(s, name) && s.n == name.n);
    prop_assert_eq!(index.has_stage_n(name), stage, "stage n {}", text);
    if let Some(image) = from_image(name) {
        let loaded = steps.iter().any(|s| s.name.strip_suffix(image).is_some_and(|h| h.ends_with("] load metadata for ")));
        prop_assert_eq!(index.loaded(image), loaded, "image {}", text);
    }
    if let Some(stage) = &name.stage {
        prop_assert_eq!(index.has_stage(stage), steps.iter().any(|s| s.stage.as_ref() == Some(stage)), "stage {}", text);
    }
    prop_assert_eq!(index.loads_context(), steps.iter().any(|s| s.name.ends_with("] load build context")));
    let named = steps.iter().any(|s| s.name == text);
    prop_assert!(!named || index.may_have_name(text.as_bytes()), "name {}", text);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]
    #[test]
    fn the_steps_index_answers_as_the_scans_do(ops in proptest::collection::vec(op(), 0..60)) {
        let mut steps: Vec<Step> = Vec::new();
        let mut index = StepsIndex::default();
        for op in ops {
            match op {
                Op::Push(i) => steps.push(step(NAMES[i])),
                Op::Rename(i, t) if !steps.is_empty() => {
                    // A console wraps the header just printed, or one printed again a little earlier.
                    let i = steps.len() - 1 - i % steps.len().min(3);
                    let counted = index.counts(i);
                    if counted {
                        index.renaming(&steps[i], false);
                    }
                    steps[i].name.push_str(TAILS[t]);
                    step_name::apply(&mut steps[i]);
                    if counted {
                        index.renaming(&steps[i], true);
                    }
                }
                Op::Rename(..) => {}
                Op::Sync => {
                    index.sync(&steps);
                    for text in NAMES.iter().map(|n| n.to_string()).chain(steps.iter().map(|s| s.name.clone())) {
                        agree(&index, &steps, &step_name::parse(&text), &text)?;
                    }
                }
            }
        }
    }
}

/// A header cut inside `FROM` (`[1/3] FR` + `OM …`) was counted as a numbered step that is no `FROM`; once
/// rejoined it is one, and its label and `n` no longer bar another build's `[1/3]`… of that stage.
#[test]
fn a_rejoined_header_moves_out_of_what_it_counted() {
    let mut steps = vec![step("[internal] load metadata for docker.io/lib"), step("[2/3] FR")];
    let mut index = StepsIndex::default();
    index.sync(&steps);
    for (i, tail) in [(0, "rary/alpine:3.19"), (1, "OM docker.io/library/alpine:3.19")] {
        index.renaming(&steps[i], false);
        steps[i].name.push_str(tail);
        step_name::apply(&mut steps[i]);
        index.renaming(&steps[i], true);
    }
    for text in ["[2/3] RUN a", "[2/4] RUN a", "[build 2/2] RUN b"] {
        agree(&index, &steps, &step_name::parse(text), text).unwrap();
    }
    assert!(index.fits_stages(&step_name::parse("[2/4] RUN a"), 4));
    assert!(index.loaded("docker.io/library/alpine:3.19") && !index.loaded("docker.io/lib"));
    assert!(index.has_stage_n(&step_name::parse("[1/3] RUN x")));
}
