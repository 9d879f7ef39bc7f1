//! `OSPrettyVersionRule`: a readable OS name and version.

use async_trait::async_trait;
use serde_json::Value;

use crate::error::RuleError;
use crate::pipeline::{Crash, Rule};

pub struct OsPrettyVersionRule;

fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next()?.trim().parse().ok()?;
    Some((major, minor))
}

/// The pretty version for one crash.
pub fn pretty(
    os_name: &str,
    os_version: &str,
    lsb: Option<&str>,
    lsb_annotation: Option<&str>,
) -> String {
    match os_name {
        "Windows NT" => {
            let Some((maj, min)) = major_minor(os_version) else {
                return os_name.to_owned();
            };
            if (maj, min) == (10, 0) && os_version >= "10.0.21996" {
                return "Windows 11".to_owned();
            }
            let name = match (maj, min) {
                (3, 5) | (4, 0) => "NT",
                (4, 1) => "98",
                (4, 9) => "Me",
                (5, 0) => "2000",
                (5, 1) => "XP",
                (5, 2) => "Server 2003",
                (6, 0) => "Vista",
                (6, 1) => "7",
                (6, 2) => "8",
                (6, 3) => "8.1",
                (10, 0) => "10",
                _ => "Unknown",
            };
            format!("Windows {name}")
        }
        "Mac OS X" | "macOS" => match major_minor(os_version) {
            Some((maj, _)) if maj >= 11 => format!("macOS {maj}"),
            Some((10, min)) => format!("OS X 10.{min}"),
            Some(_) => "OS X Unknown".to_owned(),
            None => os_name.to_owned(),
        },
        "Linux" => lsb
            .or(lsb_annotation)
            .filter(|s| !s.is_empty())
            .unwrap_or("Linux")
            .to_owned(),
        "Android" => format!("Android {os_version}"),
        other => other.to_owned(),
    }
}

#[async_trait]
impl Rule for OsPrettyVersionRule {
    fn name(&self) -> &'static str {
        "OSPrettyVersionRule"
    }

    async fn act(&self, crash: &mut Crash) -> Result<(), RuleError> {
        let name = crash.get_str("os_name").unwrap_or("").to_owned();
        let version = crash.get_str("os_version").unwrap_or("").to_owned();
        let lsb = crash
            .json_dump()
            .and_then(|j| j.get("lsb_release"))
            .and_then(|l| l.get("description"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let p = pretty(
            &name,
            &version,
            lsb.as_deref(),
            crash.raw_str("LinuxLSBDescription"),
        );
        crash.set("os_pretty_version", p);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(pretty("Windows NT", "10.0.22000", None, None), "Windows 11");
        assert_eq!(pretty("Windows NT", "10.0.19045", None, None), "Windows 10");
        assert_eq!(
            pretty("Windows NT", "6.1.7601 Service Pack 1", None, None),
            "Windows 7"
        );
        assert_eq!(pretty("Windows NT", "7.7", None, None), "Windows Unknown");
        assert_eq!(pretty("Mac OS X", "10.15.7 19H2", None, None), "OS X 10.15");
        assert_eq!(pretty("Mac OS X", "13.1.0", None, None), "macOS 13");
        assert_eq!(
            pretty("Linux", "5.4", Some("Ubuntu 20.04"), None),
            "Ubuntu 20.04"
        );
        assert_eq!(pretty("Linux", "5.4", None, None), "Linux");
        assert_eq!(pretty("Android", "11", None, None), "Android 11");
    }
}
