//! The timestamp of a syslog record as Postfix's syslog(3) writes it,
//! `Nov 25 20:17:50` (`%b %e %H:%M:%S`), in local time.
//!
//! Local time comes from the zoneinfo file `$TZ` names (under
//! `/usr/share/zoneinfo`), else from `/etc/localtime`, read as a TZif file's
//! transition table (Debian's zoneinfo files list every transition up to
//! 2037); a `TZ` that names no file, or a file that cannot be read, means
//! UTC.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Month abbreviations, as `%b` in the C locale.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `now` as syslog(3) stamps a record, in local time.
pub fn syslog_timestamp(now: SystemTime) -> String {
    let unix = match now.duration_since(UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    };
    let offset = zone_file()
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|tzif| utc_offset(&tzif, unix))
        .unwrap_or(0);
    format_local(unix + offset)
}

/// The zoneinfo file of local time: `$TZ`'s, else `/etc/localtime`.
fn zone_file() -> Option<PathBuf> {
    match std::env::var("TZ") {
        Err(_) => Some(PathBuf::from("/etc/localtime")),
        Ok(tz) => {
            let name = tz.strip_prefix(':').unwrap_or(&tz);
            let path = Path::new("/usr/share/zoneinfo").join(name);
            (!name.is_empty() && !name.contains("..") && path.is_file()).then_some(path)
        }
    }
}

/// The UTC offset in seconds at `unix` that a TZif file gives (its version
/// 1 data): the type of the last transition at or before `unix`, or type 0
/// before the first one. `None` when it is not a TZif file.
fn utc_offset(tzif: &[u8], unix: i64) -> Option<i64> {
    if tzif.get(..4)? != b"TZif" {
        return None;
    }
    let count = |at: usize| -> Option<usize> {
        let bytes: [u8; 4] = tzif.get(at..at + 4)?.try_into().ok()?;
        usize::try_from(u32::from_be_bytes(bytes)).ok()
    };
    let (time_count, type_count) = (count(32)?, count(36)?);
    let times = 44;
    let indices = times + 4 * time_count;
    let types = indices + time_count;
    let transition = |i: usize| -> Option<i64> {
        let bytes: [u8; 4] = tzif
            .get(times + 4 * i..times + 4 * i + 4)?
            .try_into()
            .ok()?;
        Some(i64::from(i32::from_be_bytes(bytes)))
    };
    let mut kind = 0;
    for i in 0..time_count {
        if transition(i)? > unix {
            break;
        }
        kind = usize::from(*tzif.get(indices + i)?);
    }
    if kind >= type_count {
        return None;
    }
    let bytes: [u8; 4] = tzif
        .get(types + 6 * kind..types + 6 * kind + 4)?
        .try_into()
        .ok()?;
    Some(i64::from(i32::from_be_bytes(bytes)))
}

/// `%b %e %H:%M:%S` of a local time given as seconds since the epoch.
fn format_local(local: i64) -> String {
    let (days, seconds) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (_, month, day) = civil_from_days(days);
    format!(
        "{} {day:>2} {:02}:{:02}:{:02}",
        MONTHS[month - 1],
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of a day number
/// counted from 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, usize::try_from(month).unwrap_or(1), day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_times_are_formatted_as_syslog_does() {
        assert_eq!(format_local(0), "Jan  1 00:00:00");
        // 2026-11-25 20:17:50 UTC.
        assert_eq!(format_local(1_795_637_870), "Nov 25 20:17:50");
        // 2024-02-29 09:05:03 UTC, a leap day.
        assert_eq!(format_local(1_709_197_503), "Feb 29 09:05:03");
        assert_eq!(format_local(-1), "Dec 31 23:59:59");
    }

    #[test]
    fn tzif_files_give_the_offset_of_the_time() {
        let Ok(berlin) = std::fs::read("/usr/share/zoneinfo/Europe/Berlin") else {
            eprintln!("skipped: no zoneinfo for Europe/Berlin");
            return;
        };
        // Winter (2026-01-15) and summer (2026-07-15) time.
        assert_eq!(utc_offset(&berlin, 1_768_435_200), Some(3600));
        assert_eq!(utc_offset(&berlin, 1_784_073_600), Some(7200));
        assert_eq!(utc_offset(b"not a zone file", 0), None);
        if let Ok(utc) = std::fs::read("/usr/share/zoneinfo/Etc/UTC") {
            assert_eq!(utc_offset(&utc, 1_784_073_600), Some(0));
        }
    }
}
