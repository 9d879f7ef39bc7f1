//! When a job is due: frequencies (`30m`, `1h`, `1d`, `7d`), an optional UTC
//! time of day (`HH:MM`), and Socorro's rules for the next run and for the
//! run times a backfill job catches up on (`crashstats/cron/utils.py`).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

/// A schedule setting could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

/// How often a job runs: a positive number and a unit, `m` (minutes), `h`
/// (hours) or `d` (days), e.g. `30m`, `1h`, `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Frequency(TimeDelta);

impl Frequency {
    /// A frequency of `minutes` minutes (at least one).
    pub const fn minutes(minutes: i64) -> Self {
        Self(TimeDelta::minutes(if minutes < 1 { 1 } else { minutes }))
    }

    /// A frequency of `hours` hours (at least one).
    pub const fn hours(hours: i64) -> Self {
        Self(TimeDelta::hours(if hours < 1 { 1 } else { hours }))
    }

    /// A frequency of `days` days (at least one).
    pub const fn days(days: i64) -> Self {
        Self(TimeDelta::days(if days < 1 { 1 } else { days }))
    }

    /// The interval.
    pub fn delta(self) -> TimeDelta {
        self.0
    }
}

impl FromStr for Frequency {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            ScheduleError(format!(
                "invalid frequency {s:?}: expected a number and m, h or d, e.g. 30m, 1h, 7d"
            ))
        };
        let unit = s.chars().last().ok_or_else(bad)?;
        let number: i64 = s[..s.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
        if number <= 0 || number > 3650 * 24 * 60 {
            return Err(bad());
        }
        match unit {
            'm' => Ok(Self(TimeDelta::minutes(number))),
            'h' if number <= 3650 * 24 => Ok(Self(TimeDelta::hours(number))),
            'd' if number <= 3650 => Ok(Self(TimeDelta::days(number))),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0.num_minutes();
        if m % (24 * 60) == 0 {
            write!(f, "{}d", m / (24 * 60))
        } else if m % 60 == 0 {
            write!(f, "{}h", m / 60)
        } else {
            write!(f, "{m}m")
        }
    }
}

/// A UTC time of day, `HH:MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay {
    hour: u32,
    minute: u32,
}

impl TimeOfDay {
    /// `hour:minute`; `None` when out of range.
    pub fn new(hour: u32, minute: u32) -> Option<Self> {
        (hour < 24 && minute < 60).then_some(Self { hour, minute })
    }

    /// Hour (0-23).
    pub fn hour(self) -> u32 {
        self.hour
    }

    /// Minute (0-59).
    pub fn minute(self) -> u32 {
        self.minute
    }

    /// `t` on the same day with this hour and minute, seconds zeroed.
    pub fn on_day_of(self, t: DateTime<Utc>) -> DateTime<Utc> {
        t.date_naive()
            .and_hms_opt(self.hour, self.minute, 0)
            .map_or(t, |naive| naive.and_utc())
    }
}

impl FromStr for TimeOfDay {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ScheduleError(format!("invalid time of day {s:?}: expected HH:MM (UTC)"));
        let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let hour = h.parse().map_err(|_| bad())?;
        let minute = m.parse().map_err(|_| bad())?;
        Self::new(hour, minute).ok_or_else(bad)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

/// When and how a job runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// How often.
    pub frequency: Frequency,
    /// At what time of day (UTC), if any.
    pub time: Option<TimeOfDay>,
    /// Run once per missed interval (each run gets that interval's time).
    pub backfill: bool,
}

impl Schedule {
    /// Whether a job with this schedule and `next_run` is due at `now`:
    /// never run: due now, or once the time of day is reached; otherwise
    /// when `next_run` has passed.
    pub fn is_due(&self, next_run: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
        match (next_run, self.time) {
            (Some(next), _) => next < now,
            (None, Some(t)) => (now.hour(), now.minute()) >= (t.hour, t.minute),
            (None, None) => true,
        }
    }

