//! The dates of an export's header lines: which field is the day, the month and the year.
//!
//! Phones write the date in their locale's short format: day first (`31/12/2023`, `31.12.23`, `31-12-2023`), month
//! first (the US `12/31/23`) or year first (`2023-12-31`, `2023/12/31`, `2023.12.31`, `2023. 12. 31.`). The order is
//! decided once per file, in this order of evidence:
//! 1. `--date-order` when given;
//! 2. a first field of three or four digits: year first;
//! 3. a first field above 12: day first; else a second field above 12: month first;
//! 4. when every day is 12 or less the file cannot say for sure: the order under which the messages are in
//!    time order (exports are chronological) when only one is; else the locale convention of the format, which is
//!    month first only in the US style (`/`, two-digit year, no leading zeros, 12-hour clock) and day first in
//!    every other style (a four-digit year, zero-padded fields, `.` or `-`, a 24-hour clock). Both give a warning
//!    that names the ambiguity and the flag that overrides it.

use std::fmt;
use std::str::FromStr;

/// The order of day, month and year in a file's dates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// Day, month, year: `31/12/2023`.
    Dmy,
    /// Month, day, year: `12/31/23`.
    Mdy,
    /// Year, month, day: `2023-12-31`.
    Ymd,
}

impl DateOrder {
    /// How the order reads in messages: `day-first (DD/MM/YYYY)`.
    pub fn describe(self) -> &'static str {
        match self {
            DateOrder::Dmy => "day-first (DD/MM/YYYY)",
            DateOrder::Mdy => "month-first (MM/DD/YYYY)",
            DateOrder::Ymd => "year-first (YYYY/MM/DD)",
        }
    }

    /// `(year, month, day)` from the three fields as written; two-digit years mean 20yy.
    fn civil(self, [a, b, c]: [u32; 3]) -> (i64, u32, u32) {
        let (year, month, day) = match self {
            DateOrder::Dmy => (c, b, a),
            DateOrder::Mdy => (c, a, b),
            DateOrder::Ymd => (a, b, c),
        };
        (if year < 100 { 2000 + i64::from(year) } else { i64::from(year) }, month, day)
    }
}

impl FromStr for DateOrder {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "dmy" => Ok(DateOrder::Dmy),
            "mdy" => Ok(DateOrder::Mdy),
            "ymd" => Ok(DateOrder::Ymd),
            _ => Err(format!("`{s}` is not a date order: use dmy (31/12/2023), mdy (12/31/2023) or ymd (2023-12-31)")),
        }
    }
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
            DateOrder::Ymd => "ymd",
        })
    }
}

/// A header's date and time as written, before the order is known.
#[derive(Clone, Debug)]
pub(crate) struct Stamp<'a> {
    /// The date as it appears in the file, for error messages.
    pub(crate) date: &'a str,
    /// The three date fields in file order.
    pub(crate) fields: [u32; 3],
    /// Their digit counts.
    pub(crate) widths: [usize; 3],
    /// The date separator.
    pub(crate) separator: char,
    /// Hour, minute, second as written.
    pub(crate) clock: [u32; 3],
    /// `Some(true)` for PM on a 12-hour clock, `None` on a 24-hour clock.
    pub(crate) pm: Option<bool>,
}

impl Stamp<'_> {
    /// Unix milliseconds of the wall-clock time read as UTC under `order`, or what is wrong with it.
    pub(crate) fn unix_ms(&self, order: DateOrder) -> Result<i64, String> {
        let [mut hour, minute, second] = self.clock;
        if let Some(pm) = self.pm {
            if !(1..=12).contains(&hour) {
                return Err(format!("hour {hour} on a 12-hour clock"));
            }
            hour = hour % 12 + if pm { 12 } else { 0 };
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(format!("time {hour}:{minute:02}:{second:02} does not exist"));
        }
        let (year, month, day) = order.civil(self.fields);
        unix_ms(year, month, day, hour, minute, second).ok_or_else(|| {
            format!(
                "date {} does not exist when read {}, as the rest of this file is (pass --date-order to choose)",
                self.date,
                order.describe()
            )
        })
    }
}

/// The order a file's dates are read in, and why when the file alone could not decide.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolution {
    /// The order.
    pub order: DateOrder,
    /// Set when every date fits more than one order: the reason for the choice.
    pub ambiguity: Option<String>,
}

/// Decides the date order of a file's headers (see the module docs); `forced` is `--date-order`.
pub(crate) fn resolve(stamps: &[Stamp<'_>], forced: Option<DateOrder>) -> Resolution {
    let decided = |order| Resolution { order, ambiguity: None };
    if let Some(order) = forced {
        return decided(order);
    }
    if stamps.iter().any(|s| s.widths[0] > 2) {
        return decided(DateOrder::Ymd);
    }
    if stamps.iter().any(|s| s.fields[0] > 12) {
        return decided(DateOrder::Dmy);
    }
    if stamps.iter().any(|s| s.fields[1] > 12) {
        return decided(DateOrder::Mdy);
    }
    let (dmy, mdy) = (inversions(stamps, DateOrder::Dmy), inversions(stamps, DateOrder::Mdy));
    let (order, reason) = if dmy != mdy {
        let order = if dmy < mdy { DateOrder::Dmy } else { DateOrder::Mdy };
        (order, "the messages are in time order only when read that way")
    } else if us_style(stamps) {
        (DateOrder::Mdy, "the file is written in the US style (M/D/YY with a 12-hour clock)")
    } else {
        (
            DateOrder::Dmy,
            "only the US style (M/D/YY with a 12-hour clock) writes the month first, and this file is not in it",
        )
    };
    let other = if order == DateOrder::Dmy { DateOrder::Mdy } else { DateOrder::Dmy };
    let ambiguity = format!(
        "every date fits both day-first and month-first (no day above 12); read {} because {reason}; \
         if that is wrong, import again with --date-order {other}",
        order.describe()
    );
    Resolution { order, ambiguity: Some(ambiguity) }
}

/// How many times a message is dated before the one above it when read in `order`.
fn inversions(stamps: &[Stamp<'_>], order: DateOrder) -> usize {
    let times: Vec<i64> = stamps.iter().filter_map(|s| s.unix_ms(order).ok()).collect();
    times.windows(2).filter(|w| w[1] < w[0]).count()
}

/// Month-first short dates as US phones write them: `12/31/23, 9:41 PM`.
fn us_style(stamps: &[Stamp<'_>]) -> bool {
    stamps.iter().all(|s| {
        let padded = (0..2).any(|i| s.widths[i] == 2 && s.fields[i] < 10);
        s.separator == '/' && s.widths[2] == 2 && s.pm.is_some() && !padded
    })
}

/// Unix milliseconds of a UTC civil time, `None` for a date that does not exist.
pub(crate) fn unix_ms(year: i64, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<i64> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month[month as usize - 1] {
        return None;
    }
    // Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + hour as i64) * 60 + minute as i64) * 60_000 + second as i64 * 1000)
}
