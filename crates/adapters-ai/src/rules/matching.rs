//! What each rule matches: patterns by language, and the checks that read an added line with them.

use std::sync::LazyLock;

use regex::Regex;

use super::{Language, Line, Rule, rule};

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}

macro_rules! pattern {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| re($pattern));
    };
}

/// Provider credentials with a recognisable shape.
pub(super) static TOKENS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"\b(AKIA|ASIA)[0-9A-Z]{16}\b",
        r"\b(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b",
        r"\bgithub_pat_[A-Za-z0-9_]{60,}\b",
        r"\bglpat-[A-Za-z0-9_-]{20,}\b",
        r"\bxox[baprs]-[A-Za-z0-9-]{10,}\b",
        r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
        r"\b(sk|rk)_live_[A-Za-z0-9]{20,}\b",
        r"\bAIza[0-9A-Za-z_-]{35}\b",
        r"\bsk-ant-(api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,}",
        r"\bsk-(proj|svcacct|admin)-[A-Za-z0-9_-]{40,}",
        r"\bsk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b",
        r"\bnpm_[A-Za-z0-9]{36}\b",
        r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b",
        r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}",
        r"\bdop_v1_[a-f0-9]{64}\b",
        r"\bshpat_[a-fA-F0-9]{32}\b",
    ]
    .into_iter()
    .map(re)
    .collect()
});
// A key's first line, alone on its line or followed by the key itself (not a parser's constant).
pattern!(
    PRIVATE_KEY,
    r#"(^\s*["'`]?|\\n|^[^"'`]*[:=]\s*(r#?)?["'`|>]{0,3})-----BEGIN ((RSA|EC|DSA|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY( BLOCK)?-----(\s*$|\\n|[A-Za-z0-9+/]{16})"#
);
pattern!(
    SECRET_ASSIGNMENT,
    r#"(?i)\b[a-z0-9_]*(secret|password|passwd|token|api_?key|access_?key|private_?key)[a-z0-9_]*\b["']?\s*(:=|[:=])\s*["']([^"'\s]{12,})["']"#
);
pattern!(
    URL_CREDENTIALS,
    r#"\b[a-z][a-z0-9+.-]{1,20}://([^/\s:@'"`]{1,64}):([^/\s@'"`]{1,128})@([^\s/:'"`]+)"#
);
pattern!(CONFLICT_SIDE, r"^(<{7}|>{7})( |$)");
pattern!(CONFLICT_MIDDLE, r"^={7}$");
pattern!(TODO, r"(//|#|/\*|--|<!--)\s*(TODO|FIXME|XXX)\b");
pattern!(UNWRAP, r"\.unwrap\(\)");
pattern!(DBG, r"\bdbg!\(");
pattern!(CONSOLE, r"\bconsole\.(log|debug)\(");
pattern!(JS_DEBUGGER, r"^\s*debugger\s*;?\s*$");
pattern!(PY_PRINT, r"^\s*print\(");
pattern!(
    PDB,
    r"\b(import i?pdb\b|i?pdb\.set_trace\(\))|^\s*breakpoint\(\)"
);
pattern!(PY_VERIFY_OFF, r"\bverify\s*=\s*False\b");
pattern!(
    PY_UNVERIFIED_CONTEXT,
    r"\bssl\._create_unverified_context\(|\bcert_reqs\s*=\s*ssl\.CERT_NONE\b|\.verify_mode\s*=\s*ssl\.CERT_NONE\b"
);
pattern!(
    RUST_VERIFY_OFF,
    r"\.danger_accept_invalid_(certs|hostnames)\(\s*true\s*\)"
);
pattern!(JS_VERIFY_OFF, r"\brejectUnauthorized\s*:\s*false\b");
pattern!(
    NODE_TLS_OFF,
    r#"NODE_TLS_REJECT_UNAUTHORIZED\s*=\s*["']?0\b"#
);
pattern!(GO_VERIFY_OFF, r"\bInsecureSkipVerify\s*[:=]\s*true\b");
pattern!(
    VERIFY_OPTION,
    r"(?i)^\s*(\}\s*)?(else\s+)?(el)?if\b.*\b(not\s+)?[a-z_.]*(verify|insecure)[a-z_]*\b"
);
pattern!(
    PY_SHELL_TRUE,
    r"\bsubprocess\.(run|call|check_call|check_output|Popen|getoutput|getstatusoutput)\("
);
pattern!(
    PY_OS_SHELL,
    r#"\bos\.(system|popen)\(\s*(f["']|("[^"]*"|'[^']*')\s*(%|\.format\(|\+)|[A-Za-z_][A-Za-z0-9_.]*\s*\+)"#
);
pattern!(
    PY_FORMATTED,
    r#"(\bf["']|("[^"]*"|'[^']*')\s*(%\s*[(A-Za-z_]|\.format\(|\+\s*[A-Za-z_]))"#
);
pattern!(JS_EXEC, r"\b(exec|execSync)\(\s*`[^`]*\$\{");
pattern!(
    JS_EXEC_CONCAT,
    r#"\b(exec|execSync)\(\s*("[^"]*"|'[^']*')\s*\+"#
);
pattern!(
    GO_SHELL,
    r#"\bexec\.Command(Context)?\((ctx,\s*)?"(sh|bash|/bin/sh|/bin/bash)",\s*"-c",\s*(fmt\.Sprintf\(|"[^"]*"\s*\+)"#
);
pattern!(
    RUST_SHELL,
    r#"Command::new\("(sh|bash|/bin/sh|/bin/bash)"\).*\.arg\("-c"\).*\.arg\(\s*&?format!\("#
);
pattern!(
    SQL_WORDS,
    r"(?i)\b(select\s.+\sfrom|insert\s+into|update\s+\S+\s+set|delete\s+from|drop\s+table|where\s+\S+\s*(=|like|in))"
);
pattern!(
    PY_SQL_EXEC,
    r#"\.(execute|executemany|executescript|raw|exec_driver_sql)\(\s*(f["']|("[^"]*"|'[^']*')\s*(%\s*[(A-Za-z_]|\.format\(|\+\s*[A-Za-z_]))"#
);
pattern!(
    JS_SQL_EXEC,
    r#"\.(query|execute|raw|unsafe|\$queryRawUnsafe|\$executeRawUnsafe)\(\s*(`[^`]*\$\{|("[^"]*"|'[^']*')\s*\+\s*[A-Za-z_])"#
);
pattern!(
    GO_SQL_EXEC,
    r#"\.(Query|QueryRow|Exec|QueryContext|QueryRowContext|ExecContext|Select|Get)\(\s*(ctx,\s*)?(fmt\.Sprintf\(|"[^"]*"\s*\+\s*[A-Za-z_])"#
);
pattern!(
    RUST_SQL_EXEC,
    r"\b(query|query_as|query_scalar|execute|execute_unprepared|prepare|query_row)\(\s*&?format!\("
);
pattern!(
    PY_YAML_LOAD,
    r"\byaml\.(load|load_all|unsafe_load|full_load)\("
);
pattern!(PY_SAFE_LOADER, r"Loader\s*=\s*(yaml\.)?C?SafeLoader\b");
pattern!(
    PY_PICKLE,
    r"\b(c?[Pp]ickle|dill|jsonpickle|shelve|marshal)\.(loads?|decode|open|Unpickler)\("
);
pattern!(
    JS_FOCUS,
    r"\b(it|describe|test|context|suite)\.only\(|(^|[^.\w$])(fit|fdescribe)\("
);
pattern!(
    JS_SKIP,
    r"\b(it|describe|test|context|suite)\.skip\(|\b(xit|xdescribe|xtest)\("
);
pattern!(RUST_IGNORE, r"^\s*#\[ignore\]");
pattern!(PY_SKIP, r"^\s*@pytest\.mark\.skip\s*(\(\s*\))?\s*$");
pattern!(GO_SKIP, r"\bt\.(Skip|SkipNow)\(\)");
pattern!(
    RUST_LENGTH_CHECK,
    r"\b(len\(\)\s*(==|>=|>)\s*[1-9]|!\s*[A-Za-z_][A-Za-z0-9_.]*\.is_empty\(\)|is_some\(\)|is_ok\(\))"
);
pattern!(
    RUST_INFALLIBLE_UNWRAP,
    r##"\.(lock|read|write)\(\)\.(unwrap\(\)|expect\()|\bfn (unwrap|expect)\b|NonZero[A-Za-z0-9]*::new\(\s*[1-9][0-9_]*[a-z0-9]*\s*\)\.unwrap\(\)|\b(Regex|RegexSet|Url|Version|Glob)::(new|parse)\(\s*(r#*)?"[^"]*"#*\s*\)\.unwrap\(\)"##
);

