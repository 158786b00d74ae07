//! The whole file a finding sits in, read with a real parser (tree-sitter's grammars for Rust,
//! Python, JavaScript, TypeScript and Go): which lines are test code, and which lie wholly inside a
//! comment or a string (a docstring, a block comment, a multi-line literal), where no rule of code
//! applies.
//!
//! Test code by language:
//! - Rust: an item under `#[cfg(test)]` (the `mod tests` above a hunk, wherever it opens) and a
//!   function under `#[test]` or `#[…::test]`;
//! - Python: a `test_*` function and a `Test*` class;
//! - JavaScript and TypeScript: the callbacks of `describe`, `it` and `test` (and their `.only`,
//!   `.skip` and `.each` forms);
//! - Go: a `Test*`, `Benchmark*`, `Fuzz*` or `Example*` function.

use std::ops::RangeInclusive;
use std::sync::LazyLock;

use regex::Regex;

use tree_sitter::{Node, Parser, Point, Tree};

use crate::rules::Language;

/// Files larger than this are not parsed (their lines are checked alone).
pub const MAX_PARSED_BYTES: usize = 1024 * 1024;

/// What the parser says of a file's lines (1-based, as in a diff).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSyntax {
    /// Line ranges of test code.
    pub test: Vec<RangeInclusive<u32>>,
    /// Line ranges wholly inside a comment or a string literal (their first and last lines are
    /// not: code may share them).
    pub text: Vec<RangeInclusive<u32>>,
    /// Line ranges of a script's own code, where printing is what it is for: a Python module's
    /// `if __name__ == "__main__":` block, or a whole JavaScript or TypeScript file that exports
    /// nothing (an entry point, not a module).
    pub script: Vec<RangeInclusive<u32>>,
    /// The file defines a function or method named `unwrap` or `expect` (Rust): its own type's
    /// `.unwrap()` may be that one, which nothing but types could tell from `Option`'s.
    pub defines_unwrap: bool,
}

impl FileSyntax {
    pub fn is_test(&self, line: u32) -> bool {
        self.test.iter().any(|r| r.contains(&line))
    }

    /// Whether `line` lies inside a comment or a string, with no code of its own.
    pub fn is_text(&self, line: u32) -> bool {
        self.text.iter().any(|r| r.contains(&line))
    }

    pub fn is_script(&self, line: u32) -> bool {
        self.script.iter().any(|r| r.contains(&line))
    }
}

/// The grammar for `path`, by its extension; `None` for a language nectr does not parse.
fn grammar(path: &str) -> Option<tree_sitter::Language> {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    Some(match ext {
        "rs" => tree_sitter_rust::LANGUAGE.into(),
        "py" | "pyi" => tree_sitter_python::LANGUAGE.into(),
        "js" | "jsx" | "mjs" | "cjs" => tree_sitter_javascript::LANGUAGE.into(),
        "ts" | "mts" | "cts" => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
        "tsx" => tree_sitter_typescript::LANGUAGE_TSX.into(),
        "go" => tree_sitter_go::LANGUAGE.into(),
        _ => return None,
    })
}

