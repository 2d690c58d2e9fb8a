//! detect-secrets 1.5 baselines: parsing, the byte-exact writer and the
//! merge-time three-way merge.
//!
//! A finding is identified by `(filename, type, hashed_secret)`, never by its
//! line: lines drift whenever anything above a finding changes, and
//! detect-secrets itself matches audit decisions by that key.

/// The file detect-secrets keeps its findings and audit decisions in.
pub const BASELINE_NAME: &str = ".secrets.baseline";

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde_json::{Map, Value};
use thiserror::Error;

/// The filter detect-secrets adds for the baseline file itself on `scan --baseline`.
pub const BASELINE_FILE_FILTER: &str = "detect_secrets.filters.common.is_baseline_file";

/// The `version` detect-secrets 1.5 writes (and upgrades older baselines to).
pub const VERSION: &str = "1.5.0";

/// A parsed `.secrets.baseline`.
#[derive(Debug, Clone, PartialEq)]
pub struct Baseline {
    /// The detect-secrets version that wrote it.
    pub version: String,
    /// Plugin settings; each object has `name` first, then its options.
    pub plugins_used: Vec<Map<String, Value>>,
    /// Filter settings; each object has `path` first, then its options.
    pub filters_used: Vec<Map<String, Value>>,
    /// Findings per file path (relative, `/`-separated).
    pub results: BTreeMap<String, Vec<Finding>>,
    /// `None` for `--slim` baselines.
    pub generated_at: Option<String>,
}

/// One entry of `results`; its filename is the key it is listed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The plugin's name for the kind of secret (`Secret Keyword`).
    pub secret_type: String,
    /// SHA-1 of the secret, so the baseline never holds the secret itself.
    pub hashed_secret: String,
    /// Whether a plugin verified the secret is live.
    pub is_verified: bool,
    /// 0 means "not written", as detect-secrets does for `--slim`.
    pub line_number: u64,
    /// The audit decision: `None` until someone audits the finding.
    pub is_secret: Option<bool>,
}

/// The identity of a finding inside a baseline.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FindingKey {
    /// The file the finding is in, as listed under `results`.
    pub filename: String,
    /// See [`Finding::secret_type`].
    pub secret_type: String,
    /// See [`Finding::hashed_secret`].
    pub hashed_secret: String,
}

impl std::fmt::Display for FindingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}, hashed_secret {})",
            self.filename, self.secret_type, self.hashed_secret
        )
    }
}

/// Why a text is not a baseline statebox can rewrite byte for byte.
#[derive(Debug, Error)]
pub enum BaselineParseError {
    /// It is not JSON.
    #[error("secrets baseline is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// It is JSON but not shaped like a detect-secrets baseline.
    #[error("secrets baseline: {at}: {problem}")]
    Shape {
        /// Where in the document (a key path).
        at: String,
        /// What is wrong there.
        problem: String,
    },
}

/// Both sides changed the same thing to different values.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BaselineConflict {
    #[error(
        "secrets baseline conflict on finding {key}: `{flag}` set to {ours} on one side and {theirs} on the other"
    )]
    /// An audit flag of one finding.
    Flag {
        /// The finding.
        key: Box<FindingKey>,
        /// The flag's name.
        flag: &'static str,
        /// Our value, as JSON.
        ours: String,
        /// Their value, as JSON.
        theirs: String,
    },
    #[error(
        "secrets baseline conflict in {section}: `{name}` option `{option}` changed differently on both sides"
    )]
    /// One option of a plugin or filter setting.
    Setting {
        /// `plugins_used` or `filters_used`.
        section: &'static str,
        /// The plugin's name or the filter's path.
        name: String,
        /// The option.
        option: String,
    },
    #[error(
        "secrets baseline conflict in {section}: `{name}` removed on one side and changed on the other"
    )]
    /// A plugin or filter setting one side removed and the other changed.
    RemovedAndChanged {
        /// `plugins_used` or `filters_used`.
        section: &'static str,
        /// The plugin's name or the filter's path.
        name: String,
    },
}

fn shape(at: impl Into<String>, problem: impl Into<String>) -> BaselineParseError {
    BaselineParseError::Shape {
        at: at.into(),
        problem: problem.into(),
    }
}

