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

use tree_sitter::{Node, Parser, Tree};

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
}

impl FileSyntax {
    pub fn is_test(&self, line: u32) -> bool {
        self.test.iter().any(|r| r.contains(&line))
    }

    /// Whether `line` lies inside a comment or a string, with no code of its own.
    pub fn is_text(&self, line: u32) -> bool {
        self.text.iter().any(|r| r.contains(&line))
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

/// Parses `source` as the language of `path`. `None` when nectr has no grammar for it, the file is
/// too large, or the parse is mostly errors (then the lines are checked alone).
pub fn parse(path: &str, source: &str) -> Option<FileSyntax> {
    if source.len() > MAX_PARSED_BYTES {
        return None;
    }
    let grammar = grammar(path)?;
    let mut parser = Parser::new();
    parser.set_language(&grammar).ok()?;
    let tree = parser.parse(source, None)?;
    if too_broken(&tree) {
        return None;
    }
    let mut syntax = FileSyntax::default();
    let language = Language::of(path);
    let bytes = source.as_bytes();
    walk(tree.root_node(), &mut |node| {
        if is_text_node(node.kind()) {
            let (first, last) = lines(node);
            if last > first + 1 {
                syntax.text.push(first + 1..=last - 1);
            }
        }
        if is_test_node(language, node, bytes) {
            let (first, last) = lines(node);
            syntax.test.push(first..=last);
            return false;
        }
        true
    });
    Some(syntax)
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
fn lines(node: Node<'_>) -> (u32, u32) {
    let line = |row: usize| u32::try_from(row + 1).unwrap_or(u32::MAX);
    (
        line(node.start_position().row),
        line(node.end_position().row),
    )
}

/// Visits `node` and its descendants in order; `visit` answers whether to descend.
fn walk<'t>(node: Node<'t>, visit: &mut impl FnMut(Node<'t>) -> bool) {
    let mut cursor = node.walk();
    let mut descend = visit(node);
    loop {
        if descend && cursor.goto_first_child() {
            descend = visit(cursor.node());
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                descend = visit(cursor.node());
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
        }
    }
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
