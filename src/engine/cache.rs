//! Engine answers cached per image, so a lens refresh never asks the engine twice: histories of image ids
//! are kept for good (an id names one image forever), those asked by tag and failures for a short while
//! (a tag moves on the next build; a daemon may come back). A failure is logged once per expiry, so a dead
//! daemon costs one line, not one per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{Config, EngineError};
use crate::analysis::layers::ImageHistory;

/// How long an answer for a tag, or a failure, is reused.
const SHORT: Duration = Duration::from_secs(30);

type Answer = Result<Arc<ImageHistory>, EngineError>;
/// An answer and when it stops being reused (`None`: never).
type Entry = (Answer, Option<Instant>);

/// Shared by the CLI run or the language server (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Cache {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
    /// Failures are not written to stderr (the caller logs them its own way: the language server).
    quiet: bool,
}

impl Cache {
    pub fn new() -> Cache {
        Cache::default()
    }

    /// A cache that leaves logging failures to its caller.
    pub fn quiet() -> Cache {
        Cache { quiet: true, ..Cache::default() }
    }

    /// Drops failures and answers asked by tag (the engine's address changed); histories of ids stay.
    pub fn forget_transient(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (_, expires)| expires.is_none());
    }

    /// The cached answer for `image`, without asking the engine (`None`: not asked yet, or expired).
    pub fn peek(&self, image: &str) -> Option<Answer> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (answer, expires) = entries.get(image)?;
        expires.is_none_or(|t| Instant::now() < t).then(|| answer.clone())
    }

    /// The history of `image`: cached, else asked (bounded by `config.timeout`) and cached.
    pub async fn fetch(&self, config: &Config, image: &str) -> Answer {
        if let Some(answer) = self.peek(image) {
            return answer;
        }
        let answer = super::history(config, image).await.map(Arc::new);
        self.put(image, answer.clone());
        answer
    }

    /// [`Cache::fetch`] outside a runtime (the CLI).
    pub fn fetch_blocking(&self, config: &Config, image: &str) -> Answer {
        if let Some(answer) = self.peek(image) {
            return answer;
        }
        let answer = super::history_blocking(config, image).map(Arc::new);
        self.put(image, answer.clone());
        answer
    }

    /// Keeps `answer`; a failure goes to stderr here (unless quiet), once per expiry.
    pub fn put(&self, image: &str, answer: Answer) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let by_id = |s: &str| s.starts_with("sha256:") || (s.len() == 12 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        match &answer {
            Ok(history) => {
                if let Some(id) = history.id.as_deref().filter(|id| *id != image) {
                    entries.insert(id.to_string(), (answer.clone(), None));
                }
            }
            Err(e) if !self.quiet => crate::present::eprint_line(format_args!("buildlens: no layer sizes for {image}: {e}")),
            Err(_) => {}
        }
        let expires = (answer.is_err() || !by_id(image)).then(|| Instant::now() + SHORT);
        entries.insert(image.to_string(), (answer, expires));
    }
}