/// Verification turned off (`matched`) outside test code, and not as the branch of a condition on
/// the caller's own option (`if not verify:`, `elif verify is False:`, `if insecure {`): an HTTP
/// library implementing its `verify=False` is not turning verification off.
fn tls_off(line: &Line<'_>, matched: bool) -> bool {
    matched && !line.test_code && !line.above.iter().any(|a| VERIFY_OPTION.is_match(a))
}

/// Whether a line is only a comment (in the languages nectr knows).
fn is_comment(language: Language, text: &str) -> bool {
    let t = text.trim_start();
    match language {
        Language::Python => t.starts_with('#'),
        Language::Rust | Language::Script | Language::Go => {
            t.starts_with("//") || t.starts_with("/*") || t.starts_with("* ") || t == "*"
        }
        _ => false,
    }
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in s.chars() {
        *counts.entry(c).or_insert(0usize) += 1;
    }
    let n = s.chars().count() as f64;
    counts
        .values()
        .map(|&k| -(k as f64 / n) * (k as f64 / n).log2())
        .sum()
}

/// A value that stands for a secret rather than being one.
fn is_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    [
        "changeme",
        "change_me",
        "example",
        "placeholder",
        "your_",
        "your-",
        "xxxx",
        "****",
        "${",
        "{{",
        "<",
        "%s",
        "dummy",
        "redacted",
        "secret",
        "password",
        "token",
        "test",
        "fake",
        "mock",
        "sample",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || value
            .chars()
            .all(|c| c == value.chars().next().unwrap_or(c))
}