impl Baseline {
    /// Parses a baseline as written by detect-secrets 1.x. Unknown keys are
    /// rejected rather than silently dropped on rewrite.
    pub fn parse(text: &str) -> Result<Baseline, BaselineParseError> {
        let Value::Object(top) = serde_json::from_str::<Value>(text)? else {
            return Err(shape("top level", "expected a JSON object"));
        };
        let mut baseline = Baseline {
            version: String::new(),
            plugins_used: Vec::new(),
            filters_used: Vec::new(),
            results: BTreeMap::new(),
            generated_at: None,
        };
        let mut seen_version = false;
        for (key, value) in top {
            match key.as_str() {
                "version" => {
                    baseline.version = expect_str(&value, "version")?.to_owned();
                    seen_version = true;
                }
                "plugins_used" => {
                    baseline.plugins_used = settings_list(value, key.as_str(), "name")?
                }
                "filters_used" => {
                    baseline.filters_used = settings_list(value, key.as_str(), "path")?
                }
                "results" => baseline.results = parse_results(value)?,
                "generated_at" => {
                    baseline.generated_at = Some(expect_str(&value, "generated_at")?.to_owned())
                }
                other => {
                    return Err(shape(
                        "top level",
                        format!("unknown key `{other}` (not a detect-secrets 1.x baseline?)"),
                    ));
                }
            }
        }
        if !seen_version {
            return Err(shape("top level", "missing `version`"));
        }
        Ok(baseline)
    }

    /// Every finding with its key, in file order.
    pub fn findings(&self) -> impl Iterator<Item = (FindingKey, &Finding)> {
        self.results.iter().flat_map(|(filename, list)| {
            list.iter().map(move |finding| {
                (
                    FindingKey {
                        filename: filename.clone(),
                        secret_type: finding.secret_type.clone(),
                        hashed_secret: finding.hashed_secret.clone(),
                    },
                    finding,
                )
            })
        })
    }

    /// Records `filename` as the baseline file, as `scan --baseline FILENAME` does.
    pub fn set_baseline_filename(&mut self, filename: &str) {
        self.filters_used
            .retain(|f| f.get("path").and_then(Value::as_str) != Some(BASELINE_FILE_FILTER));
        let mut filter = Map::new();
        filter.insert("path".into(), BASELINE_FILE_FILTER.into());
        filter.insert("filename".into(), filename.into());
        self.filters_used.push(filter);
    }

    /// The options of the filter at `path`, if that filter is enabled.
    pub fn filter(&self, path: &str) -> Option<&Map<String, Value>> {
        self.filters_used
            .iter()
            .find(|f| f.get("path").and_then(Value::as_str) == Some(path))
    }

    /// Whether the plugin called `name` is enabled.
    pub fn has_plugin(&self, name: &str) -> bool {
        self.plugins_used
            .iter()
            .any(|p| p.get("name").and_then(Value::as_str) == Some(name))
    }

    /// Puts settings and findings in the order detect-secrets writes them:
    /// settings by lower-cased name, findings by `(line_number, hashed_secret,
    /// type)`. Files are always in code point order. [`Baseline::parse`]
    /// keeps the order it reads, because a `--slim` baseline is ordered by
    /// line numbers it does not contain.
    pub fn sort(&mut self) {
        self.plugins_used
            .sort_by_cached_key(|p| sort_name(p, "name"));
        self.filters_used
            .sort_by_cached_key(|f| sort_name(f, "path"));
        for findings in self.results.values_mut() {
            findings.sort_by(|a, b| {
                (a.line_number, &a.hashed_secret, &a.secret_type).cmp(&(
                    b.line_number,
                    &b.hashed_secret,
                    &b.secret_type,
                ))
            });
        }
    }

    fn to_value(&self) -> Value {
        let mut results = Map::new();
        for (filename, findings) in &self.results {
            if findings.is_empty() {
                continue;
            }
            let list = findings
                .iter()
                .map(|f| finding_value(filename, f))
                .collect();
            results.insert(filename.clone(), Value::Array(list));
        }
        let mut top = Map::new();
        top.insert("version".into(), self.version.clone().into());
        top.insert(
            "plugins_used".into(),
            Value::Array(
                self.plugins_used
                    .iter()
                    .cloned()
                    .map(Value::Object)
                    .collect(),
            ),
        );
        top.insert(
            "filters_used".into(),
            Value::Array(
                self.filters_used
                    .iter()
                    .cloned()
                    .map(Value::Object)
                    .collect(),
            ),
        );
        top.insert("results".into(), Value::Object(results));
        if let Some(at) = &self.generated_at {
            top.insert("generated_at".into(), at.clone().into());
        }
        Value::Object(top)
    }
}

