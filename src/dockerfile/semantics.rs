//! Per-instruction semantics: flags and shell/JSON form, read by `parse-dockerfile` where it accepts the
//! instruction and by a plain reading of the splitter's joined text where it does not.
//!
//! Each instruction is parsed on its own (behind `FROM scratch` and the file's escape directive), so one
//! bad line does not cost the others their semantics. The crate is called under `catch_unwind`: a panic
//! in a dependency must not take the caller down (the crate documents `parse` as possibly panicking).

use parse_dockerfile as pd;

use super::{Flag, Form, Instruction, Problem, KEYWORDS};

/// Fills `flags`, `form` and `parsed` of one instruction; notes unknown keywords.
pub(super) fn fill(ins: &mut Instruction, escape: char, problems: &mut Vec<Problem>) {
    if !KEYWORDS.contains(&ins.keyword.as_str()) {
        problems.push(Problem { line: ins.line, message: format!("unknown instruction: {}", ins.keyword) });
        return;
    }
    if let Some(inner) = &ins.onbuild {
        if !KEYWORDS.contains(&inner.as_str()) || matches!(inner.as_str(), "ONBUILD" | "FROM" | "MAINTAINER") {
            problems.push(Problem { line: ins.line, message: format!("{inner} is not allowed as an ONBUILD trigger") });
        }
    }
    let (flags, form) = plain_reading(ins.args(), ins.effective_keyword());
    ins.flags = flags;
    ins.form = form;
    if let Some((flags, form)) = crate_reading(&ins.original, escape) {
        ins.flags = flags;
        if let Some(form) = form {
            ins.form = form;
        }
        ins.parsed = true;
    }
}

/// Leading `--name[=value]` words, then JSON form if the rest is a JSON array of strings.
pub(super) fn plain_reading(args: &str, keyword: &str) -> (Vec<Flag>, Form) {
    let mut flags = Vec::new();
    let mut rest = args.trim_start();
    // HEALTHCHECK, FROM, RUN, COPY, ADD take flags; for the others a `--x` word is an argument.
    if matches!(keyword, "HEALTHCHECK" | "FROM" | "RUN" | "COPY" | "ADD") {
        while let Some(word) = rest.strip_prefix("--") {
            let end = word.find(char::is_whitespace).unwrap_or(word.len());
            let w = word.get(..end).unwrap_or("");
            let (name, value) = match w.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (w, None),
            };
            flags.push(Flag { name: name.to_string(), value });
            rest = word.get(end..).unwrap_or("").trim_start();
        }
    }
    let json = rest.starts_with('[') && serde_json::from_str::<Vec<String>>(rest.trim_end()).is_ok();
    (flags, if json { Form::Json } else { Form::Shell })
}

/// The crate's reading: flags, and the form where the crate tells it. `None` when it rejects the text.
fn crate_reading(original: &str, escape: char) -> Option<(Vec<Flag>, Option<Form>)> {
    let mut text = String::with_capacity(original.len() + 32);
    if escape != '\\' {
        text.push_str("# escape=");
        text.push(escape);
        text.push('\n');
    }
    text.push_str("FROM scratch\n");
    text.push_str(original);
    text.push('\n');
    let outcome = std::panic::catch_unwind(|| {
        let parsed = pd::parse(&text).ok()?;
        parsed.instructions.get(1).map(reading)
    });
    outcome.ok().flatten()
}

fn reading(ins: &pd::Instruction<'_>) -> (Vec<Flag>, Option<Form>) {
    match ins {
        pd::Instruction::Run(r) => (flags(&r.options), Some(command_form(&r.arguments))),
        pd::Instruction::Copy(c) => (flags(&c.options), None),
        pd::Instruction::Add(a) => (flags(&a.options), None),
        pd::Instruction::From(f) => (flags(&f.options), None),
        pd::Instruction::Healthcheck(h) => (flags(&h.options), None),
        pd::Instruction::Cmd(c) => (Vec::new(), Some(command_form(&c.arguments))),
        pd::Instruction::Entrypoint(e) => (Vec::new(), Some(command_form(&e.arguments))),
        pd::Instruction::Shell(_) => (Vec::new(), Some(Form::Json)),
        pd::Instruction::Volume(v) => {
            let form = match &v.arguments {
                pd::JsonOrStringArray::Json(_) => Form::Json,
                pd::JsonOrStringArray::String(_) => Form::Shell,
            };
            (Vec::new(), Some(form))
        }
        pd::Instruction::Onbuild(o) => reading(&o.instruction),
        _ => (Vec::new(), None),
    }
}

fn flags(options: &[pd::Flag<'_>]) -> Vec<Flag> {
    options.iter().map(|f| Flag { name: f.name.value.to_string(), value: f.value.as_ref().map(|v| v.value.to_string()) }).collect()
}

fn command_form(c: &pd::Command<'_>) -> Form {
    match c {
        pd::Command::Exec(_) => Form::Json,
        _ => Form::Shell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &str, keyword: &str, flags: &[(&str, Option<&str>)], form: Form) {
        let (f, fm) = plain_reading(args, keyword);
        let got: Vec<(&str, Option<&str>)> = f.iter().map(|f| (f.name.as_str(), f.value.as_deref())).collect();
        assert_eq!(got, flags, "{args}");
        assert_eq!(fm, form, "{args}");
    }

    #[test]
    fn plain() {
        check("--from=builder /a /b", "COPY", &[("from", Some("builder"))], Form::Shell);
        check(
            "--mount=type=cache,target=/x --network=none make",
            "RUN",
            &[("mount", Some("type=cache,target=/x")), ("network", Some("none"))],
            Form::Shell,
        );
        check("--link [\"a\", \"/b\"]", "COPY", &[("link", None)], Form::Json);
        check("[\"sh\", \"-c\"]", "CMD", &[], Form::Json);
        check("[\"sh\", ", "CMD", &[], Form::Shell);
        check("--foo", "ENV", &[], Form::Shell);
        check("--from=", "COPY", &[("from", Some(""))], Form::Shell);
    }
}
