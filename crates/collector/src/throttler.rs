//! The throttler: decides per crash whether to accept, defer, reject or
//! fake-accept it, with Antenna's rule semantics (SOCORRO-REFERENCE §1.7).
//!
//! Rulesets: `accept-all` (default: every crash is accepted) and `mozilla`
//! (Antenna's `MOZILLA_RULES`, in order).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use crash_storage::ThrottleDigit;
use regex::Regex;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The outcome for one crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleResult {
    Accept,
    Defer,
    Reject,
    FakeAccept,
}

impl ThrottleResult {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Defer => "defer",
            Self::Reject => "reject",
            Self::FakeAccept => "fakeaccept",
        }
    }

    /// The crash id digit for results that produce an id.
    pub fn digit(self) -> ThrottleDigit {
        match self {
            Self::Defer => ThrottleDigit::Defer,
            Self::FakeAccept => ThrottleDigit::FakeAccept,
            Self::Accept | Self::Reject => ThrottleDigit::Accept,
        }
    }
}

/// What a matching rule yields: a fixed result, or a sampled one.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Result(ThrottleResult),
    Continue,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum RuleResult {
    Fixed(ThrottleResult),
    /// `(pct, le, gt)`: `le` if `random()*100 <= pct`, else `gt`.
    Sample(f64, Outcome, Outcome),
}

/// What a rule condition can see besides the crash.
pub struct RuleCtx<'a> {
    products: &'a [String],
    package_names: &'a HashMap<String, Vec<String>>,
    now: DateTime<Utc>,
}

type Condition = Box<dyn Fn(&RuleCtx<'_>, &Map<String, Value>) -> bool + Send + Sync>;
type KeyCondition = Box<dyn Fn(&str) -> bool + Send + Sync>;

enum Matcher {
    /// `key="*"`: the condition sees the whole crash.
    Whole(Condition),
    /// Applies only if `key` is present; the condition sees `str(crash[key])`.
    Key(&'static str, KeyCondition),
}

struct Rule {
    name: &'static str,
    matcher: Matcher,
    result: RuleResult,
}

/// Which ruleset the throttler runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ruleset {
    /// Accept every crash (rule `accept_everything`).
    #[default]
    AcceptAll,
    /// Antenna's `MOZILLA_RULES`.
    Mozilla,
}

/// `SOCORRO_COLLECTOR__THROTTLER__*`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ThrottlerConfig {
    /// `accept-all` (default) or `mozilla`.
    pub ruleset: Ruleset,
    /// Supported products (comma-separated). Unset: Mozilla's list under the
    /// `mozilla` ruleset; empty: every product.
    pub products: Option<Vec<String>>,
}

/// Antenna's `MOZILLA_PRODUCTS`.
pub const MOZILLA_PRODUCTS: [&str; 7] = [
    "Fenix",
    "Firefox",
    "Firefox Enterprise",
    "Focus",
    "MozillaVPN",
    "ReferenceBrowser",
    "Thunderbird",
];

fn mozilla_package_names() -> HashMap<String, Vec<String>> {
    let list = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    HashMap::from([
        (
            "Fenix".to_owned(),
            list(&[
                "org.mozilla.firefox",
                "org.mozilla.firefox_beta",
                "org.mozilla.fenix",
            ]),
        ),
        (
            "Focus".to_owned(),
            list(&[
                "org.mozilla.focus",
                "org.mozilla.focus.beta",
                "org.mozilla.focus.nightly",
                "org.mozilla.klar",
            ]),
        ),
        (
            "ReferenceBrowser".to_owned(),
            list(&["org.mozilla.reference.browser"]),
        ),
    ])
}

/// A source of uniform random numbers in `[0, 1)`; injectable for tests.
pub type RandomSource = Arc<dyn Fn() -> f64 + Send + Sync>;

pub struct Throttler {
    rules: Vec<Rule>,
    products: Vec<String>,
    package_names: HashMap<String, Vec<String>>,
    random: RandomSource,
}

/// Python's `str(value)` for the values a raw crash can hold.
fn value_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

fn get_str<'a>(crash: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    crash.get(key).and_then(Value::as_str)
}

