//! Pure: reads which Dockerfile each service of a compose file builds (`services: <name>: build:`).
//!
//! Not a YAML parser: a bounded reader of block-style mappings by indentation, enough for the `build:`
//! key of each service, as a string (the context; the Dockerfile is `Dockerfile` in it) or a mapping
//! (block or `{ … }` flow) with `context` and `dockerfile`. What it cannot read (anchors, tabs, lists
//! where a mapping belongs) becomes a problem line and that service is left out; it never fails.
//! Compose's spec: a relative `context` is relative to the compose file's folder, a relative
//! `dockerfile` to the context; `${VAR:-default}` takes the default (the environment is not read).

use std::path::{Component, Path, PathBuf};

/// The file names compose looks for, in its order of preference.
pub const FILE_NAMES: [&str; 4] = ["compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];
/// Longest text read (compose files are small; beyond this the rest is ignored, with a problem).
const MAX_BYTES: usize = 1 << 20;
/// Most services kept.
const MAX_SERVICES: usize = 1000;

/// One service that builds an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBuild {
    pub name: String,
    /// As written (`.`, `./web`); `.` when the mapping names none.
    pub context: String,
    /// As written; `Dockerfile` when not given.
    pub dockerfile: String,
}

impl ServiceBuild {
    /// The Dockerfile's path for a compose file in `dir` (lexically normalised, not canonicalised);
    /// `None` for a remote context (a git or http URL).
    pub fn dockerfile_path(&self, dir: &Path) -> Option<PathBuf> {
        if self.context.contains("://") || self.context.starts_with("git@") {
            return None;
        }
        let context = dir.join(&self.context);
        Some(normalize(&context.join(&self.dockerfile)))
    }
}

/// What a compose file says about builds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compose {
    pub services: Vec<ServiceBuild>,
    /// `line N: …` for what could not be read.
    pub problems: Vec<String>,
}

/// Reads `text` (a compose file). Never fails.
pub fn parse(text: &str) -> Compose {
    let mut out = Compose::default();
    let text = match text.get(..MAX_BYTES) {
        Some(cut) if text.len() > MAX_BYTES => {
            out.problems.push(format!("only the first {MAX_BYTES} bytes were read"));
            cut
        }
        _ => text,
    };
    let mut reader = Reader::default();
    for (i, raw) in text.trim_start_matches('\u{feff}').lines().enumerate() {
        reader.line(i + 1, raw, &mut out);
    }
    reader.finish(&mut out);
    out
}

/// Where the reader is in the file.
#[derive(Default)]
struct Reader {
    /// Indentation of the `services:` key when inside it.
    services: Option<usize>,
    /// Indentation of the service keys (set by the first one).
    service_indent: Option<usize>,
    /// The current service: name, its `build:` indentation when inside a block `build:` mapping.
    current: Option<Open>,
}

struct Open {
    name: String,
    /// Indentation of the service's own keys (set by the first one).
    key_indent: Option<usize>,
    build_indent: Option<usize>,
    context: Option<String>,
    dockerfile: Option<String>,
    has_build: bool,
}

impl Reader {
    fn line(&mut self, number: usize, raw: &str, out: &mut Compose) {
        let line = strip_comment(raw.trim_end_matches('\r'));
        let body = line.trim_start_matches(' ');
        if body.trim().is_empty() || body.starts_with("---") {
            return;
        }
        let indent = line.len() - body.len();
        if body.starts_with('\t') {
            out.problems.push(format!("line {number}: a tab in the indentation (YAML allows only spaces)"));
            return;
        }
        let Some(services) = self.services else {
            if indent == 0 && key_value(body).is_some_and(|(k, _)| k == "services") {
                self.services = Some(0);
            }
            return;
        };
        if indent <= services {
            self.close(out);
            self.services = None;
            self.service_indent = None;
            return self.line(number, raw, out);
        }
        let service_indent = *self.service_indent.get_or_insert(indent);
        if indent <= service_indent {
            self.close(out);
            match key_value(body) {
                Some((name, v)) if indent == service_indent && v.is_empty() => self.open(name),
                Some((_, v)) if v.starts_with('{') => {
                    out.problems.push(format!("line {number}: a service written in flow style is not read"))
                }
                _ => out.problems.push(format!("line {number}: expected a service name")),
            }
            return;
        }
        self.inside_service(number, indent, body, out);
    }

