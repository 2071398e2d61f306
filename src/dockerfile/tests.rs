//! Model tests: lines, keywords, joined text, stages and edges of small Dockerfiles.

use super::*;

/// Every instruction as `line-end KEYWORD stage joined`.
fn check(text: &str, expect: &[&str]) {
    let df = parse(text);
    let got: Vec<String> = df
        .instructions
        .iter()
        .map(|i| format!("{}-{} {} {} {}", i.line, i.end_line, i.keyword, i.stage.map_or("-".into(), |s| s.to_string()), i.joined))
        .collect();
    assert_eq!(got, expect, "{text:?}");
}

#[test]
fn instructions() {
    check("FROM a\nrun make\n", &["1-1 FROM 0 FROM a", "2-2 RUN 0 run make"]);
    check("ARG V=1\nFROM a:$V AS b\nFROM b\n", &["1-1 ARG - ARG V=1", "2-2 FROM 0 FROM a:$V AS b", "3-3 FROM 1 FROM b"]);
    check("FROM a\r\nRUN x \\\r\n  y\r\n", &["1-1 FROM 0 FROM a", "2-3 RUN 0 RUN x   y"]);
    check("FROM a\nONBUILD RUN make\n", &["1-1 FROM 0 FROM a", "2-2 ONBUILD 0 ONBUILD RUN make"]);
    check("  FROM a\n\tRUN b", &["1-1 FROM 0 FROM a", "2-2 RUN 0 RUN b"]);
}

#[test]
fn crlf_original_and_span() {
    let text = "FROM a\r\nRUN x \\\r\n  y\r\nRUN z";
    let df = parse(text);
    let run = &df.instructions[1];
    assert_eq!(run.original, "RUN x \\\r\n  y");
    assert_eq!(&text[run.span[0]..run.span[1]], run.original);
    assert_eq!(df.instructions[2].span, [text.len() - 5, text.len()]);
}

#[test]
fn directives_and_escape() {
    let df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM mcr.microsoft.com/windows\nRUN dir `\n  c:\\\nCOPY --from=x a b\n");
    assert_eq!(df.directive("syntax"), Some("docker/dockerfile:1"));
    assert_eq!(df.escape, '`');
    assert_eq!(df.instructions[1].joined, "RUN dir   c:\\");
    assert_eq!((df.instructions[1].line, df.instructions[1].end_line), (4, 5));
    assert_eq!(df.instructions[2].flag("from"), Some("x"));
    assert!(df.instructions[2].parsed);
}

#[test]
fn flags_and_forms() {
    let df = parse("FROM --platform=$BUILDPLATFORM a AS b\nRUN --mount=type=cache,target=/c make\nCMD [\"a\", \"b\"]\nRUN [\"x\"]\nCOPY --link --chmod=755 a /b\n");
    let i = &df.instructions;
    assert_eq!(i[0].flag("platform"), Some("$BUILDPLATFORM"));
    assert_eq!(i[1].flag("mount"), Some("type=cache,target=/c"));
    assert_eq!((i[1].form, i[2].form, i[3].form), (Form::Shell, Form::Json, Form::Json));
    assert_eq!(i[4].flags.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["link", "chmod"]);
    assert!(i.iter().all(|x| x.parsed));
    assert_eq!(df.stages[0].name.as_deref(), Some("b"));
}

#[test]
fn heredocs_end_at_their_terminator() {
    let df = parse("FROM a\nRUN <<EOF\nset -e\necho hi\nEOF\nRUN cat > /f <<'EOT'\n$HOME\nEOT\nCOPY <<-X /y\n\tbody\n\tX\nRUN cat <<EOF >> file\nx\nEOF\nRUN last\n");
    let lines: Vec<(u32, u32)> = df.instructions.iter().map(|i| (i.line, i.end_line)).collect();
    assert_eq!(lines, [(1, 1), (2, 5), (6, 8), (9, 11), (12, 14), (15, 15)]);
    let h = &df.instructions[2].heredocs[0];
    assert_eq!((h.name.as_str(), h.quoted, h.strip_tabs, h.line, h.end_line), ("EOT", true, false, 7, 8));
    assert!(df.instructions[3].heredocs[0].strip_tabs);
    assert_eq!(df.instructions[1].joined, "RUN <<EOF");
    assert!(df.problems.is_empty(), "{:?}", df.problems);
}

#[test]
fn half_typed_line_keeps_later_instructions() {
    let df = parse("FROM a AS b\nRUN make\nCOP\nCOPY --from=\nRUN test\nFROM b\n");
    assert_eq!(df.instructions.len(), 6);
    assert_eq!(df.instructions[4].line, 5);
    assert_eq!(df.problems.len(), 1);
    assert!(df.problems[0].message.contains("unknown instruction: COP"));
    assert_eq!(df.stages[1].base, Base::Stage(0));
}

#[test]
fn stages_and_edges() {
    let df = parse("FROM golang:1.22 AS Build\nRUN go build\nFROM scratch\nCOPY --from=build /a /a\nCOPY --from=0 /b /b\nCOPY --from=nginx:1 /c /c\nFROM build AS test\nRUN go test\n");
    let bases: Vec<&Base> = df.stages.iter().map(|s| &s.base).collect();
    assert_eq!(bases, [&Base::Image("golang:1.22".into()), &Base::Scratch, &Base::Stage(0)]);
    assert_eq!(df.stages[0].name.as_deref(), Some("build"));
    assert_eq!(df.stages[1].buildkit_name(), "stage-1");
    let edges: Vec<&Base> = df.stages[1].copies_from.iter().map(|c| &c.source).collect();
    assert_eq!(edges, [&Base::Stage(0), &Base::Stage(0), &Base::Image("nginx:1".into())]);
    assert_eq!(df.stage_named("BUILD"), Some(0));
    assert_eq!(df.buildkit_counted(0), [0, 1]);
    assert_eq!(df.buildkit_counted(1), [3, 4, 5]);
    assert_eq!(df.buildkit_counted(2), [7]);
    assert_eq!(df.stage_instructions(2), [6, 7]);
    assert_eq!(df.instruction_at_line(4), Some(3));
}

#[test]
fn problems_never_panics() {
    for text in
        ["RUN x", "FROM", "# escape=?\nFROM a", "FROM a\nRUN <<EOF\n", "FROM a\nRUN a \\", "\u{feff}", "\r\n\r\n", "FROM a\nONBUILD FROM b"]
    {
        let df = parse(text);
        assert!(!df.problems.is_empty() || text.trim().is_empty() || text == "\u{feff}", "{text:?}");
    }
}

proptest::proptest! {
    /// Any text parses without a panic, and instruction lines are ordered and in range.
    #[test]
    fn never_panics(text in "(FROM a AS b\n|RUN x|COPY --from=b|<<-?'?EOF'?|EOF|\\$\\{?V|\\\\|`|# escape=`\n|\r\n|\n|#| |\t|ONBUILD |é)*") {
        let df = parse(&text);
        let lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
        for w in df.instructions.windows(2) {
            proptest::prop_assert!(w[0].end_line < w[1].line);
        }
        for i in &df.instructions {
            proptest::prop_assert!(i.line <= i.end_line && i.end_line <= lines.max(1));
            proptest::prop_assert!(text.get(i.span[0]..i.span[1]).is_some());
        }
        let steps = vec![crate::log::Step::named("[1/2] RUN x"), crate::log::Step::named("Step 1/1 : FROM a AS b")];
        let _ = crate::mapping::map_steps(&df, &steps);
    }
}