impl Throttler {
    pub fn new(cfg: &ThrottlerConfig) -> Self {
        let (rules, default_products, package_names) = match cfg.ruleset {
            Ruleset::AcceptAll => (accept_all_rules(), Vec::new(), HashMap::new()),
            Ruleset::Mozilla => (
                mozilla_rules(),
                MOZILLA_PRODUCTS.iter().map(|s| (*s).to_owned()).collect(),
                mozilla_package_names(),
            ),
        };
        Self {
            rules,
            products: cfg.products.clone().unwrap_or(default_products),
            package_names,
            random: Arc::new(rand::random::<f64>),
        }
    }

    /// Replace the random source (tests).
    pub fn with_random(mut self, random: RandomSource) -> Self {
        self.random = random;
        self
    }

    /// Names of the rules, in order (for docs and metrics).
    pub fn rule_names(&self) -> Vec<&'static str> {
        self.rules.iter().map(|r| r.name).collect()
    }

    /// Throttle one crash submitted at `now`: `(result, rule name, percentage)`.
    pub fn throttle(
        &self,
        crash: &Map<String, Value>,
        now: DateTime<Utc>,
    ) -> (ThrottleResult, &'static str, f64) {
        let ctx = RuleCtx {
            products: &self.products,
            package_names: &self.package_names,
            now,
        };
        for rule in &self.rules {
            let matched = match &rule.matcher {
                Matcher::Whole(cond) => cond(&ctx, crash),
                Matcher::Key(key, cond) => crash.get(*key).is_some_and(|v| cond(&value_str(v))),
            };
            if !matched {
                continue;
            }
            match rule.result {
                RuleResult::Fixed(r) => return (r, rule.name, 100.0),
                RuleResult::Sample(pct, le, gt) => {
                    let outcome = if (self.random)() * 100.0 <= pct {
                        le
                    } else {
                        gt
                    };
                    match outcome {
                        Outcome::Result(r) => return (r, rule.name, pct),
                        Outcome::Continue => continue,
                    }
                }
            }
        }
        (ThrottleResult::Reject, "NO_MATCH", 0.0)
    }
}

fn accept_all_rules() -> Vec<Rule> {
    vec![Rule {
        name: "accept_everything",
        matcher: Matcher::Whole(Box::new(|_, _| true)),
        result: RuleResult::Fixed(ThrottleResult::Accept),
    }]
}

fn buildid_regex() -> Option<Regex> {
    Regex::new(r"^20\d{12}$").ok()
}

