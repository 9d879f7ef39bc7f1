//! Every rule of the `mozilla` ruleset, in Antenna's order, and `accept-all`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use collector::Ruleset;
use collector::throttler::{ThrottleResult, Throttler, ThrottlerConfig};
use serde_json::{Map, Value, json};

fn crash(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn mozilla(random: f64) -> Throttler {
    Throttler::new(&ThrottlerConfig {
        ruleset: Ruleset::Mozilla,
        products: None,
    })
    .with_random(Arc::new(move || random))
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn check(t: &Throttler, c: Value, want: (ThrottleResult, &str)) {
    let (result, rule, _) = t.throttle(&crash(c.clone()), now());
    assert_eq!((result, rule), want, "crash {c}");
}

use ThrottleResult::{Accept, FakeAccept, Reject};

#[test]
fn accept_all_accepts_everything() {
    let t = Throttler::new(&ThrottlerConfig::default());
    for c in [
        json!({}),
        json!({"ProductName": "Whatever"}),
        json!({"HangID": "x"}),
    ] {
        check(&t, c, (Accept, "accept_everything"));
    }
    assert_eq!(t.rule_names(), vec!["accept_everything"]);
}

#[test]
fn rule_order_is_antennas() {
    assert_eq!(
        mozilla(0.0).rule_names(),
        vec![
            "has_old_buildid",
            "has_hangid_and_browser",
            "infobar_is_true",
            "b2g",
            "unsupported_product",
            "unsupported_packagename",
            "throttleable_0",
            "has_comments",
            "has_phc",
            "is_background",
            "is_shutdownkill",
            "is_firefox_esr_unsupported_windows",
            "is_alpha_beta_esr",
            "is_nightly",
            "is_firefox_desktop",
            "accept_everything",
        ]
    );
}

#[test]
fn has_old_buildid() {
    let t = mozilla(0.0);
    // 2 years and a bit before 2026-11-25.
    check(
        &t,
        json!({"ProductName": "Firefox", "BuildID": "20241120000000"}),
        (Reject, "has_old_buildid"),
    );
    // Within 730 days: falls through to accept_everything.
    check(
        &t,
        json!({"ProductName": "Firefox", "BuildID": "20250101000000"}),
        (Accept, "accept_everything"),
    );
    // Not a build id of the form 20YYMMDDhhmmss: rule does not apply.
    check(
        &t,
        json!({"ProductName": "Firefox", "BuildID": "2014"}),
        (Accept, "accept_everything"),
    );
    check(
        &t,
        json!({"ProductName": "Firefox", "BuildID": "20141399000000"}),
        (Accept, "accept_everything"),
    );
}

#[test]
fn has_hangid_and_browser() {
    let t = mozilla(0.0);
    check(
        &t,
        json!({"ProductName": "Firefox", "HangID": "x"}),
        (Reject, "has_hangid_and_browser"),
    );
    check(
        &t,
        json!({"ProductName": "Firefox", "HangID": "x", "ProcessType": "browser"}),
        (Reject, "has_hangid_and_browser"),
    );
    check(
        &t,
        json!({"ProductName": "Firefox", "HangID": "x", "ProcessType": "content"}),
        (Accept, "accept_everything"),
    );
}

#[test]
fn infobar_is_true() {
    let t = mozilla(0.0);
    let c = json!({"ProductName": "Firefox", "SubmittedFromInfobar": "true", "Version": "55.0", "BuildID": "20171225000000"});
    // This BuildID is also old: has_old_buildid comes first.
    check(&t, c, (Reject, "has_old_buildid"));
    // A non-numeric BuildID below the cut-off (string compare) isolates the rule.
    let c = json!({"ProductName": "Firefox", "SubmittedFromInfobar": "true", "Version": "55.0", "BuildID": "2017"});
    check(&t, c, (Reject, "infobar_is_true"));
    let c = json!({"ProductName": "Firefox", "SubmittedFromInfobar": "true", "Version": "60.0", "BuildID": "2017"});
    check(&t, c, (Accept, "accept_everything"));
    let c = json!({"ProductName": "Firefox", "SubmittedFromInfobar": "false", "Version": "55.0", "BuildID": "2017"});
    check(&t, c, (Accept, "accept_everything"));
}

#[test]
fn b2g_is_fake_accepted() {
    let t = mozilla(0.0);
    check(&t, json!({"ProductName": "B2G"}), (FakeAccept, "b2g"));
    check(&t, json!({"ProductName": "b2g"}), (FakeAccept, "b2g"));
    assert_eq!(FakeAccept.digit().as_char(), '3');
}

#[test]
fn unsupported_product() {
    let t = mozilla(0.0);
    check(
        &t,
        json!({"ProductName": "Nope"}),
        (Reject, "unsupported_product"),
    );
    check(&t, json!({}), (Reject, "unsupported_product"));
    for p in [
        "Firefox",
        "Fenix",
        "Firefox Enterprise",
        "Focus",
        "MozillaVPN",
        "ReferenceBrowser",
        "Thunderbird",
    ] {
        let (result, rule, _) = t.throttle(
            &crash(json!({"ProductName": p, "Android_PackageName": "org.mozilla.firefox", "ReleaseChannel": "beta"})),
            now(),
        );
        assert_ne!(rule, "unsupported_product", "{p}");
        let _ = result;
    }
    // An explicit empty product list accepts every product.
    let all = Throttler::new(&ThrottlerConfig {
        ruleset: Ruleset::Mozilla,
        products: Some(vec![]),
    });
    check(
        &all,
        json!({"ProductName": "Nope"}),
        (Accept, "accept_everything"),
    );
    // A configured list replaces Mozilla's.
    let mine = Throttler::new(&ThrottlerConfig {
        ruleset: Ruleset::Mozilla,
        products: Some(vec!["MyApp".into()]),
    });
    check(
        &mine,
        json!({"ProductName": "MyApp"}),
        (Accept, "accept_everything"),
    );
    check(
        &mine,
        json!({"ProductName": "Firefox"}),
        (Reject, "unsupported_product"),
    );
}

#[test]
fn unsupported_packagename() {
    let t = mozilla(0.0);
    check(
        &t,
        json!({"ProductName": "Fenix"}),
        (Reject, "unsupported_packagename"),
    );
    check(
        &t,
        json!({"ProductName": "Fenix", "Android_PackageName": "com.evil"}),
        (Reject, "unsupported_packagename"),
    );
    check(
        &t,
        json!({"ProductName": "Fenix", "Android_PackageName": "org.mozilla.fenix"}),
        (Accept, "accept_everything"),
    );
    check(
        &t,
        json!({"ProductName": "Focus", "Android_PackageName": "org.mozilla.klar"}),
        (Accept, "accept_everything"),
    );
    check(
        &t,
        json!({"ProductName": "ReferenceBrowser", "Android_PackageName": "org.mozilla.reference.browser"}),
        (Accept, "accept_everything"),
    );
    // Products without a package list are not checked.
    check(
        &t,
        json!({"ProductName": "Thunderbird"}),
        (Accept, "accept_everything"),
    );
}

#[test]
fn keyed_accept_rules() {
    let t = mozilla(0.99);
    let base = |extra: Value| {
        let mut c = json!({"ProductName": "Firefox", "ReleaseChannel": "release"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    check(
        &t,
        base(json!({"Throttleable": "0"})),
        (Accept, "throttleable_0"),
    );
    check(&t, base(json!({"Comments": ""})), (Accept, "has_comments"));
    check(
        &t,
        base(json!({"PHCKind": "FreedPage"})),
        (Accept, "has_phc"),
    );
    for p in ["gpu", "plugin", "rdd", "socket", "utility"] {
        check(
            &t,
            base(json!({"ProcessType": p})),
            (Accept, "is_background"),
        );
    }
    // Throttleable=1 and content processes are sampled like everything else.
    check(
        &t,
        base(json!({"Throttleable": "1"})),
        (Reject, "is_firefox_desktop"),
    );
    check(
        &t,
        base(json!({"ProcessType": "content"})),
        (Reject, "is_firefox_desktop"),
    );
}

#[test]
fn is_shutdownkill_keeps_ten_percent() {
    let c = json!({"ProductName": "Firefox", "ReleaseChannel": "beta", "ipc_channel_error": "ShutDownKill"});
    // random*100 <= 10: CONTINUE to the next rules (beta is accepted).
    check(&mozilla(0.05), c.clone(), (Accept, "is_alpha_beta_esr"));
    check(&mozilla(0.10), c.clone(), (Accept, "is_alpha_beta_esr"));
    check(&mozilla(0.11), c, (Reject, "is_shutdownkill"));
}

#[test]
fn is_firefox_esr_unsupported_windows() {
    let env = |build: i64| {
        json!({"system": {"os": {"name": "Windows_NT", "windowsBuildNumber": build}}}).to_string()
    };
    let c = json!({"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": env(9600)});
    check(
        &mozilla(0.5),
        c.clone(),
        (Reject, "is_firefox_esr_unsupported_windows"),
    );
    check(&mozilla(0.2), c, (Accept, "is_alpha_beta_esr"));
    let newer = json!({"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": env(19045)});
    check(&mozilla(0.5), newer, (Accept, "is_alpha_beta_esr"));
    let garbage = json!({"ProductName": "Firefox", "ReleaseChannel": "esr", "TelemetryEnvironment": "{not json"});
    check(&mozilla(0.5), garbage, (Accept, "is_alpha_beta_esr"));
}

#[test]
fn channels() {
    let t = mozilla(0.99);
    for ch in ["aurora", "beta", "esr"] {
        check(
            &t,
            json!({"ProductName": "Firefox", "ReleaseChannel": ch}),
            (Accept, "is_alpha_beta_esr"),
        );
    }
    for ch in ["nightly", "nightly-cedar"] {
        check(
            &t,
            json!({"ProductName": "Firefox", "ReleaseChannel": ch}),
            (Accept, "is_nightly"),
        );
    }
}

#[test]
fn is_firefox_desktop_samples_ten_percent() {
    let c = json!({"ProductName": "Firefox", "ReleaseChannel": "release"});
    check(&mozilla(0.0), c.clone(), (Accept, "is_firefox_desktop"));
    check(&mozilla(0.10), c.clone(), (Accept, "is_firefox_desktop"));
    check(&mozilla(0.1001), c.clone(), (Reject, "is_firefox_desktop"));
    // With the real random source about 10% are accepted.
    let t = Throttler::new(&ThrottlerConfig {
        ruleset: Ruleset::Mozilla,
        products: None,
    });
    let accepted = (0..10_000)
        .filter(|_| t.throttle(&crash(c.clone()), now()).0 == Accept)
        .count();
    assert!(
        (800..1200).contains(&accepted),
        "{accepted} of 10000 accepted"
    );
}

#[test]
fn everything_else_is_accepted() {
    check(
        &mozilla(0.99),
        json!({"ProductName": "Thunderbird", "ReleaseChannel": "release"}),
        (Accept, "accept_everything"),
    );
}

#[test]
fn non_string_values_are_compared_as_python_str() {
    let t = mozilla(0.99);
    // From a JSON `extra`, Throttleable may be a number: str(0) == "0".
    check(
        &t,
        json!({"ProductName": "Firefox", "ReleaseChannel": "release", "Throttleable": 0}),
        (Accept, "throttleable_0"),
    );
}
