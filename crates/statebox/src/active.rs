//! Which releases are active, as the original's `discover_active_releases`
//! decides: per y-stream only the latest release counts, and it stays
//! active until one day past its `release_date`. `statebox status --active`
//! and the service's tools, API and dashboard all ask this module.

use crate::release::Release;
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// Days after `release_date` a release stays active (the original's
/// `keep_days_after_release` default).
pub const KEEP_DAYS_AFTER_RELEASE: u64 = 1;

/// `release_date` as the original writes it (`2026-Mar-25`); an ISO date
/// (`2026-03-25`, what `meta set release_date=...` users type) is read too.
/// `None` for anything else.
pub fn parse_release_date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%b-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

/// Whether a release with this `release_date` is active on `today`: while
/// today is at most [`KEEP_DAYS_AFTER_RELEASE`] past it. No date, or one
/// that does not parse: not active, as in the original.
pub fn is_active(release_date: Option<&str>, today: NaiveDate) -> bool {
    release_date
        .and_then(parse_release_date)
        .is_some_and(|date| today <= date + chrono::Days::new(KEEP_DAYS_AFTER_RELEASE))
}

/// The latest release (SemVer precedence, so `4.21.0` beats `4.21.0-rc.1`)
/// of each y-stream among `releases`, in version order.
pub fn latest_per_stream<'a>(releases: impl IntoIterator<Item = &'a Release>) -> Vec<&'a Release> {
    let mut latest: BTreeMap<String, &Release> = BTreeMap::new();
    for release in releases {
        latest
            .entry(release.stream())
            .and_modify(|kept| *kept = (*kept).max(release))
            .or_insert(release);
    }
    let mut latest: Vec<&Release> = latest.into_values().collect();
    latest.sort();
    latest
}

/// The active releases among `releases` (those with a state file) on
/// `today`: each y-stream's latest, if [`is_active`] by the `release_date`
/// that `release_date_of` reads from its state. Only the latest of each
/// stream is read.
pub fn active_releases<'a, E>(
    releases: impl IntoIterator<Item = &'a Release>,
    today: NaiveDate,
    mut release_date_of: impl FnMut(&Release) -> Result<Option<String>, E>,
) -> Result<Vec<&'a Release>, E> {
    let mut active = Vec::new();
    for release in latest_per_stream(releases) {
        if is_active(release_date_of(release)?.as_deref(), today) {
            active.push(release);
        }
    }
    Ok(active)
}

/// Today's date in UTC, the day [`active_releases`] is asked about.
pub fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(texts: &[&str]) -> Vec<Release> {
        texts.iter().map(|t| t.parse().unwrap()).collect()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn active_until_one_day_past_the_release_date() {
        let today = date("2026-03-26");
        assert!(is_active(Some("2026-Mar-25"), today), "one day past");
        assert!(is_active(Some("2026-Mar-26"), today));
        assert!(is_active(Some("2026-Apr-30"), today), "not yet released");
        assert!(!is_active(Some("2026-Mar-24"), today), "two days past");
        assert!(is_active(Some("2026-03-25"), today), "ISO");
        assert!(is_active(Some(" 2026-mar-25 "), today), "case and spaces");
        for unreadable in [
            None,
            Some(""),
            Some("soon"),
            Some("2026-Mar-32"),
            Some("25.03.2026"),
        ] {
            assert!(!is_active(unreadable, today), "{unreadable:?}");
        }
    }

    #[test]
    fn only_the_latest_of_each_stream_is_asked() {
        let all = releases(&["4.19.9", "4.19.10", "4.21.0-rc.1", "4.21.0", "4.20.1"]);
        let latest: Vec<String> = latest_per_stream(&all)
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(latest, ["4.19.10", "4.20.1", "4.21.0"]);

        let today = date("2026-03-26");
        let mut asked = Vec::new();
        let active = active_releases(&all, today, |release| {
            asked.push(release.to_string());
            Ok::<_, ()>(match release.to_string().as_str() {
                "4.19.10" => Some("2026-Mar-20".to_owned()),
                "4.20.1" => Some("2026-Mar-27".to_owned()),
                _ => None,
            })
        })
        .unwrap();
        assert_eq!(asked, ["4.19.10", "4.20.1", "4.21.0"]);
        let active: Vec<String> = active.iter().map(|r| r.to_string()).collect();
        assert_eq!(active, ["4.20.1"]);
    }

    #[test]
    fn an_older_release_is_not_active_when_its_stream_has_a_newer_one() {
        let all = releases(&["4.19.9", "4.19.10"]);
        let active = active_releases(&all, date("2026-03-26"), |release| {
            Ok::<_, ()>((release.to_string() == "4.19.9").then(|| "2026-Mar-26".to_owned()))
        })
        .unwrap();
        assert!(active.is_empty(), "{active:?}");
    }
}