/// Writes the baseline exactly as detect-secrets 1.5 does,
/// `json.dumps(obj, indent=2) + "\n"`, in the order held (see [`Baseline::sort`]).
impl std::fmt::Display for Baseline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut out = String::new();
        write_python_json(&mut out, &self.to_value(), 0);
        out.push('\n');
        f.write_str(&out)
    }
}

/// Python sorts settings by `name.lower()` / `path.lower()`.
fn sort_name(settings: &Map<String, Value>, key: &str) -> String {
    settings
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_lowercase()
}

fn finding_value(filename: &str, finding: &Finding) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), finding.secret_type.clone().into());
    m.insert("filename".into(), filename.into());
    m.insert("hashed_secret".into(), finding.hashed_secret.clone().into());
    m.insert("is_verified".into(), finding.is_verified.into());
    if finding.line_number != 0 {
        m.insert("line_number".into(), finding.line_number.into());
    }
    if let Some(is_secret) = finding.is_secret {
        m.insert("is_secret".into(), is_secret.into());
    }
    Value::Object(m)
}

fn expect_str<'a>(value: &'a Value, at: &str) -> Result<&'a str, BaselineParseError> {
    value
        .as_str()
        .ok_or_else(|| shape(at, format!("expected a string, found {value}")))
}

fn settings_list(
    value: Value,
    section: &str,
    id_key: &str,
) -> Result<Vec<Map<String, Value>>, BaselineParseError> {
    let Value::Array(items) = value else {
        return Err(shape(section, "expected a list"));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::Object(m) if m.get(id_key).is_some_and(Value::is_string) => Ok(m),
            _ => Err(shape(
                format!("{section}[{i}]"),
                format!("expected an object with a string `{id_key}`"),
            )),
        })
        .collect()
}

fn parse_results(value: Value) -> Result<BTreeMap<String, Vec<Finding>>, BaselineParseError> {
    let Value::Object(files) = value else {
        return Err(shape("results", "expected an object keyed by filename"));
    };
    let mut results = BTreeMap::new();
    for (filename, list) in files {
        let Value::Array(items) = list else {
            return Err(shape(format!("results[{filename:?}]"), "expected a list"));
        };
        let findings = items
            .into_iter()
            .enumerate()
            .map(|(i, item)| parse_finding(&filename, i, item))
            .collect::<Result<Vec<_>, _>>()?;
        results.insert(filename, findings);
    }
    Ok(results)
}

fn parse_finding(filename: &str, index: usize, item: Value) -> Result<Finding, BaselineParseError> {
    let at = format!("results[{filename:?}][{index}]");
    let Value::Object(m) = item else {
        return Err(shape(at, "expected an object"));
    };
    let mut finding = Finding {
        secret_type: String::new(),
        hashed_secret: String::new(),
        is_verified: false,
        line_number: 0,
        is_secret: None,
    };
    let (mut has_type, mut has_hash) = (false, false);
    for (key, value) in m {
        let bad = |what: &str| shape(&at, format!("`{key}` must be {what}, found {value}"));
        match key.as_str() {
            "type" => {
                finding.secret_type = value.as_str().ok_or_else(|| bad("a string"))?.to_owned();
                has_type = true;
            }
            "hashed_secret" => {
                finding.hashed_secret = value.as_str().ok_or_else(|| bad("a string"))?.to_owned();
                has_hash = true;
            }
            "filename" => {
                if value.as_str() != Some(filename) {
                    return Err(bad("the filename it is listed under"));
                }
            }
            "is_verified" => {
                finding.is_verified = value.as_bool().ok_or_else(|| bad("a boolean"))?
            }
            "line_number" => {
                finding.line_number = value.as_u64().ok_or_else(|| bad("a line number"))?
            }
            "is_secret" => {
                finding.is_secret = match value {
                    Value::Null => None,
                    Value::Bool(b) => Some(b),
                    _ => return Err(bad("a boolean or null")),
                }
            }
            other => return Err(shape(&at, format!("unknown key `{other}`"))),
        }
    }
    if !has_type || !has_hash {
        return Err(shape(at, "a finding needs `type` and `hashed_secret`"));
    }
    Ok(finding)
}

