//! ISO 8601 timestamps, read as Python's `datetime.fromisoformat` reads them.

/// Milliseconds since the epoch of an ISO 8601 date-time (`2025-01-15T10:30:00.123Z`,
/// offsets, basic format, date only), as Python's `datetime.fromisoformat(…).timestamp()`;
/// a time without offset is taken as UTC.
pub(super) fn iso8601_millis(text: &str) -> Option<i64> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let bytes = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = text.get(from..from + len)?;
        if part.bytes().all(|b| b.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    // The date: YYYY-MM-DD or YYYYMMDD.
    let (year, month, day, mut at) = if bytes.get(4) == Some(&b'-') {
        if bytes.get(7) != Some(&b'-') {
            return None;
        }
        (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?, 10)
    } else {
        (digits(0, 4)?, digits(4, 2)?, digits(6, 2)?, 8)
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut micros, mut offset) = (0, 0, 0, 0i64, 0i64);
    if at < bytes.len() {
        if !matches!(bytes[at], b'T' | b't' | b' ') {
            return None;
        }
        at += 1;
        // The time: hh[:mm[:ss[.f…]]] or hhmmss.
        let (time, zone) = match text[at..].find(['+', '-']) {
            Some(sign) => text[at..].split_at(sign),
            None => (&text[at..], ""),
        };
        let (clock, fraction) = match time.find(['.', ',']) {
            Some(dot) => (&time[..dot], Some(&time[dot + 1..])),
            None => (time, None),
        };
        let fields = time_fields(clock)?;
        hour = fields[0];
        minute = fields.get(1).copied().unwrap_or(0);
        second = fields.get(2).copied().unwrap_or(0);
        if let Some(fraction) = fraction {
            if fields.len() != 3
                || fraction.is_empty()
                || !fraction.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let six: String = fraction.chars().chain("000000".chars()).take(6).collect();
            micros = six.parse().ok()?;
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        if !zone.is_empty() {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let zone = &zone[1..];
            let (zone_clock, zone_fraction) = match zone.find('.') {
                Some(dot) => (&zone[..dot], &zone[dot + 1..]),
                None => (zone, ""),
            };
            let fields = time_fields(zone_clock)?;
            let zone_micros: i64 = if zone_fraction.is_empty() {
                0
            } else {
                let six: String = zone_fraction
                    .chars()
                    .chain("000000".chars())
                    .take(6)
                    .collect();
                six.parse().ok()?
            };
            let seconds = fields[0] * 3600
                + fields.get(1).copied().unwrap_or(0) * 60
                + fields.get(2).copied().unwrap_or(0);
            offset = sign * (seconds * 1_000_000 + zone_micros);
        }
    } else if text.len() != at {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let total_micros = ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros)
        .checked_sub(offset)?;
    // Python: int(((days * 86400 + seconds) * 10**6 + micros) / 10**6 * 1000), in floats.
    let millis = ((total_micros as f64 / 1e6) * 1000.0).trunc() as i64;
    Some(millis)
}

/// `hh`, `hh:mm`, `hh:mm:ss`, `hhmm` or `hhmmss`, as numbers.
fn time_fields(clock: &str) -> Option<Vec<i64>> {
    let parts: Vec<&str> = if clock.contains(':') {
        clock.split(':').collect()
    } else {
        if !clock.len().is_multiple_of(2) {
            return None;
        }
        (0..clock.len())
            .step_by(2)
            .map(|at| clock.get(at..at + 2))
            .collect::<Option<_>>()?
    };
    if parts.is_empty()
        || parts.len() > 3
        || parts
            .iter()
            .any(|part| part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    parts.iter().map(|part| part.parse().ok()).collect()
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps_as_python() {
        // Values from Python's `int(datetime.fromisoformat(…).timestamp() * 1000)` (UTC).
        for (text, millis) in [
            ("2025-01-15T10:30:00.001+00:00", Some(1_736_937_000_001)),
            ("2025-01-15T10:30:00.123456+00:00", Some(1_736_937_000_123)),
            ("2025-01-15T10:30:00.1234567+00:00", Some(1_736_937_000_123)),
            ("2025-01-15T10:30:00.12+00:00", Some(1_736_937_000_120)),
            ("2025-01-15 10:30+01:00", Some(1_736_933_400_000)),
            ("2025-01-15", Some(1_736_899_200_000)),
            ("2025-01-15T10:30:00,5+00:00", Some(1_736_937_000_500)),
            ("2025-01-15T10:30:00.5-0130", Some(1_736_942_400_500)),
            ("20250115T103000+00:00", Some(1_736_937_000_000)),
            ("2025-01-15T10:30:00.5+01:30:15", Some(1_736_931_585_500)),
            ("2025-01-15T10", Some(1_736_935_200_000)),
            ("2025-01-15T10:30:00.123Z", Some(1_736_937_000_123)),
            ("2025-01-15T24:00:00+00:00", None),
            ("2025-02-30T00:00:00Z", None),
            ("2024-02-29T00:00:00Z", Some(1_709_164_800_000)),
            ("1969-12-31T23:59:59Z", Some(-1000)),
            ("not a date", None),
            ("", None),
        ] {
            assert_eq!(iso8601_millis(text), millis, "{text}");
        }
    }
}
