//! Reads BuildKit vertex names: `[<target> ][<platform> ][<stage> ]<k>/<n>] [ONBUILD ]<INSTRUCTION> <args>`.
//!
//! Source: moby/buildkit `frontend/dockerfile/dockerfile2llb/convert.go` (`prefixCommand`: platform, then
//! stage) and docker/buildx `util/progress/multiwriter.go` (`addPrefix`: a bake or compose target is put
//! first, before the platform: `[web linux/arm64 builder 2/3]`); see `../shared/docs/log-formats.md` §3. `k` is right-aligned to the width of `n` (`[ 1/21]`, `[build  2/14]`).
//! Internal vertexes (`[internal] …`, `[auth] …`, `exporting to image`, an un-numbered `FROM <image>`)
//! carry no `k/n` and no instruction.

use super::model::Step;

/// The parts of a vertex name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepName {
    pub platform: Option<String>,
    /// The word in the stage slot; for compose builds this may be the service (see `split_services`).
    pub stage: Option<String>,
    /// A second word before the stage: compose service of a multi-stage service build.
    pub service: Option<String>,
    pub k: Option<u32>,
    pub n: Option<u32>,
    pub instruction: Option<String>,
    /// `[internal]`, `[auth]`, `[web internal]`: the compose service of an internal vertex, if any.
    pub internal_of: Option<String>,
}

/// Parses a vertex name. Never fails: a name it cannot read gives an all-`None` result.
pub fn parse(name: &str) -> StepName {
    let mut out = StepName::default();
    let Some(rest) = name.strip_prefix('[') else { return out };
    let Some(close) = rest.find(']') else { return out };
    let inside = &rest[..close];
    let after = rest[close + 1..].trim_start_matches(' ');
    let mut words: Vec<&str> = inside.split_whitespace().collect();
    if let Some(&last) = words.last() {
        if last == "internal" || last == "auth" {
            // `[linux/amd64 internal]` names a platform, `[web internal]` a compose service, `[web
            // linux/amd64 internal]` both.
            words.pop();
            let (target, platform) = target_and_platform(&mut words);
            out.platform = platform;
            out.internal_of = target.or_else(|| words.first().map(|w| w.to_string()));
            return out;
        }
        match parse_k_of_n(last) {
            Some((k, n)) => {
                out.k = Some(k);
                out.n = Some(n);
                words.pop();
            }
            None => return out,
        }
    }
    let (target, platform) = target_and_platform(&mut words);
    out.platform = platform;
    if let Some(target) = target {
        out.service = Some(target);
        out.stage = words.first().map(|w| w.to_string());
        out.instruction = (!after.is_empty()).then(|| after.to_string());
        return out;
    }
    match words.as_slice() {
        [] => {}
        [stage] => out.stage = Some(stage.to_string()),
        [service, stage, ..] => {
            out.service = Some(service.to_string());
            out.stage = Some(stage.to_string());
        }
    }
    if !after.is_empty() {
        out.instruction = Some(after.to_string());
    }
    out
}

/// Takes the platform word out of `words` (first, or second after a bake/compose target, which it takes
/// too): `(target, platform)`.
fn target_and_platform(words: &mut Vec<&str>) -> (Option<String>, Option<String>) {
    match words.iter().position(|w| is_platform(w)) {
        Some(0) => (None, Some(words.remove(0).to_string())),
        Some(1) => {
            let platform = words.remove(1).to_string();
            (Some(words.remove(0).to_string()), Some(platform))
        }
        _ => (None, None),
    }
}

fn parse_k_of_n(word: &str) -> Option<(u32, u32)> {
    let (k, n) = word.split_once('/')?;
    Some((k.parse().ok()?, n.parse().ok()?))
}

/// `linux/amd64`, `linux/arm/v7`, `windows/amd64`: an OS and an architecture.
fn is_platform(word: &str) -> bool {
    let mut parts = word.split('/');
    let os = parts.next().unwrap_or("");
    let arch = parts.next();
    matches!(os, "linux" | "windows" | "darwin" | "freebsd") && arch.is_some_and(|a| !a.is_empty())
}

/// BuildKit's plain printer with `PROGRESS_NO_TRUNC=0` cuts a vertex name to 72 bytes and adds `...`
/// (`limitString`, printer.go); a lossy UTF-8 decode of the cut may change the length a little.
pub fn cut_by_plain_printer(name: &str) -> bool {
    (72..=80).contains(&name.len()) && name.ends_with("...")
}