/// `json.dumps(value, indent=2)` with Python's defaults (`ensure_ascii`,
/// `": "` and `","` separators, empty containers inline, floats as `repr`).
fn write_python_json(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            // Rust's Debug gives the shortest round-trip form with `.0`, like Python's repr.
            Some(f) if n.is_f64() => write!(out, "{f:?}").expect("writing to a String"),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_python_str(out, s),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_python_json(out, item, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push(']');
        }
        Value::Object(m) if m.is_empty() => out.push_str("{}"),
        Value::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                out.push_str(if i == 0 { "\n" } else { ",\n" });
                indent(out, depth + 1);
                write_python_str(out, k);
                out.push_str(": ");
                write_python_json(out, v, depth + 1);
            }
            out.push('\n');
            indent(out, depth);
            out.push('}');
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    out.extend(std::iter::repeat_n("  ", depth));
}

/// Python's `ensure_ascii` escaping: everything outside `' '..='~'` is escaped,
/// astral characters as surrogate pairs.
fn write_python_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(out, "\\u{unit:04x}").expect("writing to a String");
                }
            }
        }
    }
    out.push('"');
}

/// Merges three versions of a baseline at merge time, before the merged tree
/// exists: settings three-way, findings unioned, audit flags three-way per
/// finding, `generated_at` the latest. Line numbers are provisional until
/// [`crate::worktree::regen::regenerate`] runs on the final tree.
///
/// The result does not depend on which side is "ours".
pub fn merge_at_merge_time(
    base: Option<&Baseline>,
    ours: &Baseline,
    theirs: &Baseline,
) -> Result<Baseline, BaselineConflict> {
    let version = [&ours.version, &theirs.version]
        .into_iter()
        .max_by(|a, b| version_parts(a).cmp(&version_parts(b)))
        .expect("two versions")
        .clone();
    let mut merged = Baseline {
        version,
        plugins_used: merge_settings(
            "plugins_used",
            "name",
            base.map(|b| b.plugins_used.as_slice()),
            &ours.plugins_used,
            &theirs.plugins_used,
        )?,
        filters_used: merge_settings(
            "filters_used",
            "path",
            base.map(|b| b.filters_used.as_slice()),
            &ours.filters_used,
            &theirs.filters_used,
        )?,
        results: merge_results(base, ours, theirs)?,
        generated_at: ours.generated_at.clone().max(theirs.generated_at.clone()),
    };
    merged.sort();
    Ok(merged)
}

