//! The `socorro signature` command: regenerate signatures for processed
//! crashes and print them with their notes (and, with `--debug`, the rule
//! trace).
//!
//! The binary owns argument parsing and IO handles; this module does the
//! work. With the `clap` feature, [`SignatureArgs`] derives `clap::Args`.
//! Inputs are processed-crash JSON files (one JSON document, or several
//! concatenated / one per line); no input or `-` reads stdin. Crashes that
//! come from storage go through [`report`] one by one.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use crate::{CrashData, SigListError, SigLists, SignatureGenerator, SignatureResult};

/// Output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum OutputFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// One JSON object per crash, one per line.
    Json,
}

/// Arguments of `socorro signature`.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
pub struct SignatureArgs {
    /// Processed-crash JSON files; none or `-` reads stdin.
    #[cfg_attr(feature = "clap", arg(value_name = "FILE"))]
    pub inputs: Vec<PathBuf>,
    /// Output format.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = OutputFormat::Text))]
    pub format: OutputFormat,
    /// Include the rule trace (which rule did what).
    #[cfg_attr(feature = "clap", arg(long))]
    pub debug: bool,
    /// Directory with the four signature lists (e.g. Mozilla's production
    /// lists); default: the project's embedded generic lists.
    #[cfg_attr(feature = "clap", arg(long, value_name = "DIR"))]
    pub signature_list_dir: Option<PathBuf>,
    /// Print only crashes whose new signature differs from the stored one.
    #[cfg_attr(feature = "clap", arg(long))]
    pub different_only: bool,
}

/// Why the command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The signature lists did not load.
    #[error(transparent)]
    SigLists(#[from] SigListError),
    /// An input could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The input.
        path: String,
        /// The IO error.
        #[source]
        source: io::Error,
    },
    /// An input is not JSON.
    #[error("{path} is not valid JSON: {source}")]
    Json {
        /// The input.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// Writing the output failed.
    #[error("cannot write output: {0}")]
    Write(#[source] io::Error),
}

/// Builds the generator the arguments ask for.
pub fn generator(args: &SignatureArgs) -> Result<SignatureGenerator, SigListError> {
    let lists = match &args.signature_list_dir {
        Some(dir) => SigLists::load_dir(dir)?,
        None => SigLists::generic()?,
    };
    Ok(SignatureGenerator::new(lists))
}

/// Runs the command over the inputs. Returns the process exit code (0).
pub fn run(
    args: &SignatureArgs,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
) -> Result<i32, CliError> {
    let generator = generator(args)?;
    let use_stdin = args.inputs.is_empty() || args.inputs.iter().any(|p| p.as_os_str() == "-");
    let mut sources: Vec<(String, Vec<u8>)> = Vec::new();
    for path in &args.inputs {
        if path.as_os_str() == "-" {
            continue;
        }
        let label = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CliError::Read {
            path: label.clone(),
            source,
        })?;
        sources.push((label, bytes));
    }
    if use_stdin {
        let mut bytes = Vec::new();
        stdin
            .read_to_end(&mut bytes)
            .map_err(|source| CliError::Read {
                path: "<stdin>".to_owned(),
                source,
            })?;
        sources.push(("<stdin>".to_owned(), bytes));
    }
    for (label, bytes) in sources {
        let docs = serde_json::Deserializer::from_slice(&bytes).into_iter::<Value>();
        for (i, doc) in docs.enumerate() {
            let doc = doc.map_err(|source| CliError::Json {
                path: label.clone(),
                source,
            })?;
            let name = if i == 0 {
                label.clone()
            } else {
                format!("{label}#{}", i + 1)
            };
            report(&generator, &doc, &name, args, stdout).map_err(CliError::Write)?;
        }
    }
    Ok(0)
}

#[derive(Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uuid: Option<&'a str>,
    original_signature: &'a str,
    signature: &'a str,
    changed: bool,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    debug_log: Option<&'a [crate::DebugEntry]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    proto_signature: Option<&'a str>,
}

/// Generates and prints the signature of one processed crash (`label`
/// names it in the output: a file name or a crash id).
pub fn report(
    generator: &SignatureGenerator,
    processed_crash: &Value,
    label: &str,
    args: &SignatureArgs,
    out: &mut dyn Write,
) -> io::Result<()> {
    let crash = CrashData::from_processed_crash(processed_crash);
    let result = generator.generate(&crash);
    let changed = result.signature != crash.original_signature;
    if args.different_only && !changed {
        return Ok(());
    }
    let uuid = processed_crash
        .get("uuid")
        .or_else(|| processed_crash.get("crash_id"))
        .and_then(Value::as_str);
    match args.format {
        OutputFormat::Json => {
            let line = JsonLine {
                source: label,
                uuid,
                original_signature: &crash.original_signature,
                signature: &result.signature,
                changed,
                notes: &result.notes,
                debug_log: args.debug.then_some(result.debug_log.as_slice()),
                proto_signature: result.extra.proto_signature(),
            };
            serde_json::to_writer(&mut *out, &line).map_err(io::Error::other)?;
            writeln!(out)
        }
        OutputFormat::Text => write_text(out, label, uuid, &crash, &result, changed, args.debug),
    }
}

fn write_text(
    out: &mut dyn Write,
    label: &str,
    uuid: Option<&str>,
    crash: &CrashData,
    result: &SignatureResult,
    changed: bool,
    debug: bool,
) -> io::Result<()> {
    match uuid {
        Some(uuid) => writeln!(out, "{label} ({uuid})")?,
        None => writeln!(out, "{label}")?,
    }
    writeln!(out, "  signature: {}", result.signature)?;
    if !crash.original_signature.is_empty() {
        let mark = if changed { "  (changed)" } else { "" };
        writeln!(out, "  original:  {}{mark}", crash.original_signature)?;
    }
    for note in &result.notes {
        writeln!(out, "  note: {note}")?;
    }
    if debug {
        for entry in &result.debug_log {
            writeln!(out, "  debug: {entry}")?;
        }
    }
    Ok(())
}