/// The rule `line` breaks, if any: the most severe first.
pub fn check(line: &Line<'_>) -> Option<&'static Rule> {
    let id = secret(line)
        .or_else(|| conflict(line))
        .or_else(|| {
            (!line.in_text && !is_comment(line.language, line.text))
                .then(|| code(line))
                .flatten()
        })
        .or_else(|| TODO.is_match(line.text).then_some("todo"))?;
    Some(rule(id))
}

fn secret(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    if TOKENS
        .iter()
        .any(|t| t.find(text).is_some_and(|m| !is_placeholder(m.as_str())))
    {
        return Some("secret-token");
    }
    if PRIVATE_KEY.is_match(text) {
        return Some("secret-private-key");
    }
    if let Some(caps) = URL_CREDENTIALS.captures(text) {
        let user = caps.get(1).map_or("", |m| m.as_str());
        let password = caps.get(2).map_or("", |m| m.as_str());
        let host = caps.get(3).map_or("", |m| m.as_str()).to_ascii_lowercase();
        let local = [
            "localhost",
            "127.0.0.1",
            "0.0.0.0",
            "example.com",
            "example.org",
            "host",
        ]
        .iter()
        .any(|h| host == *h || host.ends_with(&format!(".{h}")));
        if !local
            && password != user
            && password.len() >= 8
            && !is_placeholder(password)
            && entropy(password) >= 3.0
        {
            return Some("secret-url-credentials");
        }
    }
    // A test's fixture values (`newToken: 'refreshed-token-123'`) are not secrets; a provider's
    // token is, wherever it is (above).
    if line.test_code {
        return None;
    }
    let value = SECRET_ASSIGNMENT.captures(text)?.get(3)?.as_str();
    // A secret has digits and letters; a URL, a path or a name is not one.
    let shaped = value.bytes().any(|b| b.is_ascii_digit())
        && value.bytes().any(|b| b.is_ascii_alphabetic())
        && !value.contains("://")
        && !value.starts_with('/');
    (shaped && !is_placeholder(value) && entropy(value) >= 3.5).then_some("secret-assignment")
}

fn conflict(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    // `=======` alone underlines a heading in Markdown and reStructuredText.
    (CONFLICT_SIDE.is_match(text)
        || (CONFLICT_MIDDLE.is_match(text) && line.language != Language::Prose))
        .then_some("conflict-marker")
}

/// The rules of code (not comments), by language.
fn code(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    match line.language {
        Language::Python => python(line),
        Language::Script => script(line),
        Language::Go => go(line),
        Language::Rust => rust(line),
        Language::Prose | Language::Other => None,
    }
    .or_else(|| {
        // A test's shape is known wherever it is written (skips live in test code).
        match line.language {
            Language::Rust if RUST_IGNORE.is_match(text) => Some("skipped-test"),
            Language::Python if PY_SKIP.is_match(text) => Some("skipped-test"),
            Language::Go if line.test_code && GO_SKIP.is_match(text) => Some("skipped-test"),
            _ => None,
        }
    })
}

fn python(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    if tls_off(
        line,
        PY_VERIFY_OFF.is_match(text) || PY_UNVERIFIED_CONTEXT.is_match(text),
    ) {
        return Some("tls-verification-off");
    }
    if (PY_SHELL_TRUE.is_match(text) && text.contains("shell=True") && PY_FORMATTED.is_match(text))
        || PY_OS_SHELL.is_match(text)
    {
        return Some("shell-injection");
    }
    if PY_SQL_EXEC.is_match(text) && SQL_WORDS.is_match(text) {
        return Some("sql-injection");
    }
    if (PY_YAML_LOAD.is_match(text) && !PY_SAFE_LOADER.is_match(text)) || PY_PICKLE.is_match(text) {
        return Some("unsafe-deserialization");
    }
    if !line.test_code && PDB.is_match(text) {
        return Some("debug-leftover");
    }
    if !line.test_code && !line.script && PY_PRINT.is_match(text) {
        return Some("debug-leftover");
    }
    None
}

fn script(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    if tls_off(
        line,
        JS_VERIFY_OFF.is_match(text) || NODE_TLS_OFF.is_match(text),
    ) {
        return Some("tls-verification-off");
    }
    if JS_EXEC.is_match(text) || JS_EXEC_CONCAT.is_match(text) {
        return Some("shell-injection");
    }
    if JS_SQL_EXEC.is_match(text) && SQL_WORDS.is_match(text) {
        return Some("sql-injection");
    }
    if JS_FOCUS.is_match(text) {
        return Some("focused-test");
    }
    if line.test_code && JS_SKIP.is_match(text) {
        return Some("skipped-test");
    }
    if JS_DEBUGGER.is_match(text) || (!line.test_code && !line.script && CONSOLE.is_match(text)) {
        return Some("debug-leftover");
    }
    None
}

fn go(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    if tls_off(line, GO_VERIFY_OFF.is_match(text)) {
        return Some("tls-verification-off");
    }
    if GO_SHELL.is_match(text) {
        return Some("shell-injection");
    }
    if GO_SQL_EXEC.is_match(text) && SQL_WORDS.is_match(text) {
        return Some("sql-injection");
    }
    None
}

fn rust(line: &Line<'_>) -> Option<&'static str> {
    let text = line.text;
    if tls_off(line, RUST_VERIFY_OFF.is_match(text)) {
        return Some("tls-verification-off");
    }
    if RUST_SHELL.is_match(text) {
        return Some("shell-injection");
    }
    if RUST_SQL_EXEC.is_match(text) && SQL_WORDS.is_match(text) {
        return Some("sql-injection");
    }
    if DBG.is_match(text) {
        return Some("debug-leftover");
    }
    if !line.test_code && !line.own_unwrap && UNWRAP.is_match(text) && !unwrap_cannot_fail(line) {
        return Some("rust-unwrap");
    }
    None
}

/// An `unwrap()` whose receiver cannot fail, or is by convention unwrapped: a poisoned lock's
/// (`lock().unwrap()`), a method of that name being defined, a non-zero literal, a constant
/// pattern or URL parsed from a literal (`Regex::new(r"…").unwrap()`), or an element
/// taken right under a check that it is there (`len() == 1`, `!is_empty()`, `is_some()`).
fn unwrap_cannot_fail(line: &Line<'_>) -> bool {
    if RUST_INFALLIBLE_UNWRAP.is_match(line.text) {
        return true;
    }
    let takes_element = [
        ".pop().unwrap()",
        ".first().unwrap()",
        ".last().unwrap()",
        ".next().unwrap()",
        ".pop_front().unwrap()",
        ".pop_back().unwrap()",
    ]
    .iter()
    .any(|t| line.text.contains(t))
        || line.text.contains(".unwrap()") && line.above.iter().any(|a| a.contains("is_some()"));
    takes_element && line.above.iter().any(|a| RUST_LENGTH_CHECK.is_match(a))
}