fn version_parts(version: &str) -> Vec<u64> {
    version.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

/// The classic three-way rule; `Err(())` when both sides changed differently.
fn merge3<T: PartialEq + Clone>(base: &T, ours: &T, theirs: &T) -> Result<T, ()> {
    if ours == theirs || theirs == base {
        Ok(ours.clone())
    } else if ours == base {
        Ok(theirs.clone())
    } else {
        Err(())
    }
}

fn merge_settings(
    section: &'static str,
    id_key: &str,
    base: Option<&[Map<String, Value>]>,
    ours: &[Map<String, Value>],
    theirs: &[Map<String, Value>],
) -> Result<Vec<Map<String, Value>>, BaselineConflict> {
    let by_id = |list: &[Map<String, Value>]| -> BTreeMap<String, Map<String, Value>> {
        list.iter()
            .map(|m| (sort_name(m, id_key), m.clone()))
            .collect()
    };
    let (b, o, t) = (by_id(base.unwrap_or_default()), by_id(ours), by_id(theirs));
    let ids: BTreeSet<&String> = o.keys().chain(t.keys()).collect();
    let mut merged = Vec::new();
    for id in ids {
        let (be, oe, te) = (b.get(id), o.get(id), t.get(id));
        let entry = match merge3(&be, &oe, &te) {
            Ok(entry) => entry.cloned(),
            Err(()) => match (oe, te) {
                (Some(oe), Some(te)) => Some(merge_options(section, id, be, oe, te)?),
                _ => {
                    return Err(BaselineConflict::RemovedAndChanged {
                        section,
                        name: id.clone(),
                    });
                }
            },
        };
        merged.extend(entry);
    }
    Ok(merged)
}

/// Option by option; key order follows ours, then options only theirs has.
fn merge_options(
    section: &'static str,
    name: &str,
    base: Option<&Map<String, Value>>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
) -> Result<Map<String, Value>, BaselineConflict> {
    let mut merged = Map::new();
    for option in ours.keys().chain(theirs.keys()) {
        if merged.contains_key(option) {
            continue;
        }
        let b = base.and_then(|m| m.get(option));
        let value = merge3(&b, &ours.get(option), &theirs.get(option)).map_err(|()| {
            BaselineConflict::Setting {
                section,
                name: name.to_owned(),
                option: option.clone(),
            }
        })?;
        if let Some(value) = value {
            merged.insert(option.clone(), value.clone());
        }
    }
    Ok(merged)
}

/// A finding's identity plus which occurrence of that identity in its file it
/// is, so hand-edited baselines listing a key twice keep both entries.
type OccurrenceKey = (FindingKey, usize);

fn by_occurrence(baseline: &Baseline) -> BTreeMap<OccurrenceKey, &Finding> {
    let mut seen: BTreeMap<FindingKey, usize> = BTreeMap::new();
    let mut sorted: Vec<(FindingKey, &Finding)> = baseline.findings().collect();
    sorted.sort_by(|(ka, a), (kb, b)| {
        (&ka.filename, a.line_number).cmp(&(&kb.filename, b.line_number))
    });
    sorted
        .into_iter()
        .map(|(key, finding)| {
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            ((key, *n), finding)
        })
        .collect()
}

fn merge_results(
    base: Option<&Baseline>,
    ours: &Baseline,
    theirs: &Baseline,
) -> Result<BTreeMap<String, Vec<Finding>>, BaselineConflict> {
    let b = base.map(by_occurrence).unwrap_or_default();
    let (o, t) = (by_occurrence(ours), by_occurrence(theirs));
    let keys: BTreeSet<&OccurrenceKey> = o.keys().chain(t.keys()).collect();
    let mut results: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for key in keys {
        let merged = merge_finding(
            &key.0,
            b.get(key).copied(),
            o.get(key).copied(),
            t.get(key).copied(),
        )?;
        results
            .entry(key.0.filename.clone())
            .or_default()
            .push(merged);
    }
    Ok(results)
}

/// A side that lacks the finding has no opinion on its flags: the secret may
/// simply have moved in that side's tree.
fn merge_finding(
    key: &FindingKey,
    base: Option<&Finding>,
    ours: Option<&Finding>,
    theirs: Option<&Finding>,
) -> Result<Finding, BaselineConflict> {
    let present = ours.or(theirs).expect("finding present on a side");
    let base_flags = base.map_or((None, false), |f| (f.is_secret, f.is_verified));
    let flags = |side: Option<&Finding>| side.map_or(base_flags, |f| (f.is_secret, f.is_verified));
    let (bf, of, tf) = (base_flags, flags(ours), flags(theirs));
    let show = |v: Option<bool>| v.map_or("null".to_owned(), |b| b.to_string());
    let is_secret = merge3(&bf.0, &of.0, &tf.0).map_err(|()| BaselineConflict::Flag {
        key: Box::new(key.clone()),
        flag: "is_secret",
        ours: show(of.0),
        theirs: show(tf.0),
    })?;
    // A boolean cannot change in two different ways, so `is_verified` never conflicts.
    let is_verified = if of.1 == bf.1 { tf.1 } else { of.1 };
    // Lines are provisional; the smaller of two moved lines keeps the result symmetric.
    let line = |side: Option<&Finding>| side.map_or(0, |f| f.line_number);
    let line_number = match (ours, theirs) {
        (Some(o), Some(t)) => merge3(
            &base.map_or(0, |f| f.line_number),
            &o.line_number,
            &t.line_number,
        )
        .unwrap_or(o.line_number.min(t.line_number)),
        _ => line(ours).max(line(theirs)),
    };
    Ok(Finding {
        secret_type: present.secret_type.clone(),
        hashed_secret: present.hashed_secret.clone(),
        is_verified,
        line_number,
        is_secret,
    })
}
