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
        && s[1..s.len() - 1].parse::<i32>().is_ok()
}

/// `YYYY-MM-DD` as (year, month, day), checking the day exists.
pub(super) fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year: i32 = s[0..4].parse().ok()?;
    let month: u32 = s[5..7].parse().ok()?;
    let day: u32 = s[8..10].parse().ok()?;
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
    let time = time.strip_suffix('Z').unwrap_or(time);
    let time = match time.len() {
        5 | 8 => time,
        14 => &time[..8],
        _ => return None,
    };
    let mut parts = time.split(':');
    let hour: u32 = parts.next()?.parse().ok()?;
    let minute: u32 = parts.next()?.parse().ok()?;
    let second: u32 = parts.next().map_or(Some(0), |p| p.parse().ok())?;
    (hour < 24 && minute < 60 && second < 60).then_some(())?;
    parse_date(date)
}
