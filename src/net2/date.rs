//! Concur's expiry dates: `M/D/YYYY h:mm:ss AM|PM`, in UTC.

/// Unix seconds for a date written the way Concur writes `Expiration_date`, or `None` when the
/// text is not such a date. A 24-hour time without AM/PM is accepted too. Years before 1970
/// are refused: no token expires then, and year 0 is out of range for some callers' date
/// types (Python's `datetime` raised on it).
pub(crate) fn parse_concur_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_once(' ')?;
    let rest = rest.trim();
    let (time, half) = match rest.rsplit_once(' ') {
        Some((time, half)) => (time.trim(), Some(half)),
        None => (rest, None),
    };

    let mut date_parts = date.split('/');
    let month = number(date_parts.next()?, 1, 2)?;
    let day = number(date_parts.next()?, 1, 2)?;
    let year = number(date_parts.next()?, 4, 4)?;
    if date_parts.next().is_some() {
        return None;
    }

    let mut time_parts = time.split(':');
    let hour = number(time_parts.next()?, 1, 2)?;
    let minute = number(time_parts.next()?, 2, 2)?;
    let second = match time_parts.next() {
        Some(s) => number(s, 2, 2)?,
        None => 0,
    };
    if time_parts.next().is_some() {
        return None;
    }

    let hour = match half.map(str::to_ascii_uppercase).as_deref() {
        None => hour,
        Some("AM") if (1..=12).contains(&hour) => hour % 12,
        Some("PM") if (1..=12).contains(&hour) => hour % 12 + 12,
        _ => return None,
    };
    crate::calendar::unix_seconds((year, month, day), (hour, minute, second), false)
}

/// Digits only, between `min` and `max` of them.
fn number(text: &str, min: usize, max: usize) -> Option<i64> {
    if text.len() < min || text.len() > max || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::parse_concur_date as p;

    #[test]
    fn the_documented_example() {
        assert_eq!(p("6/1/2014 8:00:00 AM"), Some(1_401_609_600));
        assert_eq!(p("  6/1/2014 8:00:00 PM "), Some(1_401_652_800));
    }

    #[test]
    fn midnight_and_noon() {
        assert_eq!(p("6/1/2014 12:00:00 AM"), Some(1_401_580_800));
        assert_eq!(p("6/1/2014 12:00:00 PM"), Some(1_401_624_000));
        assert_eq!(p("06/01/2014 12:30:05 pm"), Some(1_401_625_805));
    }

    #[test]
    fn leap_days_and_epoch() {
        assert_eq!(p("2/29/2000 12:00:00 AM"), Some(951_782_400));
        assert_eq!(p("2/29/2001 12:00:00 AM"), None);
        assert_eq!(p("1/1/1970 12:00:00 AM"), Some(0));
        assert_eq!(p("12/31/1969 11:59:59 PM"), None);
    }

    #[test]
    fn years_before_the_epoch_are_not_dates() {
        assert_eq!(p("1/1/0000 12:00:00 AM"), None);
        assert_eq!(p("1/1/0001 12:00:00 AM"), None);
        assert_eq!(p("12/31/1969 11:59:59 PM"), None);
        assert_eq!(p("1/1/9999 12:00:00 AM"), Some(253_370_764_800));
    }

    #[test]
    fn twenty_four_hour_time_without_marker() {
        assert_eq!(p("6/1/2014 20:00:00"), Some(1_401_652_800));
        assert_eq!(p("6/1/2014 20:00"), Some(1_401_652_800));
    }

    #[test]
    fn not_dates() {
        for text in [
            "",
            "sometime next year",
            "2014-06-01T08:00:00Z",
            "13/1/2014 8:00:00 AM",
            "6/31/2014 8:00:00 AM",
            "6/1/2014 13:00:00 PM",
            "6/1/2014 0:00:00 AM",
            "6/1/2014 8:60:00 AM",
            "6/1/14 8:00:00 AM",
            "6/1/2014 8:00:00 XM",
            "6/1/2014/1 8:00:00 AM",
            "+6/1/2014 8:00:00 AM",
            "6/1/2014 8:00:00:00 AM",
        ] {
            assert_eq!(p(text), None, "{text:?}");
        }
    }
}
