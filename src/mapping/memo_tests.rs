//! The similarity memo changes no mapping: random Dockerfiles, the steps of a build of them, then random
//! edits (a key typed inside an instruction, lines inserted or removed, an instruction added, removed or
//! its keyword changed), each mapped through one kept memo and from scratch.

use proptest::prelude::*;

use super::SimMemo;
use crate::dockerfile;
use crate::log::{step_name, Step};
use crate::mapping::{map_steps, map_steps_memo};

const LINES: &[&str] = &[
    "RUN echo building {} && mkdir -p /out/p{}",
    "RUN ./configure --prefix=/out/{} && make -j2 p{}",
    "COPY src/m{} /src/m{}",
    "ENV STEP_{}=on",
    "ARG OPT_{}=1",
    "WORKDIR /src/m{}",
    "RUN test -f /opt/p{} && echo ok{}",
    "RUN apt-get install -y gcc-{}",
];

/// A two-stage Dockerfile of instruction templates `picks` (numbered by position).
fn dockerfile_of(picks: &[usize]) -> String {
    let mut out = String::from("FROM base AS build\n");
    let half = picks.len() / 2;
    for (i, p) in picks.iter().enumerate() {
        if i == half {
            out.push_str("FROM base\n");
        }
        let line = LINES.get(p % LINES.len()).copied().unwrap_or("RUN x");
        out.push_str(&line.replace("{}", &i.to_string()));
        out.push('\n');
    }
    out
}

/// The steps BuildKit prints for `text` (`[stage k/n] …`), with the name-derived fields filled.
fn steps_of(text: &str) -> Vec<Step> {
    let df = dockerfile::parse(text);
    let mut out = Vec::new();
    for (s, stage) in df.stages.iter().enumerate() {
        let counted = df.buildkit_counted(s);
        for (k, i) in counted.iter().enumerate() {
            let Some(ins) = df.instructions.get(*i) else { continue };
            let mut step = Step::named(format!("[{} {}/{}] {}", stage.buildkit_name(), k + 1, counted.len(), ins.joined));
            step_name::apply(&mut step);
            out.push(step);
        }
    }
    out
}

/// One edit of `text`: (kind, which line, a character).
fn edit(text: &str, (kind, at, c): (u8, usize, char)) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let n = lines.len().max(1);
    let at = at % n;
    let long = lines.len() > 2;
    match (kind % 6, lines.get_mut(at)) {
        (0, Some(l)) => l.insert(l.len().min(4), c),
        (1, Some(l)) => l.push(c),
        (2, _) => lines.insert(at, String::new()),
        (3, _) if long => {
            lines.remove(at);
        }
        (4, _) => lines.insert(at, format!("RUN added {c}")),
        (5, Some(l)) => *l = l.replacen("RUN", "CMD", 1),
        _ => {}
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn kept_similarities_map_as_from_scratch(
        picks in proptest::collection::vec(0usize..8, 2..24),
        edits in proptest::collection::vec((0u8..6, 0usize..40, proptest::char::range('a', 'e')), 1..12),
        built_from_edit in 0usize..4,
    ) {
        let original = dockerfile_of(&picks);
        let mut texts = vec![original.clone()];
        for e in &edits {
            let next = edit(texts.last().map_or("", String::as_str), *e);
            texts.push(next);
        }
        // The build ran an earlier text (maybe already edited), the buffer moves on from the original.
        let built = texts.get(built_from_edit.min(texts.len() - 1)).cloned().unwrap_or_default();
        let steps = steps_of(&built);
        let failing: Vec<Step> = steps.iter().take(steps.len() / 2).cloned().collect();
        let mut memo = SimMemo::on();
        for text in &texts {
            let df = dockerfile::parse(text);
            for shape in [&steps, &failing] {
                prop_assert_eq!(map_steps_memo(&df, shape, None, &mut memo), map_steps(&df, shape), "{}", text);
            }
            memo.sweep();
        }
    }
}

#[test]
fn a_key_typed_recompares_one_column_and_the_memo_keeps_one_text() {
    let text = dockerfile_of(&[0, 1, 2, 3, 4, 5, 6, 7, 0, 1]);
    let steps = steps_of(&text);
    let mut memo = SimMemo::on();
    let df = dockerfile::parse(&text);
    map_steps_memo(&df, &steps, None, &mut memo);
    let kept = memo.len();
    assert!(kept >= df.instructions.len(), "a column per instruction: {kept}");
    memo.sweep();
    let typed = edit(&text, (0, 1, 'x'));
    let df = dockerfile::parse(&typed);
    assert_eq!(map_steps_memo(&df, &steps, None, &mut memo), map_steps(&df, &steps));
    // The edited RUN is in the first stage, which both groups of steps are compared with (the second
    // group tries the stages in order until its own fits): its column, once per group, is all that is new.
    assert_eq!(memo.len(), kept + 2, "only the edited instruction's columns are new");
    memo.sweep();
    memo.sweep();
    assert!(memo.is_empty(), "columns unused since the last sweep go");
}
