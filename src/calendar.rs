//! UTC calendar arithmetic shared by the date readers (Concur's expiry dates, HTTP dates).

/// Unix seconds of a UTC date and time, or `None` when it is not a real one: month 1–12, a day
/// that month has (leap years counted), hour 0–23, minute 0–59, second 0–59 (60 with
/// `leap_second`), year 1970–9999 (no token expires before the epoch, and year 0 is out of range
/// for some callers' date types: Python's `datetime` raised on it).
pub(crate) fn unix_seconds(
    (year, month, day): (i64, i64, i64),
    (hour, minute, second): (i64, i64, i64),
    leap_second: bool,
) -> Option<i64> {
    let last_second = if leap_second { 60 } else { 59 };
    if !(1970..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || !(0..=23).contains(&hour)
        || !(0..=59).contains(&minute)
        || !(0..=last_second).contains(&second)
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::unix_seconds;

    #[test]
    fn known_instants() {
        assert_eq!(unix_seconds((1970, 1, 1), (0, 0, 0), false), Some(0));
        assert_eq!(
            unix_seconds((2000, 2, 29), (12, 0, 0), false),
            Some(951_825_600)
        );
        assert_eq!(
            unix_seconds((2014, 6, 1), (8, 0, 0), false),
            Some(1_401_609_600)
        );
    }

    #[test]
    fn impossible_dates_are_none() {
        assert_eq!(unix_seconds((1900, 2, 29), (0, 0, 0), false), None);
        assert_eq!(unix_seconds((2023, 2, 29), (0, 0, 0), false), None);
        assert_eq!(unix_seconds((2024, 4, 31), (0, 0, 0), false), None);
        assert_eq!(unix_seconds((1969, 12, 31), (23, 59, 59), false), None);
        assert_eq!(unix_seconds((10000, 1, 1), (0, 0, 0), false), None);
        assert_eq!(unix_seconds((2024, 1, 1), (24, 0, 0), false), None);
        assert_eq!(unix_seconds((2024, 1, 1), (0, 60, 0), false), None);
        assert_eq!(unix_seconds((2024, 1, 1), (0, 0, 60), false), None);
        assert!(unix_seconds((2024, 1, 1), (0, 0, 60), true).is_some());
    }
}
