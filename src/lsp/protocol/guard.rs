//! Panic containment: every handler body runs under `catch_unwind`, so a panic (a bug in analysis, a
//! log nobody expected) becomes an error response and a line on stderr, and the server keeps running.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tower_lsp_server::jsonrpc::{Error, Result};

/// Runs a request body on the blocking pool (it may read the store), under `catch_unwind`.
pub async fn request<T: Send + 'static>(method: &'static str, body: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    match tokio::task::spawn_blocking(move || catch_unwind(AssertUnwindSafe(body))).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(panic)) => Err(failed(method, &panic_message(&*panic))),
        Err(join) => Err(failed(method, &join.to_string())),
    }
}

/// Runs a quick, non-blocking request body in place (a cached answer), under `catch_unwind`. `None`
/// when the body has no answer or panicked (logged): the caller then takes the blocking way.
pub fn inline<T>(method: &'static str, body: impl FnOnce() -> Option<T>) -> Option<T> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        crate::present::eprint_line(format_args!("buildlens: {method} (cached) failed: {}", panic_message(&*panic)));
        None
    })
}

/// Runs a notification body in place (no await: document edits must apply in order), under
/// `catch_unwind`. A panic is logged and the notification dropped.
pub fn notification(method: &'static str, body: impl FnOnce()) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(body)) {
        crate::present::eprint_line(format_args!("buildlens: {method} failed: {}", panic_message(&*panic)));
    }
}

fn failed(method: &str, why: &str) -> Error {
    crate::present::eprint_line(format_args!("buildlens: {method} failed: {why}"));
    let mut e = Error::internal_error();
    e.message = format!("buildlens: {method} failed: {why}").into();
    e
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_an_error_response() {
        let r: Result<()> = request("test/panic", || panic!("boom")).await;
        assert!(r.unwrap_err().message.contains("boom"));
        assert_eq!(request("test/ok", || 7).await.unwrap(), 7);
        notification("test/panic", || panic!("quiet"));
    }
}