fn mozilla_rules() -> Vec<Rule> {
    use ThrottleResult::{Accept, FakeAccept, Reject};
    let buildid_re = buildid_regex();
    vec![
        Rule {
            name: "has_old_buildid",
            matcher: Matcher::Whole(Box::new(move |t, c| {
                let Some(build) = get_str(c, "BuildID") else {
                    return false;
                };
                if !buildid_re.as_ref().is_some_and(|re| re.is_match(build)) {
                    return false;
                }
                let Ok(date) = NaiveDate::parse_from_str(&build[..8], "%Y%m%d") else {
                    return false;
                };
                date < (t.now - chrono::Duration::days(730)).date_naive()
            })),
            result: RuleResult::Fixed(Reject),
        },
        Rule {
            name: "has_hangid_and_browser",
            matcher: Matcher::Whole(Box::new(|_, c| {
                c.contains_key("HangID")
                    && c.get("ProcessType")
                        .map(value_str)
                        .as_deref()
                        .unwrap_or("browser")
                        == "browser"
            })),
            result: RuleResult::Fixed(Reject),
        },
        Rule {
            name: "infobar_is_true",
            matcher: Matcher::Whole(Box::new(|_, c| {
                let product = get_str(c, "ProductName").unwrap_or("");
                let infobar = get_str(c, "SubmittedFromInfobar").unwrap_or("");
                let version = get_str(c, "Version").unwrap_or("");
                let buildid = get_str(c, "BuildID").unwrap_or("");
                if product.is_empty()
                    || infobar.is_empty()
                    || version.is_empty()
                    || buildid.is_empty()
                {
                    return false;
                }
                product == "Firefox"
                    && infobar == "true"
                    && ["52.", "53.", "54.", "55.", "56.", "57.", "58.", "59."]
                        .iter()
                        .any(|p| version.starts_with(p))
                    && buildid < "20171226"
            })),
            result: RuleResult::Fixed(Reject),
        },
        Rule {
            name: "b2g",
            matcher: Matcher::Whole(Box::new(|t, c| {
                !t.products.iter().any(|p| p == "B2G")
                    && get_str(c, "ProductName").unwrap_or("").to_lowercase() == "b2g"
            })),
            result: RuleResult::Fixed(FakeAccept),
        },
        Rule {
            name: "unsupported_product",
            matcher: Matcher::Whole(Box::new(|t, c| {
                let product = get_str(c, "ProductName").unwrap_or("");
                !t.products.is_empty() && !t.products.iter().any(|p| p == product)
            })),
            result: RuleResult::Fixed(Reject),
        },
        Rule {
            name: "unsupported_packagename",
            matcher: Matcher::Whole(Box::new(|t, c| {
                let product = get_str(c, "ProductName").unwrap_or("");
                let Some(allowed) = t.package_names.get(product) else {
                    return false;
                };
                let package = c
                    .get("Android_PackageName")
                    .map(value_str)
                    .unwrap_or_else(|| "None".into());
                !allowed.contains(&package)
            })),
            result: RuleResult::Fixed(Reject),
        },
        Rule {
            name: "throttleable_0",
            matcher: Matcher::Key("Throttleable", Box::new(|v| v == "0")),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "has_comments",
            matcher: Matcher::Key("Comments", Box::new(|_| true)),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "has_phc",
            matcher: Matcher::Key("PHCKind", Box::new(|_| true)),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "is_background",
            matcher: Matcher::Key(
                "ProcessType",
                Box::new(|v| ["gpu", "plugin", "rdd", "socket", "utility"].contains(&v)),
            ),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "is_shutdownkill",
            matcher: Matcher::Key("ipc_channel_error", Box::new(|v| v == "ShutDownKill")),
            result: RuleResult::Sample(10.0, Outcome::Continue, Outcome::Result(Reject)),
        },
        Rule {
            name: "is_firefox_esr_unsupported_windows",
            matcher: Matcher::Whole(Box::new(|_, c| {
                get_str(c, "ProductName") == Some("Firefox")
                    && get_str(c, "ReleaseChannel") == Some("esr")
                    && is_old_windows(c)
            })),
            result: RuleResult::Sample(25.0, Outcome::Continue, Outcome::Result(Reject)),
        },
        Rule {
            name: "is_alpha_beta_esr",
            matcher: Matcher::Key(
                "ReleaseChannel",
                Box::new(|v| ["aurora", "beta", "esr"].contains(&v)),
            ),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "is_nightly",
            matcher: Matcher::Key("ReleaseChannel", Box::new(|v| v.starts_with("nightly"))),
            result: RuleResult::Fixed(Accept),
        },
        Rule {
            name: "is_firefox_desktop",
            matcher: Matcher::Whole(Box::new(|_, c| {
                get_str(c, "ProductName") == Some("Firefox")
                    && get_str(c, "ReleaseChannel") == Some("release")
            })),
            result: RuleResult::Sample(10.0, Outcome::Result(Accept), Outcome::Result(Reject)),
        },
        Rule {
            name: "accept_everything",
            matcher: Matcher::Whole(Box::new(|_, _| true)),
            result: RuleResult::Fixed(Accept),
        },
    ]
}

/// `TelemetryEnvironment` says Windows NT with build number <= 9600.
fn is_old_windows(c: &Map<String, Value>) -> bool {
    let env: Value = match c.get("TelemetryEnvironment") {
        Some(Value::String(s)) => match serde_json::from_str(s) {
            Ok(v) => v,
            Err(_) => return false,
        },
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return false,
    };
    let os = &env["system"]["os"];
    os["name"].as_str() == Some("Windows_NT")
        && os["windowsBuildNumber"].as_i64().is_some_and(|n| n <= 9600)
}
