//! Time intervals for `mute_time_intervals` / `active_time_intervals`, with Alertmanager's rules.
//!
//! A named interval is a list of [`TimeInterval`]s and contains an instant if any of them does. One
//! [`TimeInterval`] contains an instant if every field it sets (`times`, `weekdays`,
//! `days_of_month`, `months`, `years`) contains it; negative days count from the end of the month.
//! Instants are evaluated in the interval's `location` (an IANA zone from the system tz database,
//! `Local`, or UTC by default); an unknown zone is an error with file:line:col. Pure: the
//! instant is a parameter (Unix seconds).

use crate::decode::Cx;
use crate::yaml::Node;

/// One entry of a named interval's `time_intervals` list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeInterval {
    /// `location`: the zone the fields are read in (`None`: UTC).
    pub location: Option<jiff::tz::TimeZone>,
    /// Minute-of-day ranges `[start, end)`.
    pub times: Vec<(u32, u32)>,
    /// Inclusive weekday ranges, 0 = Sunday.
    pub weekdays: Vec<(u32, u32)>,
    /// Inclusive day-of-month ranges; negative counts from the end of the month.
    pub days_of_month: Vec<(i32, i32)>,
    /// Inclusive month ranges, 1 = January.
    pub months: Vec<(u32, u32)>,
    /// Inclusive year ranges.
    pub years: Vec<(i32, i32)>,
}

/// A UTC calendar breakdown of an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31.
    pub day: u32,
    /// Weekday, 0 = Sunday.
    pub weekday: u32,
    /// Minute of the day.
    pub minute_of_day: u32,
    /// Second within the minute.
    pub second: u32,
}

/// Breaks Unix seconds into a UTC calendar date (Howard Hinnant's civil-from-days).
pub fn civil(unix: i64) -> Civil {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    let weekday = (days + 4).rem_euclid(7) as u32;
    Civil {
        year,
        month,
        day,
        weekday,
        minute_of_day: secs / 60,
        second: secs % 60,
    }
}

/// The calendar breakdown of an instant in a time zone.
pub fn civil_in(unix: i64, tz: &jiff::tz::TimeZone) -> Civil {
    let Ok(ts) = jiff::Timestamp::from_second(unix) else {
        return civil(unix);
    };
    let dt = tz.to_datetime(ts);
    let (h, m) = (
        u32::try_from(dt.hour()).unwrap_or(0),
        u32::try_from(dt.minute()).unwrap_or(0),
    );
    Civil {
        year: i32::from(dt.year()),
        month: u32::try_from(dt.month()).unwrap_or(1),
        day: u32::try_from(dt.day()).unwrap_or(1),
        weekday: u32::try_from(dt.weekday().to_sunday_zero_offset()).unwrap_or(0),
        minute_of_day: h * 60 + m,
        second: u32::try_from(dt.second()).unwrap_or(0),
    }
}

/// Days in `month` of `year`.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix days for a UTC calendar date (inverse of [`civil`]).
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i64 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats Unix milliseconds as RFC 3339 in UTC, like Go's `time.RFC3339Nano` (trailing zeros of
/// the fraction dropped); `None` prints Go's zero time `0001-01-01T00:00:00Z`.
pub fn rfc3339(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let c = civil(ms.div_euclid(1000));
    let frac = ms.rem_euclid(1000);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        c.year,
        c.month,
        c.day,
        c.minute_of_day / 60,
        c.minute_of_day % 60,
        c.second
    );
    if frac != 0 {
        let f = format!(".{frac:03}");
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Parses RFC 3339 (`2024-03-04T09:30:00Z`, `...T09:30:00.5+02:00`) to Unix milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<u32>().ok();
    let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    let mut rest = &s[19..];
    let mut ms = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let frac = &r[..digits.min(3)];
        ms = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
        rest = &r[digits..];
    }
    let offset_min: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = rest[1..].split_once(':')?;
            sign * (oh.parse::<i64>().ok()? * 60 + om.parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + sec) - offset_min * 60;
    Some(secs * 1000 + ms)
}

impl TimeInterval {
    /// Whether the instant (Unix seconds, UTC) is inside the interval.
    pub fn contains(&self, unix: i64) -> bool {
        let c = match &self.location {
            None => civil(unix),
            Some(tz) => civil_in(unix, tz),
        };
        let in_u = |ranges: &[(u32, u32)], v: u32| {
            ranges.is_empty() || ranges.iter().any(|&(a, b)| a <= v && v <= b)
        };
        let times_ok = self.times.is_empty()
            || self
                .times
                .iter()
                .any(|&(a, b)| a <= c.minute_of_day && c.minute_of_day < b);
        let dim = days_in_month(c.year, c.month) as i32;
        let days_ok = self.days_of_month.is_empty()
            || self.days_of_month.iter().any(|&(b, e)| {
                let begin = if b < 0 { dim + b + 1 } else { b };
                let end = if e < 0 { dim + e + 1 } else { e };
                if begin > dim {
                    return false;
                }
                let (begin, end) = (begin.clamp(-dim, dim), end.clamp(-dim, dim));
                (begin..=end).contains(&(c.day as i32))
            });
        let years_ok =
            self.years.is_empty() || self.years.iter().any(|&(a, b)| a <= c.year && c.year <= b);
        times_ok
            && in_u(&self.weekdays, c.weekday)
            && days_ok
            && in_u(&self.months, c.month)
            && years_ok
    }
}

