//! Calendar functions (`year`, `month`, `day_of_month`, `day_of_week`, `day_of_year`,
//! `days_in_month`, `hour`, `minute`) on Unix seconds, in UTC like Prometheus.

use crate::syntax::Function as F;

/// Civil date parts of a Unix time in seconds (UTC), like Prometheus' time functions.
pub(super) fn date_part(f: F, secs: f64) -> f64 {
    if secs.is_nan() || secs.is_infinite() {
        return secs;
    }
    let s = secs.floor() as i64;
    let days = s.div_euclid(86_400);
    let sod = s.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let mut y = yoe + era * 400;
    let doy_mar = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy_mar + 2) / 153;
    let d = doy_mar - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    if m <= 2 {
        y += 1;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    const CUM: [i64; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let v = match f {
        F::DayOfMonth => d,
        F::DayOfWeek => (days + 4).rem_euclid(7),
        F::DayOfYear => CUM[(m - 1) as usize] + d + i64::from(leap && m > 2),
        F::DaysInMonth => match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        },
        F::Hour => sod / 3600,
        F::Minute => (sod % 3600) / 60,
        F::Month => m,
        _ => y,
    };
    v as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_parts() {
        // 2024-02-29T13:45:00Z
        let t = 1_709_214_300.0;
        assert_eq!(date_part(F::Year, t), 2024.0);
        assert_eq!(date_part(F::Month, t), 2.0);
        assert_eq!(date_part(F::DayOfMonth, t), 29.0);
        assert_eq!(date_part(F::DaysInMonth, t), 29.0);
        assert_eq!(date_part(F::DayOfYear, t), 60.0);
        assert_eq!(date_part(F::DayOfWeek, t), 4.0);
        assert_eq!(date_part(F::Hour, t), 13.0);
        assert_eq!(date_part(F::Minute, t), 45.0);
    }
}