/// Parses `source` as the language of `path` and tells, for each of `lines` (the added ones),
/// whether it is test code, a script's, or inside a comment or string: only the syntax nodes
/// around those lines are looked at, not the whole tree. `None` when nectr has no grammar for it,
/// the file is too large, or the parse is mostly errors (then the lines are checked alone).
pub fn parse(path: &str, source: &str, lines: &[u32]) -> Option<FileSyntax> {
    if source.len() > MAX_PARSED_BYTES {
        return None;
    }
    let grammar = grammar(path)?;
    let mut parser = Parser::new();
    parser.set_language(&grammar).ok()?;
    // Only the part of the file around the lines asked about is parsed: from the top-level item
    // the first one is in (with its attributes, decorators and comments) down to the first
    // top-level line after the last one. What encloses a line opens within that part. A window
    // that cuts a construct open (an error in its tree) is given up for the whole file.
    let first = lines.iter().min().copied().unwrap_or(1) as usize;
    let last = lines.iter().max().copied().unwrap_or(0) as usize;
    let (skipped, start) = item_start(source, first);
    let end = cut_after(source, last).max(start);
    let mut parsed = (skipped, &source[start..end]);
    let mut tree = parser.parse(parsed.1, None)?;
    if parsed.1.len() < source.len() && tree.root_node().has_error() {
        parsed = (0, source);
        tree = parser.parse(source, None)?;
    }
    if too_broken(&tree) {
        return None;
    }
    let (offset, text) = parsed;
    let offset = u32::try_from(offset).unwrap_or(u32::MAX);
    let mut syntax = FileSyntax::default();
    let language = Language::of(path);
    let bytes = text.as_bytes();
    let root = tree.root_node();
    let source_lines: Vec<&str> = source.lines().collect();
    for &line in lines {
        let Some(row) = line.checked_sub(1 + offset) else {
            continue;
        };
        let Some(line_text) = source_lines.get(line as usize - 1) else {
            continue;
        };
        let column = line_text.len() - line_text.trim_start().len();
        let at = Point::new(row as usize, column);
        let mut node = root.descendant_for_point_range(at, at);
        while let Some(n) = node {
            let (first, last) = lines_of(n);
            let (first, last) = (first + offset, last + offset);
            if is_text_node(n.kind()) && first < line && line < last {
                add(&mut syntax.text, first + 1..=last - 1);
            }
            if language == Language::Python && is_main_block(n, bytes) {
                add(&mut syntax.script, first..=last);
            }
            if is_test_node(language, n, bytes) {
                add(&mut syntax.test, first..=last);
            }
            node = n.parent();
        }
    }
    // Read from the whole text, wherever in the file they are.
    match language {
        Language::Rust => syntax.defines_unwrap = DEFINES_UNWRAP.is_match(source),
        Language::Script if !EXPORTS.is_match(source) => syntax.script.push(1..=u32::MAX),
        _ => {}
    }
    Some(syntax)
}

/// A function or method named `unwrap` or `expect` being defined.
static DEFINES_UNWRAP: LazyLock<Regex> = LazyLock::new(|| regex(r"\bfn\s+(unwrap|expect)\s*[<(]"));

/// A module's exports: ES (`export …` at a line's start) or CommonJS (`module.exports`, `exports.x`).
static EXPORTS: LazyLock<Regex> =
    LazyLock::new(|| regex(r"(?m)^\s*export\s|\bmodule\.exports\b|^\s*exports\.[A-Za-z_$]"));

#[allow(clippy::expect_used)] // constant patterns, checked by the tests
fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}

fn add(ranges: &mut Vec<RangeInclusive<u32>>, range: RangeInclusive<u32>) {
    if !ranges.contains(&range) {
        ranges.push(range);
    }
}

/// Where to start parsing for lines from `first` (1-based): the start of the nearest line at or
/// above it that begins a top-level item, with the attributes, decorators and comments just above
/// it. Returns the lines skipped and the byte offset.
fn item_start(source: &str, first: usize) -> (usize, usize) {
    let lines: Vec<&str> = source.split_inclusive('\n').take(first).collect();
    let Some(mut start) = lines.iter().rposition(|l| starts_item(l)) else {
        return (0, 0);
    };
    while start > 0 && lines[start - 1].starts_with(['#', '@', '/', '*']) {
        start -= 1;
    }
    (start, lines[..start].iter().map(|l| l.len()).sum())
}

/// A line at column 0 that neither closes nor continues something: a new top-level item.
fn starts_item(line: &str) -> bool {
    line.chars().next().is_some_and(|c| {
        !c.is_whitespace() && !matches!(c, '}' | ')' | ']' | '*' | '"' | '\'' | '`' | '/')
    })
}

/// Where to stop parsing for lines up to `last` (1-based): the start of the first line after it that
/// begins a new top-level item (at column 0, not closing or continuing something), else the end.
fn cut_after(source: &str, last: usize) -> usize {
    let mut offset = 0;
    for (i, line) in source.split_inclusive('\n').enumerate() {
        if i >= last && starts_item(line) {
            return offset;
        }
        offset += line.len();
    }
    source.len()
}

