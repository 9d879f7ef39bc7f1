//! The conformance queries: parameters plus an independent predicate that
//! says which generated crashes must match.

use super::data::Crash;

/// One suite query.
pub struct Case {
    /// Unique name (snapshot key).
    pub name: &'static str,
    /// Super Search parameters.
    pub params: &'static [(&'static str, &'static str)],
    /// Which crashes (inside the date range) must match.
    pub filter: fn(&Crash) -> bool,
    /// Run with `view_pii`.
    pub pii: bool,
}

const fn case(
    name: &'static str,
    params: &'static [(&'static str, &'static str)],
    filter: fn(&Crash) -> bool,
) -> Case {
    Case {
        name,
        params,
        filter,
        pii: false,
    }
}

const fn pii(
    name: &'static str,
    params: &'static [(&'static str, &'static str)],
    filter: fn(&Crash) -> bool,
) -> Case {
    Case {
        name,
        params,
        filter,
        pii: true,
    }
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn has_word(s: &str, w: &str) -> bool {
    words(s).iter().any(|x| x == w)
}

/// Every suite query.
pub fn cases() -> Vec<Case> {
    vec![
        case("default", &[], |_| true),
        case(
            "all_dates_20d",
            &[
                ("date", ">=2026-10-31T12:00:00"),
                ("date", "<2026-11-20T12:00:00"),
            ],
            |_| true,
        ),
        case(
            "date_gt_lte",
            &[("date", ">2026-11-10"), ("date", "<=2026-11-15T06:30:00Z")],
            |_| true,
        ),
        case("date_only_lower", &[("date", ">=2026-11-18")], |_| true),
        case(
            "date_space_separator",
            &[
                ("date", ">=2026-11-12 00:00:00"),
                ("date", "<2026-11-13 00:00:00"),
            ],
            |_| true,
        ),
        case(
            "date_tightest_bounds",
            &[
                ("date", ">=2026-11-01"),
                ("date", ">=2026-11-05"),
                ("date", "<2026-11-19"),
                ("date", "<2026-11-09"),
            ],
            |_| true,
        ),
        case("product_match", &[("product", "Firefox")], |c| {
            c.product == "Firefox"
        }),
        case("product_lowercase_match", &[("product", "firefox")], |c| {
            c.product == "Firefox"
        }),
        case(
            "product_or",
            &[("product", "Firefox"), ("product", "Fenix")],
            |c| matches!(c.product, "Firefox" | "Fenix"),
        ),
        case(
            "product_comma_is_literal",
            &[("product", "Thunderbird")],
            |c| c.product == "Thunderbird",
        ),
        case("product_not", &[("product", "!Firefox")], |c| {
            c.product != "Firefox"
        }),
        case(
            "product_not_two",
            &[("product", "!Firefox"), ("product", "!Fenix")],
            |c| !matches!(c.product, "Firefox" | "Fenix"),
        ),
        case(
            "product_enum_tilde_literal",
            &[("product", "~Fire")],
            |_| false,
        ),
        case("product_null", &[("product", "__null__")], |_| false),
        case("product_not_null", &[("product", "!__null__")], |_| true),
        case("platform_two_words", &[("platform", "Windows NT")], |c| {
            c.platform == "Windows NT"
        }),
        case("platform_word", &[("platform", "OS")], |c| {
            c.platform == "Mac OS X"
        }),
        case("platform_exact_full", &[("platform", "=Linux")], |c| {
            c.platform == "Linux"
        }),
        case("signature_match_word", &[("signature", "OOM")], |c| {
            has_word(c.signature, "oom")
        }),
        case(
            "signature_match_any_word",
            &[("signature", "OOM | ShutDownKill")],
            |c| has_word(c.signature, "oom") || has_word(c.signature, "shutdownkill"),
        ),
        case("signature_exact", &[("signature", "=OOM | small")], |c| {
            c.signature == "OOM | small"
        }),
        case(
            "signature_exact_case_sensitive",
            &[("signature", "=oom | small")],
            |_| false,
        ),
        case(
            "signature_exact_or",
            &[("signature", "=OOM | small"), ("signature", "=OOM | large")],
            |c| c.signature.starts_with("OOM | "),
        ),
        case("signature_contains", &[("signature", "~Shutdown")], |c| {
            c.signature.contains("Shutdown")
        }),
        case("signature_contains_special", &[("signature", "~::")], |c| {
            c.signature.contains("::")
        }),
        case("signature_starts", &[("signature", "^mozilla::")], |c| {
            c.signature.starts_with("mozilla::")
        }),
        case("signature_ends", &[("signature", "$Close")], |c| {
            c.signature.ends_with("Close")
        }),
        case(
            "signature_regex",
            &[("signature", "@OOM \\| (small|large)")],
            |c| c.signature == "OOM | small" || c.signature == "OOM | large",
        ),
        case(
            "signature_regex_class",
            &[("signature", "@[a-z]+::.*")],
            |c| {
                c.signature
                    .split("::")
                    .next()
                    .is_some_and(|p| !p.is_empty() && p.chars().all(|ch| ch.is_ascii_lowercase()))
                    && c.signature.contains("::")
            },
        ),
        case("signature_not_contains", &[("signature", "!~OOM")], |c| {
            !c.signature.contains("OOM")
        }),
        case("signature_not_starts", &[("signature", "!^mozilla")], |c| {
            !c.signature.starts_with("mozilla")
        }),
        case(
            "signature_contains_and_not",
            &[("signature", "~::"), ("signature", "!^mozilla")],
            |c| c.signature.contains("::") && !c.signature.starts_with("mozilla"),
        ),
        case("version_exact", &[("version", "120.0")], |c| {
            c.version == "120.0"
        }),
        case("version_beta_prefix", &[("version", "121.0b")], |c| {
            c.version.starts_with("121.0b")
        }),
        case("version_enum_caret_literal", &[("version", "^121")], |_| {
            false
        }),
        case(
            "cpu_arch_or",
            &[("cpu_arch", "amd64"), ("cpu_arch", "arm64")],
            |c| matches!(c.cpu_arch, "amd64" | "arm64"),
        ),
        case("release_channel", &[("release_channel", "beta")], |c| {
            c.release_channel == "beta"
        }),
        case("uptime_gt", &[("uptime", ">1000")], |c| {
            c.uptime.is_some_and(|u| u > 1000)
        }),
        case(
            "uptime_range",
            &[("uptime", ">=100"), ("uptime", "<500")],
            |c| c.uptime.is_some_and(|u| (100..500).contains(&u)),
        ),
        case("uptime_lte", &[("uptime", "<=10")], |c| {
            c.uptime.is_some_and(|u| u <= 10)
        }),
        case("uptime_exact", &[("uptime", "42")], |c| {
            c.uptime == Some(42)
        }),
        case("uptime_null", &[("uptime", "__null__")], |c| {
            c.uptime.is_none()
        }),
        case("uptime_not_null", &[("uptime", "!__null__")], |c| {
            c.uptime.is_some()
        }),
        case("uptime_not_gt", &[("uptime", "!>1000")], |c| {
            c.uptime.is_none_or(|u| u <= 1000)
        }),
        case("build_id_gte", &[("build_id", ">=20261110000000")], |c| {
            c.build_id >= 20_261_110_000_000
        }),
        case(
            "memory_explicit_gt",
            &[("memory_explicit", ">2000000000")],
            |c| c.memory_explicit.is_some_and(|m| m > 2_000_000_000),
        ),
        case(
            "accessibility_true",
            &[("accessibility", "__true__")],
            |c| c.accessibility == Some(true),
        ),
        case(
            "accessibility_bare_false",
            &[("accessibility", "false")],
            |c| c.accessibility == Some(false),
        ),
        case(
            "accessibility_not_true",
            &[("accessibility", "!__true__")],
            |c| c.accessibility != Some(true),
        ),
        case(
            "accessibility_null",
            &[("accessibility", "__null__")],
            |c| c.accessibility.is_none(),
        ),
        case("address_exact", &[("address", "0x100")], |c| {
            c.address == "0x100"
        }),
        case("address_starts", &[("address", "^0x1")], |c| {
            c.address.starts_with("0x1")
        }),
        case("addons_any", &[("addons", "~formautofill")], |c| {
            c.addons.iter().any(|a| a.contains("formautofill"))
        }),
        case("addons_null", &[("addons", "__null__")], |c| {
            c.addons.is_empty()
        }),
        case(
            "moz_crash_reason_word",
            &[("moz_crash_reason", "memory")],
            |c| {
                c.moz_crash_reason
                    .as_deref()
                    .is_some_and(|r| has_word(r, "memory"))
            },
        ),
        case(
            "moz_crash_reason_contains",
            &[("moz_crash_reason", "~RELEASE_ASSERT")],
            |c| {
                c.moz_crash_reason
                    .as_deref()
                    .is_some_and(|r| r.contains("RELEASE_ASSERT"))
            },
        ),
        case(
            "multi_field_and",
            &[
                ("product", "Firefox"),
                ("platform", "Linux"),
                ("uptime", ">100"),
            ],
            |c| {
                c.product == "Firefox" && c.platform == "Linux" && c.uptime.is_some_and(|u| u > 100)
            },
        ),
        case(
            "facets_three",
            &[
                ("_facets", "platform"),
                ("_facets", "product"),
                ("_facets", "cpu_arch"),
            ],
            |_| true,
        ),
        case(
            "facets_comma",
            &[("_facets", "platform,release_channel")],
            |_| true,
        ),
        case(
            "facets_size_3",
            &[("_facets", "signature"), ("_facets_size", "3")],
            |_| true,
        ),
        case("facets_size_0", &[("_facets_size", "0")], |_| true),
        case("facets_bool", &[("_facets", "accessibility")], |_| true),
        case("facets_int", &[("_facets", "cpu_count")], |_| true),
        case("facets_multivalued", &[("_facets", "addons")], |_| true),
        case(
            "facets_filtered",
            &[
                ("product", "Fenix"),
                ("_facets", "signature"),
                ("_facets", "version"),
            ],
            |c| c.product == "Fenix",
        ),
        case(
            "aggs_nested",
            &[("_aggs.product", "platform"), ("_facets", "product")],
            |_| true,
        ),
        case(
            "aggs_two_levels",
            &[
                ("_aggs.product.platform", "cpu_arch"),
                ("_facets_size", "10"),
            ],
            |_| true,
        ),
        case(
            "aggs_histogram_sub",
            &[
                ("_aggs.signature", "_histogram.uptime"),
                ("_histogram_interval.uptime", "1000"),
                ("_facets_size", "5"),
            ],
            |_| true,
        ),
        case(
            "histogram_date_default",
            &[("_histogram.date", "product")],
            |_| true,
        ),
        case(
            "histogram_date_6h",
            &[
                ("_histogram.date", "platform"),
                ("_histogram_interval.date", "6h"),
                ("date", ">=2026-11-18"),
            ],
            |_| true,
        ),
        case(
            "histogram_uptime",
            &[
                ("_histogram.uptime", "platform"),
                ("_histogram_interval.uptime", "500"),
            ],
            |_| true,
        ),
        case(
            "histogram_in_facets",
            &[
                ("_facets", "_histogram.date"),
                ("_facets", "_cardinality.platform"),
            ],
            |_| true,
        ),
        case(
            "cardinality_param",
            &[("_cardinality.signature", "")],
            |_| true,
        ),
        case(
            "cardinality_in_aggs",
            &[("_aggs.product", "_cardinality.signature")],
            |_| true,
        ),
        case(
            "mixed_bench_like",
            &[
                ("product", "Firefox"),
                ("_facets", "signature"),
                ("_facets", "platform"),
                ("_facets", "version"),
                ("_histogram.date", ""),
            ],
            |c| c.product == "Firefox",
        ),
        case(
            "columns",
            &[
                ("_columns", "uuid"),
                ("_columns", "platform"),
                ("_columns", "uptime"),
                ("_columns", "addons"),
                ("_columns", "accessibility"),
                ("_columns", "memory_explicit"),
            ],
            |_| true,
        ),
        case(
            "sort_uptime",
            &[("_sort", "uptime"), ("_columns", "uuid,uptime")],
            |_| true,
        ),
        case(
            "sort_uptime_desc",
            &[("_sort", "-uptime"), ("_columns", "uuid,uptime")],
            |_| true,
        ),
        case(
            "sort_two_keys",
            &[
                ("_sort", "platform"),
                ("_sort", "-date"),
                ("_columns", "uuid,platform,date"),
            ],
            |_| true,
        ),
        case(
            "sort_signature_page",
            &[
                ("_sort", "signature"),
                ("_results_number", "25"),
                ("_results_offset", "50"),
            ],
            |_| true,
        ),
        case(
            "sort_date_asc_page",
            &[
                ("_sort", "date"),
                ("_results_number", "10"),
                ("_results_offset", "990"),
            ],
            |_| true,
        ),
        case(
            "sort_multivalued",
            &[
                ("_sort", "-addons"),
                ("_columns", "uuid,addons"),
                ("_results_number", "30"),
            ],
            |_| true,
        ),
        case(
            "results_number_0",
            &[("_results_number", "0"), ("_facets", "platform")],
            |_| true,
        ),
        case(
            "results_number_1000",
            &[("_results_number", "1000"), ("_columns", "uuid")],
            |_| true,
        ),
        case(
            "offset_past_end",
            &[("_results_offset", "9000"), ("_results_number", "1000")],
            |_| true,
        ),
        case(
            "protected_filter_ignored_public",
            &[("user_comments", "~secret")],
            |_| true,
        ),
        case(
            "protected_columns_dropped_public",
            &[("_columns", "uuid,user_comments,url"), ("_facets", "url")],
            |_| true,
        ),
        pii(
            "protected_filter_pii",
            &[
                ("user_comments", "~secret"),
                ("_columns", "uuid,user_comments"),
            ],
            |c| {
                c.user_comments
                    .as_deref()
                    .is_some_and(|u| u.contains("secret"))
            },
        ),
        pii(
            "protected_facet_pii",
            &[
                ("url", "!__null__"),
                ("_facets", "url"),
                ("_facets_size", "60"),
            ],
            |c| c.url.is_some(),
        ),
        case("no_match", &[("signature", "=does not exist")], |_| false),
        case(
            "missing_indices_reported",
            &[("date", ">=2026-10-12"), ("date", "<2026-10-20")],
            |_| true,
        ),
        case(
            "missing_index_range",
            &[("date", ">=2026-01-05"), ("date", "<2026-01-20")],
            |_| true,
        ),
    ]
}
