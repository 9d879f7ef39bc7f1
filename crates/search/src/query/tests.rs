#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use proptest::prelude::*;

use super::*;
use crate::{Fields, Permissions, SearchError};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
}

fn parse(p: &[(&str, &str)]) -> Result<SearchQuery, SearchError> {
    SearchQuery::parse(p, &Fields::builtin(), now())
}

fn bad(p: &[(&str, &str)]) -> (String, String) {
    match parse(p) {
        Err(SearchError::BadParam { param, message }) => (param, message),
        other => panic!("expected BadParam for {p:?}, got {other:?}"),
    }
}

fn cond(field: &str, v: &str) -> Condition {
    parse::parse_value(Fields::builtin().get(field).unwrap(), v).unwrap()
}

#[test]
fn defaults() {
    let q = parse(&[]).unwrap();
    assert_eq!(
        q.columns,
        ["uuid", "date", "signature", "product", "version"]
    );
    assert_eq!(q.results_number, 100);
    assert_eq!(q.results_offset, 0);
    assert_eq!(q.facets_size, 50);
    assert_eq!(q.aggs.len(), 1);
    assert_eq!(q.aggs[0].name(), "signature");
    assert_eq!(q.date_to, (now(), true));
    assert_eq!(q.date_from, (now() - Duration::days(7), true));
    assert_eq!(q.index_names("socorro"), ["socorro202645", "socorro202646"]);
}

#[test]
fn string_operators() {
    let ops = [
        ("foo", Operator::Match),
        ("=foo", Operator::Exact),
        ("~foo", Operator::Contains),
        ("^foo", Operator::StartsWith),
        ("$foo", Operator::EndsWith),
        ("@fo+", Operator::Regex),
        ("__null__", Operator::IsNull),
    ];
    for (v, op) in ops {
        let c = cond("signature", v);
        assert_eq!(c.op, op, "{v}");
        assert!(!c.negated);
    }
    let c = cond("signature", "!~foo");
    assert!(c.negated);
    assert_eq!(c.value, Operand::Str("foo".into()));
}

#[test]
fn number_and_date_operators() {
    assert_eq!(cond("uptime", ">=5").op, Operator::Gte);
    assert_eq!(cond("uptime", "<=5").op, Operator::Lte);
    assert_eq!(cond("uptime", "<5").op, Operator::Lt);
    assert_eq!(cond("uptime", ">5").value, Operand::Int(5));
    assert_eq!(cond("uptime", "5").op, Operator::Match);
    let (param, message) = bad(&[("uptime", ">abc")]);
    assert_eq!(param, "uptime");
    assert_eq!(message, "Bad value for parameter uptime: not a valid int");
    assert_eq!(cond("date", ">2026-11-01 10:00:00").op, Operator::Gt);
}

#[test]
fn bool_and_enum_operators() {
    assert_eq!(cond("accessibility", "__true__").op, Operator::IsTrue);
    assert_eq!(cond("accessibility", "yes").value, Operand::Bool(true));
    assert_eq!(cond("accessibility", "no").value, Operand::Bool(false));
    // Enum fields match string prefixes literally.
    let c = cond("product", "~Fire");
    assert_eq!(c.op, Operator::Match);
    assert_eq!(c.value, Operand::Str("~Fire".into()));
    // version: a bare value ending in b is a prefix.
    assert_eq!(cond("version", "121.0b").op, Operator::StartsWith);
}

#[test]
fn repeated_values_group_per_field() {
    let q = parse(&[
        ("product", "Firefox"),
        ("product", "Fenix"),
        ("product", "!Focus"),
        ("uptime", ">1"),
        ("uptime", "<9"),
    ])
    .unwrap();
    let p = q.filters.iter().find(|f| f.field == "product").unwrap();
    assert_eq!(p.should.len(), 2);
    assert_eq!(p.must.len(), 1);
    let u = q.filters.iter().find(|f| f.field == "uptime").unwrap();
    assert_eq!(u.must.len(), 2);
}

#[test]
fn unknown_filters_are_ignored() {
    let q = parse(&[("nope", "x"), ("page", "2")]).unwrap();
    assert!(q.filters.is_empty());
}