/// `if __name__ == "__main__":`.
fn is_main_block(node: Node<'_>, source: &[u8]) -> bool {
    node.kind() == "if_statement"
        && node
            .child_by_field_name("condition")
            .map(|c| text(c, source).replace([' ', '\''], "").replace('"', ""))
            .is_some_and(|c| c == "__name__==__main__")
}

/// More than a tenth of the file's top-level items are errors: the grammar does not understand it.
fn too_broken(tree: &Tree) -> bool {
    let root = tree.root_node();
    let count = usize::try_from(root.child_count())
        .unwrap_or(usize::MAX)
        .max(1);
    let mut cursor = root.walk();
    let errors = root
        .children(&mut cursor)
        .filter(|c| c.is_error() || c.is_missing())
        .count();
    errors * 10 > count
}

/// A node's first and last lines, 1-based.
fn lines_of(node: Node<'_>) -> (u32, u32) {
    let line = |row: usize| u32::try_from(row + 1).unwrap_or(u32::MAX);
    (
        line(node.start_position().row),
        line(node.end_position().row),
    )
}

fn is_text_node(kind: &str) -> bool {
    matches!(
        kind,
        "comment"
            | "block_comment"
            | "line_comment"
            | "string"
            | "string_literal"
            | "raw_string_literal"
            | "template_string"
            | "interpreted_string_literal"
    )
}

fn text<'s>(node: Node<'_>, source: &'s [u8]) -> &'s str {
    node.utf8_text(source).unwrap_or("")
}

/// Whether `node` starts test code of its own.
fn is_test_node(language: Language, node: Node<'_>, source: &[u8]) -> bool {
    match language {
        Language::Rust => rust_test(node, source),
        Language::Python => python_test(node, source),
        Language::Script => script_test(node, source),
        Language::Go => go_test(node, source),
        Language::Prose | Language::Other => false,
    }
}

/// An item preceded by `#[cfg(test)]`, or a function by `#[test]`/`#[…::test]`: the attributes
/// are the item's previous siblings in Rust's grammar.
fn rust_test(node: Node<'_>, source: &[u8]) -> bool {
    if !matches!(
        node.kind(),
        "mod_item" | "function_item" | "impl_item" | "use_declaration" | "struct_item"
    ) {
        return false;
    }
    let mut previous = node.prev_sibling();
    while let Some(attribute) =
        previous.filter(|p| p.kind() == "attribute_item" || p.kind().ends_with("comment"))
    {
        let text = text(attribute, source).replace(' ', "");
        if text.starts_with("#[cfg(test")
            || text == "#[test]"
            || (text.starts_with("#[") && text.contains("::test"))
        {
            return true;
        }
        previous = attribute.prev_sibling();
    }
    false
}

fn python_test(node: Node<'_>, source: &[u8]) -> bool {
    let name = |n: Node<'_>| n.child_by_field_name("name").map(|n| text(n, source));
    match node.kind() {
        "function_definition" => name(node).is_some_and(|n| n.starts_with("test_")),
        "class_definition" => name(node).is_some_and(|n| n.starts_with("Test")),
        _ => false,
    }
}

/// A call of `describe`/`it`/`test` (or `.only`, `.skip`, `.each(…)` of them).
fn script_test(node: Node<'_>, source: &[u8]) -> bool {
    if node.kind() != "call_expression" {
        return false;
    }
    let Some(callee) = node.child_by_field_name("function") else {
        return false;
    };
    let callee = text(callee, source);
    let base = callee.split(['.', '(']).next().unwrap_or("");
    matches!(
        base,
        "describe" | "it" | "test" | "suite" | "context" | "fit" | "fdescribe" | "xit"
    )
}

fn go_test(node: Node<'_>, source: &[u8]) -> bool {
    node.kind() == "function_declaration"
        && node
            .child_by_field_name("name")
            .map(|n| text(n, source))
            .is_some_and(|n| {
                ["Test", "Benchmark", "Fuzz", "Example"]
                    .iter()
                    .any(|p| n.starts_with(p))
            })
}

#[cfg(test)]
#[path = "syntax_tests.rs"]
mod tests;
