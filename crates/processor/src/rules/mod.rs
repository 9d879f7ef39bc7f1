//! The rules (one concept per file) and the rulesets built from them.

pub mod addons;
pub mod annotation_table;
pub mod beta_version;
pub mod breadcrumbs;
pub mod client_annotations;
pub mod collector_metadata;
pub mod copy_from_raw;
pub mod cpu_info;
pub mod crash_info_flags;
pub mod crash_report_keys;
pub mod crashing_thread_info;
pub mod dates_and_times;
pub mod denull;
pub mod esr_version;
pub mod identifier;
pub mod java_stack_trace;
pub mod mac;
pub mod memory_report;
pub mod memory_report_extraction;
pub mod minidump_stackwalk;
pub mod module_url_rewrite;
pub mod moz_crash_reason;
pub mod os_info;
pub mod os_pretty_version;
pub mod phc;
pub mod product_fields;
pub mod report_type;
pub mod signature;
pub mod stack_fields;
pub mod submitted_from;
pub mod truncate_stacks;

use std::sync::Arc;
use std::time::Duration;

use ::signature::SignatureGenerator;

use crate::metrics::ProcessorMetrics;
use crate::pipeline::{Rule, Ruleset, RulesetName};
use crate::symbols::Symbols;

/// What the rules need from outside.
#[derive(Clone)]
pub struct RuleDeps {
    pub symbols: Arc<Symbols>,
    pub signatures: Arc<SignatureGenerator>,
    pub time_budget: Duration,
    pub metrics: Option<ProcessorMetrics>,
    /// Product versions for `BetaVersionRule` (skipped without a database).
    pub db: Option<db::Db>,
}

fn stackwalk(d: &RuleDeps) -> Arc<dyn Rule> {
    Arc::new(minidump_stackwalk::MinidumpStackwalkRule {
        symbols: Arc::clone(&d.symbols),
        budget: d.time_budget,
        metrics: d.metrics.clone(),
    })
}

fn signature_rule(d: &RuleDeps) -> Arc<dyn Rule> {
    Arc::new(signature::SignatureGeneratorRule {
        generator: Arc::clone(&d.signatures),
    })
}

/// Socorro's `DEFAULT_RULESET` (`mozilla_rulesets.py`), in order, plus
/// `ClientAnnotationsRule` (product fields from Crashpad/Electron
/// annotations; a no-op when Mozilla's annotations are present).
/// Not ported: `FenixVersionRewriteRule` (dead upstream).
/// `BetaVersionRule` reads the product versions table and is left out when
/// there is no database (`socorro process --dump`).
pub fn mozilla(d: &RuleDeps) -> Ruleset {
    use self::{
        addons::*, breadcrumbs::*, client_annotations::ClientAnnotationsRule,
        collector_metadata::*, copy_from_raw::*, cpu_info::*, crash_info_flags::*,
        crash_report_keys::*, crashing_thread_info::*, dates_and_times::*, denull::*,
        esr_version::*, identifier::*, java_stack_trace::*, mac::*, memory_report::*,
        memory_report_extraction::*, module_url_rewrite::*, moz_crash_reason::*, os_info::*,
        os_pretty_version::*, phc::*, product_fields::*, report_type::*, signature::*,
        stack_fields::*, submitted_from::*, truncate_stacks::*,
    };
    let mut rules: Vec<Arc<dyn Rule>> = vec![
        Arc::new(DeNullRule),
        Arc::new(DeNoneRule),
        Arc::new(CrashReportKeysRule),
        Arc::new(CollectorMetadataRule),
        Arc::new(ConvertModuleSignatureInfoRule),
        Arc::new(CopyFromRawCrashRule),
        Arc::new(ClientAnnotationsRule),
        Arc::new(EsrVersionRewrite),
        Arc::new(SubmittedFromRule),
        Arc::new(IdentifierRule),
        Arc::new(MinidumpSha256HashRule),
        stackwalk(d),
        Arc::new(ModuleUrlRewriteRule),
        Arc::new(CrashingThreadInfoRule),
        Arc::new(TruncateStacksRule),
        Arc::new(PossibleBitFlipsRule),
        Arc::new(CrashInconsistenciesRule),
        Arc::new(HasGuardPageAccessRule),
        Arc::new(MajorVersionRule),
        Arc::new(PluginRule),
        Arc::new(ProcessTypeRule),
        Arc::new(AccessibilityRule),
        Arc::new(AddonsRule),
        Arc::new(DatesAndTimesRule),
        Arc::new(OutOfMemoryBinaryRule),
        Arc::new(PhcRule),
        Arc::new(BreadcrumbsRule),
        Arc::new(JavaStackTraceRule),
        Arc::new(MacBootArgsRule),
        Arc::new(MacCrashInfoRule),
        Arc::new(MozCrashReasonRule),
        Arc::new(UtilityActorsNameRule),
        Arc::new(ReportTypeRule),
        Arc::new(CpuInfoRule),
        Arc::new(AndroidCpuInfoRule),
        Arc::new(DistributionIdRule),
        Arc::new(OsInfoRule),
        Arc::new(AndroidOsInfoRule),
        Arc::new(PlatformInfoRule),
        Arc::new(OsPrettyVersionRule),
        Arc::new(TopMostFilesRule),
        Arc::new(ModulesInStackRule),
        Arc::new(MissingSymbolsRule),
        Arc::new(ThemePrettyNameRule),
        Arc::new(MemoryReportExtraction),
        Arc::new(SoftErrorsRule),
        Arc::new(ThreadCountRule),
        signature_rule(d),
        Arc::new(ShutDownHangCrashingThreadRule),
    ];
    if let Some(db) = &d.db {
        // Socorro's position: after PlatformInfoRule, before OSPrettyVersionRule
        let at = rules
            .iter()
            .position(|r| r.name() == "OSPrettyVersionRule")
            .unwrap_or(rules.len());
        rules.insert(at, Arc::new(beta_version::BetaVersionRule::new(db.clone())));
    }
    Ruleset {
        name: "mozilla",
        rules,
    }
}