    /// `next_run` after a successful run that started at `now`: `now +
    /// frequency`, moved to the time of day if the job has one.
    pub fn next_run_after_success(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let next = now + self.frequency.delta();
        match self.time {
            Some(t) => t.on_day_of(next),
            None => next,
        }
    }

    /// The run times of one due run. A plain job, or a backfill job that
    /// never succeeded: `[now]`. A backfill job: every interval after
    /// `last_success` (aligned to the time of day) up to `now`, oldest first;
    /// empty when no interval has fully passed yet.
    pub fn run_times(
        &self,
        last_success: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let Some(last) = last_success.filter(|_| self.backfill) else {
            return vec![now];
        };
        let mut when = match self.time {
            Some(t) => t.on_day_of(last),
            None => last,
        };
        let step = self.frequency.delta();
        let mut out = Vec::new();
        while when + step <= now {
            when += step;
            out.push(when);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, d, h, m, 0).unwrap()
    }

    #[test]
    fn parses_frequencies() {
        assert_eq!(
            "30m".parse::<Frequency>().unwrap().delta(),
            TimeDelta::minutes(30)
        );
        assert_eq!(
            "1h".parse::<Frequency>().unwrap().delta(),
            TimeDelta::hours(1)
        );
        assert_eq!(
            "7d".parse::<Frequency>().unwrap().delta(),
            TimeDelta::days(7)
        );
        for bad in ["", "h", "0h", "-1d", "1w", "1.5h", "1 h", "99999999d"] {
            assert!(bad.parse::<Frequency>().is_err(), "{bad}");
        }
        assert_eq!(Frequency::days(7).to_string(), "7d");
        assert_eq!(Frequency::hours(2).to_string(), "2h");
        assert_eq!(Frequency::minutes(90).to_string(), "90m");
    }

    #[test]
    fn parses_times() {
        let t: TimeOfDay = "04:30".parse().unwrap();
        assert_eq!((t.hour(), t.minute()), (4, 30));
        assert_eq!(t.to_string(), "04:30");
        for bad in ["4:30", "24:00", "12:60", "1200", "", "ab:cd"] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
    }

    #[test]
    fn due_rules() {
        let daily_at_4 = Schedule {
            frequency: Frequency::days(1),
            time: TimeOfDay::new(4, 0),
            backfill: false,
        };
        assert!(!daily_at_4.is_due(None, at(1, 3, 59)));
        assert!(daily_at_4.is_due(None, at(1, 4, 0)));
        assert!(!daily_at_4.is_due(Some(at(2, 4, 0)), at(2, 4, 0)));
        assert!(daily_at_4.is_due(Some(at(2, 4, 0)), at(2, 4, 1)));
        assert_eq!(daily_at_4.next_run_after_success(at(1, 4, 7)), at(2, 4, 0));
        let hourly = Schedule {
            frequency: Frequency::hours(1),
            time: None,
            backfill: false,
        };
        assert!(hourly.is_due(None, at(1, 0, 0)));
        assert_eq!(hourly.next_run_after_success(at(1, 4, 7)), at(1, 5, 7));
    }

    #[test]
    fn backfill_run_times() {
        let s = Schedule {
            frequency: Frequency::days(1),
            time: TimeOfDay::new(4, 0),
            backfill: true,
        };
        assert_eq!(s.run_times(None, at(5, 4, 2)), vec![at(5, 4, 2)]);
        assert_eq!(
            s.run_times(Some(at(2, 4, 0)), at(5, 4, 2)),
            vec![at(3, 4, 0), at(4, 4, 0), at(5, 4, 0)]
        );
        assert!(s.run_times(Some(at(5, 4, 0)), at(5, 23, 0)).is_empty());
        let plain = Schedule {
            backfill: false,
            ..s
        };
        assert_eq!(
            plain.run_times(Some(at(2, 4, 0)), at(5, 4, 2)),
            vec![at(5, 4, 2)]
        );
    }
}