#[test]
fn meta_parameter_errors() {
    assert_eq!(
        bad(&[("_results_number", "1001")]),
        (
            "_results_number".into(),
            "_results_number cannot be greater than 1,000".into()
        )
    );
    assert_eq!(
        bad(&[("_results_number", "-1")]).1,
        "_results_number cannot be negative"
    );
    assert_eq!(
        bad(&[("_results_number", "x")]).1,
        "Bad value for parameter _results_number: not a valid int"
    );
    assert_eq!(
        bad(&[("_results_offset", "9500"), ("_results_number", "600")]).1,
        "_results_offset + _results_number cannot be greater than 10,000"
    );
    assert_eq!(bad(&[("_facets_size", "10001")]).0, "_facets_size");
    assert_eq!(
        bad(&[("_columns", "nope")]),
        ("_columns".into(), "Unknown field 'nope'".into())
    );
    assert_eq!(bad(&[("_sort", "-nope")]).0, "_sort");
    assert_eq!(bad(&[("_facets", "nope")]).0, "_facets");
    assert_eq!(bad(&[("_aggs.nope", "platform")]).0, "_aggs.nope");
    assert_eq!(
        bad(&[("_histogram.signature", "")]).0,
        "_histogram.signature"
    );
    assert_eq!(
        bad(&[
            ("_histogram.date", ""),
            ("_histogram_interval.date", "month")
        ])
        .0,
        "_histogram_interval.date"
    );
    assert_eq!(
        bad(&[
            ("_histogram.uptime", ""),
            ("_histogram_interval.uptime", "-3")
        ])
        .0,
        "_histogram_interval.uptime"
    );
    assert_eq!(bad(&[("signature", "@(unclosed")]).0, "signature");
}

#[test]
fn date_rules() {
    assert_eq!(
        bad(&[("date", "2026-11-01")]),
        ("date".into(), "date must have a prefix operator".into())
    );
    assert_eq!(
        bad(&[("date", ">=2025-01-01")]).1,
        "Date range is bigger than 365 days"
    );
    assert_eq!(
        bad(&[("date", ">=not a date")]).1,
        "Bad value for parameter date: not a valid date"
    );
    let q = parse(&[("date", "<2026-11-10T00:00:00+02:00")]).unwrap();
    assert_eq!(
        q.date_to,
        (Utc.with_ymd_and_hms(2026, 11, 9, 22, 0, 0).unwrap(), false)
    );
    assert_eq!(q.date_from, (q.date_to.0 - Duration::days(7), true));
    let q = parse(&[
        ("date", ">=2026-11-01"),
        ("date", ">2026-11-03"),
        ("date", "<=2026-11-10"),
        ("date", "<2026-11-08"),
    ])
    .unwrap();
    assert_eq!(
        q.date_from,
        (Utc.with_ymd_and_hms(2026, 11, 3, 0, 0, 0).unwrap(), false)
    );
    assert_eq!(
        q.date_to,
        (Utc.with_ymd_and_hms(2026, 11, 8, 0, 0, 0).unwrap(), false)
    );
}

#[test]
fn aggregations_nest() {
    let q = parse(&[
        ("_facets", "product"),
        ("_aggs.product.platform", "cpu_arch,_cardinality.signature"),
        ("_histogram.date", "version"),
        ("_histogram_interval.date", "6h"),
    ])
    .unwrap();
    let names: Vec<String> = q.aggs.iter().map(Agg::name).collect();
    assert_eq!(names, ["product", "histogram_date"]);
    let platform = &q.aggs[0].subs[0];
    assert_eq!(platform.field, "platform");
    let subs: Vec<String> = platform.subs.iter().map(Agg::name).collect();
    assert_eq!(subs, ["cpu_arch", "cardinality_signature"]);
    assert_eq!(
        q.aggs[1].kind,
        AggKind::DateHistogram(DateInterval {
            millis: 6 * 3_600_000
        })
    );
    assert!(parse(&[("_facets_size", "0")]).unwrap().aggs.is_empty());
}

#[test]
fn restricted_drops_protected_fields() {
    let fields = Fields::builtin();
    let q = parse(&[
        ("user_comments", "~x"),
        ("_columns", "uuid,url"),
        ("_sort", "url"),
        ("_facets", "url,signature"),
        ("_aggs.signature", "user_comments"),
    ])
    .unwrap();
    let r = q.restricted(&fields, &Permissions::public());
    assert!(r.filters.is_empty());
    assert_eq!(r.columns, ["uuid"]);
    assert!(r.sort.is_empty());
    assert_eq!(r.aggs.len(), 1);
    assert!(r.aggs[0].subs.is_empty());
    assert_eq!(q.restricted(&fields, &Permissions::with_pii()), q);
}

proptest! {
    #[test]
    fn parse_never_panics(params in proptest::collection::vec(("[_a-z.]{0,24}", "\\PC{0,40}"), 0..8)) {
        let fields = Fields::builtin();
        let _ = SearchQuery::parse(&params, &fields, now());
    }

    #[test]
    fn known_fields_any_value(field in proptest::sample::select(vec!["signature", "uptime", "date", "accessibility", "product", "version", "build_id", "_columns", "_sort", "_facets", "_histogram.date", "_results_number"]), value in "[!=~^$@<>_0-9a-zA-Z .:-]{0,30}") {
        let fields = Fields::builtin();
        if let Err(e) = SearchQuery::parse(&[(field, value.as_str())], &fields, now()) {
            prop_assert!(e.is_bad_request(), "{e:?}");
        }
    }
}