    fn open(&mut self, name: String) {
        self.current = Some(Open { name, key_indent: None, build_indent: None, context: None, dockerfile: None, has_build: false });
    }

    /// A line inside a service: its `build:` key, or a key of the `build:` mapping.
    fn inside_service(&mut self, number: usize, indent: usize, body: &str, out: &mut Compose) {
        let Some(open) = self.current.as_mut() else { return };
        if let Some(build) = open.build_indent {
            if indent > build {
                if let Some((key, value)) = key_value(body) {
                    set(open, &key, &value);
                }
                return;
            }
            open.build_indent = None;
        }
        let key_indent = *open.key_indent.get_or_insert(indent);
        let Some((key, value)) = key_value(body) else { return };
        if key != "build" || indent != key_indent {
            return;
        }
        open.has_build = true;
        if value.is_empty() {
            open.build_indent = Some(indent);
        } else if let Some(flow) = value.strip_prefix('{') {
            let Some(flow) = flow.trim_end().strip_suffix('}') else {
                out.problems.push(format!("line {number}: a `build: {{` mapping that does not end on its line is not read"));
                open.has_build = false;
                return;
            };
            for part in flow.split(',') {
                if let Some((k, v)) = key_value(part.trim()) {
                    set(open, &k, &v);
                }
            }
        } else if value.starts_with('*') || value.starts_with('&') || value.starts_with('[') || value.starts_with('|') {
            out.problems.push(format!("line {number}: `build: {value}` is not read (anchors, lists and block text are not supported)"));
            open.has_build = false;
        } else {
            open.context = Some(scalar(&value));
        }
    }

    fn close(&mut self, out: &mut Compose) {
        let Some(open) = self.current.take() else { return };
        if !open.has_build {
            return;
        }
        if out.services.len() >= MAX_SERVICES {
            return;
        }
        let context = open.context.unwrap_or_else(|| ".".into());
        let dockerfile = open.dockerfile.unwrap_or_else(|| "Dockerfile".into());
        out.services.push(ServiceBuild { name: open.name, context, dockerfile });
    }

    fn finish(&mut self, out: &mut Compose) {
        self.close(out);
    }
}

fn set(open: &mut Open, key: &str, value: &str) {
    match key {
        "context" => open.context = Some(scalar(value)),
        "dockerfile" => open.dockerfile = Some(scalar(value)),
        _ => {}
    }
}

/// `key: value` (the key unquoted); `None` for a line that is not a mapping entry (a list item, text).
fn key_value(body: &str) -> Option<(String, String)> {
    if body.starts_with("- ") || body == "-" {
        return None;
    }
    let (key, value) = match body.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let rest = body.get(1..)?;
            let end = rest.find(q)?;
            let after = rest.get(end + 1..)?.trim_start().strip_prefix(':')?;
            (rest.get(..end)?, after)
        }
        _ => {
            let at = body.find(": ").or_else(|| body.strip_suffix(':').map(|k| k.len()))?;
            (body.get(..at)?, body.get(at + 1..).unwrap_or(""))
        }
    };
    Some((key.trim().to_string(), value.trim().to_string()))
}

/// A scalar value: quotes removed, `${VAR:-default}` / `${VAR-default}` replaced by the default.
fn scalar(value: &str) -> String {
    let v = value.trim();
    let unquoted = match (v.chars().next(), v.chars().last()) {
        (Some(a @ ('"' | '\'')), Some(b)) if a == b && v.len() >= 2 => v.get(1..v.len() - 1).unwrap_or(v),
        _ => v,
    };
    defaults(unquoted)
}

fn defaults(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or(""));
        let after = rest.get(start + 2..).unwrap_or("");
        let Some(end) = after.find('}') else {
            out.push_str(rest.get(start..).unwrap_or(""));
            return out;
        };
        let inner = after.get(..end).unwrap_or("");
        if let Some(at) = inner.find('-') {
            out.push_str(inner.get(at + 1..).unwrap_or(""));
        }
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// The line without a `#` comment (a `#` at the start or after a space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (None, '"' | '\'') if prev == ' ' || prev == ':' => quote = Some(c),
            (None, '#') if prev == ' ' || prev == '\t' => return line.get(..i).unwrap_or(line),
            _ => {}
        }
        prev = c;
    }
    line
}

/// `a/./b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests;
