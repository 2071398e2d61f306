//! Human-readable durations, sizes and times, shared by the CLI and the editor features.

/// `0.4s`, `12.3s`, `3m04s`, `47m12s`, `2h05m`.
pub fn duration_ms(ms: u64) -> String {
    let secs = ms / 1000;
    match secs {
        0..=59 => format!("{}.{}s", secs, (ms % 1000) / 100),
        60..=3599 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// `512 B`, `4.2 KB`, `1.2 GB` (powers of 1000, as `docker images` prints them).
pub fn size_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// How long ago `then` was, relative to `now`: `just now`, `5m ago`, `2h ago`, `3d ago`.
pub fn ago(then: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        0..=59 => "just now".to_string(),
        60..=3599 => format!("{}m ago", secs / 60),
        3600..=86399 => format!("{}h ago", secs / 3600),
        _ => format!("{}d ago", secs / 86400),
    }
}

/// `text` on one line (control characters become spaces), cut to `max` characters with `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let clean: String = text.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match clean.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &clean[..cut]),
        None => clean,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms(0), "0.0s");
        assert_eq!(duration_ms(2_149), "2.1s");
        assert_eq!(duration_ms(184_000), "3m04s");
        assert_eq!(duration_ms(2_832_000), "47m12s");
        assert_eq!(duration_ms(7_500_000), "2h05m");
    }

    #[test]
    fn one_line_cuts_and_cleans() {
        assert_eq!(one_line(" a\tb\u{1b}[0m ", 99), "a b [0m");
        assert_eq!(one_line("ééééé", 3), "ééé…");
    }

    #[test]
    fn sizes() {
        assert_eq!(size_bytes(512), "512 B");
        assert_eq!(size_bytes(2_097_152), "2.1 MB");
        assert_eq!(size_bytes(1_200_000_000), "1.2 GB");
    }
}