/// Whether any interval of a named set contains the instant.
pub fn any_contains(intervals: &[TimeInterval], unix: i64) -> bool {
    intervals.iter().any(|t| t.contains(unix))
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];
const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Decodes `{name, time_intervals: [...]}`.
pub(crate) fn decode_named(
    cx: &mut Cx,
    node: &Node,
    key: &str,
) -> Option<(String, Vec<TimeInterval>)> {
    let f = cx.fields(node, key, &["name", "time_intervals"], &[]);
    let name = cx.opt_string(&f, "name", key).unwrap_or_default();
    if name.is_empty() {
        cx.err(node.pos, format!("{key}: missing name in time interval"));
        return None;
    }
    let what = format!("time interval {name:?}");
    let mut out = Vec::new();
    if let Some(n) = f.get("time_intervals") {
        for item in cx.seq(n, &what) {
            out.push(decode_interval(cx, item, &what));
        }
    }
    Some((name, out))
}

fn decode_interval(cx: &mut Cx, node: &Node, what: &str) -> TimeInterval {
    let f = cx.fields(
        node,
        what,
        &[
            "times",
            "weekdays",
            "days_of_month",
            "months",
            "years",
            "location",
        ],
        &[],
    );
    let mut ti = TimeInterval::default();
    if let Some(loc) = cx.opt_string(&f, "location", what) {
        let pos = f.get("location").map_or(node.pos, |n| n.pos);
        let tz = match loc.as_str() {
            "UTC" | "" => Ok(None),
            "Local" => Ok(Some(jiff::tz::TimeZone::system())),
            name => jiff::tz::TimeZone::get(name).map(Some),
        };
        match tz {
            Ok(tz) => ti.location = tz,
            Err(_) => cx.err(
                pos,
                format!("{what}: unknown time zone {loc:?} (not in the system time zone database)"),
            ),
        }
    }
    if let Some(n) = f.get("times") {
        for t in cx.seq(n, what) {
            let tf = cx.fields(t, what, &["start_time", "end_time"], &[]);
            let parse = |s: Option<String>| -> Option<u32> {
                let s = s?;
                let (h, m) = s.split_once(':')?;
                if h.len() != 2 || m.len() != 2 {
                    return None;
                }
                let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
                (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
            };
            let start = parse(cx.opt_string(&tf, "start_time", what));
            let end = parse(cx.opt_string(&tf, "end_time", what));
            match (start, end) {
                (Some(a), Some(b)) if a < b => ti.times.push((a, b)),
                (Some(_), Some(_)) => cx.err(
                    t.pos,
                    format!("{what}: start time cannot be equal or greater than end time"),
                ),
                _ => cx.err(
                    t.pos,
                    format!("{what}: times need start_time and end_time as HH:MM (00:00 to 24:00)"),
                ),
            }
        }
    }
    let named =
        |cx: &mut Cx, key: &str, names: &[&str], base: u32, lo: i64, hi: i64| -> Vec<(i64, i64)> {
            let Some(n) = f.get(key) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for (s, pos) in cx.strings(n, what) {
                let one = |p: &str| -> Option<i64> {
                    let p = p.trim().to_ascii_lowercase();
                    if let Some(i) = names.iter().position(|x| *x == p) {
                        return Some(i as i64 + i64::from(base));
                    }
                    p.parse::<i64>().ok().filter(|v| {
                        (lo..=hi).contains(v) && (*v != 0 || lo == 0 && key != "days_of_month")
                    })
                };
                let (a, b) = match s.split_once(':') {
                    Some((a, b)) => (one(a), one(b)),
                    None => (one(&s), one(&s)),
                };
                match (a, b) {
                    (Some(a), Some(b)) if a <= b || (a > 0 && b < 0) => out.push((a, b)),
                    (Some(_), Some(_)) => cx.err(
                        pos,
                        format!("{what}: `{key}`: start of range {s:?} is after its end"),
                    ),
                    _ => cx.err(pos, format!("{what}: `{key}`: invalid value {s:?}")),
                }
            }
            out
        };
    let u = |v: Vec<(i64, i64)>| v.into_iter().map(|(a, b)| (a as u32, b as u32)).collect();
    let i = |v: Vec<(i64, i64)>| v.into_iter().map(|(a, b)| (a as i32, b as i32)).collect();
    ti.weekdays = u(named(cx, "weekdays", &WEEKDAYS, 0, 0, 6));
    ti.days_of_month = i(named(cx, "days_of_month", &[], 0, -31, 31));
    ti.months = u(named(cx, "months", &MONTHS, 1, 1, 12));
    ti.years = i(named(cx, "years", &[], 0, 1, 9999));
    ti
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Cx;

    fn interval(src: &str) -> TimeInterval {
        let node = crate::yaml::parse(src).unwrap();
        let mut cx = Cx::new("t.yml");
        let ti = decode_interval(&mut cx, &node, "t");
        assert!(cx.diags.is_empty(), "{:?}", cx.diags);
        ti
    }

    // 2024-03-04 is a Monday.
    const MON_2024_03_04_0930: i64 = 1_709_544_600;

    #[test]
    fn civil_dates() {
        let c = civil(MON_2024_03_04_0930);
        assert_eq!(
            (c.year, c.month, c.day, c.weekday, c.minute_of_day),
            (2024, 3, 4, 1, 570)
        );
        assert_eq!(
            civil(0),
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                weekday: 4,
                minute_of_day: 0,
                second: 0
            }
        );
        assert_eq!(civil(951_782_400).day, 29, "2000-02-29 exists");
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(
            rfc3339(Some(MON_2024_03_04_0930 * 1000)),
            "2024-03-04T09:30:00Z"
        );
        assert_eq!(rfc3339(Some(1_500)), "1970-01-01T00:00:01.5Z");
        assert_eq!(rfc3339(None), "0001-01-01T00:00:00Z");
        assert_eq!(
            parse_rfc3339("2024-03-04T11:30:00.25+02:00"),
            Some(MON_2024_03_04_0930 * 1000 + 250)
        );
        assert_eq!(parse_rfc3339("2024-02-30T00:00:00Z"), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
    }

    proptest::proptest! {
        #[test]
        fn rfc3339_parse_inverts_format(ms in -62_000_000_000_000i64..253_000_000_000_000) {
            proptest::prop_assert_eq!(parse_rfc3339(&rfc3339(Some(ms))), Some(ms));
        }
    }

    #[test]
    fn business_hours() {
        let t = interval(
            "times: [{start_time: '09:00', end_time: '17:00'}]\nweekdays: ['monday:friday']",
        );
        assert!(t.contains(MON_2024_03_04_0930));
        assert!(
            !t.contains(MON_2024_03_04_0930 - 3600),
            "08:30 is before 09:00"
        );
        assert!(!t.contains(MON_2024_03_04_0930 - 2 * 86_400), "Saturday");
        assert!(
            !t.contains(MON_2024_03_04_0930 + 27_000),
            "17:00 is excluded"
        );
    }

    #[test]
    fn locations_shift_the_clock() {
        let berlin =
            interval("times: [{start_time: '10:00', end_time: '11:00'}]\nlocation: Europe/Berlin");
        assert!(
            berlin.contains(MON_2024_03_04_0930),
            "09:30 UTC is 10:30 in Berlin (CET)"
        );
        let utc = interval("times: [{start_time: '10:00', end_time: '11:00'}]\nlocation: UTC");
        assert!(!utc.contains(MON_2024_03_04_0930));
        // Summer time: 2024-07-01 09:30 UTC is 11:30 in Berlin (CEST).
        assert!(!berlin.contains(1_719_826_200));
        let tokyo_monday = interval("weekdays: [monday]\nlocation: Asia/Tokyo");
        assert!(
            tokyo_monday.contains(MON_2024_03_04_0930 - 10 * 3600),
            "Sunday 23:30 UTC is Monday in Tokyo"
        );
    }

    #[test]
    fn negative_days_months_years() {
        let last = interval("days_of_month: ['-1']");
        assert!(
            last.contains(1_709_164_800),
            "2024-02-29 is the last day of February 2024"
        );
        assert!(!last.contains(1_709_078_400), "2024-02-28 is not");
        let q1 = interval("months: ['january:march']\nyears: ['2024']");
        assert!(q1.contains(MON_2024_03_04_0930));
        assert!(!q1.contains(MON_2024_03_04_0930 + 31 * 86_400), "April");
    }

    #[test]
    fn errors_have_positions() {
        let node = crate::yaml::parse("weekdays: ['funday']\ntimes: [{start_time: '10:00', end_time: '09:00'}]\nlocation: Mars/Olympus").unwrap();
        let mut cx = Cx::new("t.yml");
        decode_interval(&mut cx, &node, "t");
        let got: Vec<String> = cx.diags.iter().map(ToString::to_string).collect();
        assert_eq!(
            got,
            [
                "t.yml:3:11: error: t: unknown time zone \"Mars/Olympus\" (not in the system time zone database)",
                "t.yml:2:9: error: t: start time cannot be equal or greater than end time",
                "t.yml:1:12: error: t: `weekdays`: invalid value \"funday\"",
            ]
        );
    }
}