/// Fills a step's name-derived fields from its name.
pub fn apply(step: &mut Step) {
    let parsed = parse(&step.name);
    step.platform = parsed.platform;
    step.stage = parsed.stage;
    step.service = parsed.service;
    step.k = parsed.k;
    step.n = parsed.n;
    step.instruction = parsed.instruction;
}

/// Compose builds put the service name in the stage slot (`[web internal]`, `[web  1/10]`). Once the
/// whole build is known, a stage word that also names an internal vertex's service is a service.
pub fn split_services(steps: &mut [Step]) {
    let services: Vec<String> = steps.iter().filter_map(|s| parse(&s.name).internal_of).collect();
    if services.is_empty() {
        return;
    }
    for step in steps.iter_mut() {
        if step.service.is_none() && step.stage.as_ref().is_some_and(|s| services.contains(s)) {
            step.service = step.stage.take();
        }
        if step.service.is_none() {
            step.service = parse(&step.name).internal_of;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, platform: Option<&str>, service: Option<&str>, stage: Option<&str>, kn: Option<(u32, u32)>, instr: Option<&str>) {
        let p = parse(name);
        assert_eq!(p.platform.as_deref(), platform, "{name}");
        assert_eq!(p.service.as_deref(), service, "{name}");
        assert_eq!(p.stage.as_deref(), stage, "{name}");
        assert_eq!(p.k.zip(p.n), kn, "{name}");
        assert_eq!(p.instruction.as_deref(), instr, "{name}");
    }

    #[test]
    fn names() {
        check("[2/6] WORKDIR /srv", None, None, None, Some((2, 6)), Some("WORKDIR /srv"));
        check("[ 1/21] FROM x", None, None, None, Some((1, 21)), Some("FROM x"));
        check("[build  2/14] RUN a  && b", None, None, Some("build"), Some((2, 14)), Some("RUN a  && b"));
        check("[stage-0  9/24] COPY . .", None, None, Some("stage-0"), Some((9, 24)), Some("COPY . ."));
        check("[linux/amd64 builder 10/12] RUN make", Some("linux/amd64"), None, Some("builder"), Some((10, 12)), Some("RUN make"));
        check("[web builder 2/5] RUN x", None, Some("web"), Some("builder"), Some((2, 5)), Some("RUN x"));
        check("[internal] load build definition from Dockerfile", None, None, None, None, None);
        check("exporting to image", None, None, None, None, None);
        check("[stage-1 1/2] ONBUILD RUN x", None, None, Some("stage-1"), Some((1, 2)), Some("ONBUILD RUN x"));
        check("[", None, None, None, None, None);
        check("[a b c/d] x", None, None, None, None, None);
        assert_eq!(parse("[web internal] load .dockerignore").internal_of.as_deref(), Some("web"));
        let p = parse("[linux/amd64 internal] load metadata for docker.io/library/php:8");
        assert_eq!((p.internal_of, p.platform.as_deref()), (None, Some("linux/amd64")));
    }

    /// buildx puts a bake/compose target before the frontend's platform and stage (`addPrefix`).
    #[test]
    fn a_target_comes_before_the_platform() {
        check(
            "[web linux/arm64 builder 2/3] RUN npm ci",
            Some("linux/arm64"),
            Some("web"),
            Some("builder"),
            Some((2, 3)),
            Some("RUN npm ci"),
        );
        check("[api linux/amd64 1/2] FROM golang", Some("linux/amd64"), Some("api"), None, Some((1, 2)), Some("FROM golang"));
        check(
            "[web linux/arm/v7 stage-1  2/12] COPY . .",
            Some("linux/arm/v7"),
            Some("web"),
            Some("stage-1"),
            Some((2, 12)),
            Some("COPY . ."),
        );
        let p = parse("[web linux/amd64 internal] load metadata for docker.io/library/node:20");
        assert_eq!((p.internal_of.as_deref(), p.platform.as_deref()), (Some("web"), Some("linux/amd64")));
        // A stage may not be named like a platform, so a platform word third is not one.
        check("[a b linux/amd64 1/2] RUN x", None, Some("a"), Some("b"), Some((1, 2)), Some("RUN x"));
    }

    #[test]
    fn compose_services_move_out_of_the_stage_slot() {
        let mut steps = vec![Step::named("[web internal] load build definition from Dockerfile"), Step::named("[web  1/10] FROM php")];
        steps.iter_mut().for_each(apply);
        split_services(&mut steps);
        assert_eq!(steps[1].service.as_deref(), Some("web"));
        assert_eq!(steps[1].stage, None);
        assert_eq!(steps[0].service.as_deref(), Some("web"));
    }
}