/// Generic rules for any Breakpad/Crashpad product: no Firefox-specific
/// annotations (addons, PHC, Java, memory reports, ...).
pub fn generic(d: &RuleDeps) -> Ruleset {
    use self::{
        client_annotations::ClientAnnotationsRule, collector_metadata::*, copy_from_raw::*,
        cpu_info::*, crash_info_flags::*, crash_report_keys::*, crashing_thread_info::*,
        dates_and_times::*, denull::*, identifier::*, module_url_rewrite::*, os_info::*,
        os_pretty_version::*, product_fields::*, stack_fields::*, truncate_stacks::*,
    };
    let rules: Vec<Arc<dyn Rule>> = vec![
        Arc::new(DeNullRule),
        Arc::new(DeNoneRule),
        Arc::new(CrashReportKeysRule),
        Arc::new(CollectorMetadataRule),
        Arc::new(CopyFromRawCrashRule),
        Arc::new(ClientAnnotationsRule),
        Arc::new(IdentifierRule),
        Arc::new(MinidumpSha256HashRule),
        stackwalk(d),
        Arc::new(ModuleUrlRewriteRule),
        Arc::new(CrashingThreadInfoRule),
        Arc::new(TruncateStacksRule),
        Arc::new(PossibleBitFlipsRule),
        Arc::new(CrashInconsistenciesRule),
        Arc::new(HasGuardPageAccessRule),
        Arc::new(MajorVersionRule),
        Arc::new(ProcessTypeRule),
        Arc::new(DatesAndTimesRule),
        Arc::new(CpuInfoRule),
        Arc::new(OsInfoRule),
        Arc::new(PlatformInfoRule),
        Arc::new(OsPrettyVersionRule),
        Arc::new(TopMostFilesRule),
        Arc::new(ModulesInStackRule),
        Arc::new(MissingSymbolsRule),
        Arc::new(SoftErrorsRule),
        Arc::new(ThreadCountRule),
        signature_rule(d),
    ];
    Ruleset {
        name: "default",
        rules,
    }
}

/// `REGENERATE_SIGNATURE_RULESET`: the signature only, on the stored json_dump.
pub fn regenerate_signature(d: &RuleDeps) -> Ruleset {
    Ruleset {
        name: "regenerate_signature",
        rules: vec![signature_rule(d)],
    }
}

/// The ruleset for a name.
pub fn build(name: RulesetName, d: &RuleDeps) -> Ruleset {
    match name {
        RulesetName::Default => generic(d),
        RulesetName::Mozilla => mozilla(d),
        RulesetName::RegenerateSignature => regenerate_signature(d),
    }
}
