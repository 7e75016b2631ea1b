//! The value formats dialogs use: URLs, email addresses, phone numbers, dates and date-times.

pub(super) fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        r.split('/')
            .next()
            .is_some_and(|host| !host.is_empty() && !host.contains(' '))
    })
}

pub(super) fn is_lookup_url(s: &str) -> bool {
    (s.starts_with("/plugins/") && !s.contains("..") && !s.contains("//")) || is_http_url(s)
}

pub(super) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

pub(super) fn is_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 3
        && s.chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

/// `today`, `tomorrow`, `yesterday`, or `+3d`/`-2w`/`+1m`/`+4h`, as Mattermost accepts.
pub(super) fn is_relative_date(s: &str) -> bool {
    if matches!(s, "today" | "tomorrow" | "yesterday") {
        return true;
    }
    let b = s.as_bytes();
    (3..=5).contains(&b.len())
        && (b[0] == b'+' || b[0] == b'-')
        && b"dwmhDWMH".contains(&b[b.len() - 1])
        && digits(&b[1..b.len() - 1]).is_some()
}

/// The number written by `b`, when `b` is nothing but ASCII digits. Working on bytes keeps
/// every format check safe on text that is not ASCII: nothing is sliced inside a character.
fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
}

/// `YYYY-MM-DD` as (year, month, day), checking the day exists.
pub(super) fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])? as i32;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    ((1..=12).contains(&month) && day >= 1 && day <= days[month as usize - 1])
        .then_some((year, month, day))
}

/// The ISO date-times Mattermost accepts: `YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM]`; the date part.
pub(super) fn parse_datetime(s: &str) -> Option<(i32, u32, u32)> {
    let (date, time) = s.split_once('T')?;
    let time = time.strip_suffix('Z').unwrap_or(time).as_bytes();
    let time = match time.len() {
        5 | 8 => time,
        // `HH:MM:SS±HH:MM`: the offset must be one.
        14 if (time[8] == b'+' || time[8] == b'-')
            && time[11] == b':'
            && digits(&time[9..11]).is_some()
            && digits(&time[12..14]).is_some() =>
        {
            &time[..8]
        }
        _ => return None,
    };
    let hour = digits(&time[0..2])?;
    let minute = (time[2] == b':').then(|| digits(&time[3..5]))??;
    let second = match time.len() {
        8 => (time[5] == b':').then(|| digits(&time[6..8]))??,
        _ => 0,
    };
    (hour < 24 && minute < 60 && second < 60).then_some(())?;
    parse_date(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_ascii_is_no_date_and_never_a_crash() {
        for s in [
            "2026-0é-1",
            "é026-01-01",
            "2026-01-0é",
            "+éd",
            "-1éw",
            "2026-01-01Té0:00",
            "2026-01-01T10:00:0é",
            "2026-01-01T10:00:00+0é:00",
            "2026-01-01T1é:0:00Z",
        ] {
            assert_eq!(parse_date(s), None, "{s}");
            assert_eq!(parse_datetime(s), None, "{s}");
            assert!(!is_relative_date(s), "{s}");
        }
    }

    #[test]
    fn dates_and_times_in_the_forms_mattermost_accepts() {
        assert_eq!(parse_date("2024-02-29"), Some((2024, 2, 29)));
        assert_eq!(parse_date("+999-01-01"), None);
        assert_eq!(parse_datetime("2026-03-01T09:30"), Some((2026, 3, 1)));
        assert_eq!(
            parse_datetime("2026-03-01T09:30:59+02:00"),
            Some((2026, 3, 1))
        );
        assert_eq!(parse_datetime("2026-03-01T09:30:59x02:00"), None);
        assert_eq!(parse_datetime("2026-03-01T24:00"), None);
        assert!(is_relative_date("+3d") && is_relative_date("-12w") && !is_relative_date("+d"));
    }
}
