//! What the parser makes of files in each language.

use super::FileSyntax;

/// Every line of `source` asked about.
fn parse(path: &str, source: &str) -> Option<FileSyntax> {
    let lines: Vec<u32> = (1..=source.lines().count() as u32).collect();
    super::parse(path, source, &lines)
}

#[test]
fn a_rust_test_module_and_test_functions_are_test_code() {
    let source = "\
fn real() -> u32 {
    1
}

#[cfg(test)]
// the tests
mod tests {
    use super::*;

    fn helper() -> u32 {
        real()
    }
}

#[tokio::test]
async fn loose() {
    run().await.unwrap();
}
";
    let syntax = parse("src/lib.rs", source).unwrap();
    assert!(!syntax.is_test(2));
    // The module opens at line 7 and its helper at 10: both test code, wherever a hunk starts.
    assert!(syntax.is_test(7) && syntax.is_test(10) && syntax.is_test(12));
    assert!(syntax.is_test(16) && syntax.is_test(18));
}

#[test]
fn python_test_functions_and_classes_are_test_code_and_docstrings_are_text() {
    let source = "\
def load(path):
    \"\"\"Loads it.

    cursor.execute(\"SELECT * FROM t WHERE id = \" + x)
    \"\"\"
    return open(path).read()


def test_load():
    print(load('a'))


class TestLoader:
    def check(self):
        print(1)
";
    let syntax = parse("app/loader.py", source).unwrap();
    assert!(syntax.is_text(3) && syntax.is_text(4));
    assert!(!syntax.is_text(6) && !syntax.is_test(6));
    assert!(syntax.is_test(10));
    assert!(syntax.is_test(15));
}

#[test]
fn javascript_and_typescript_test_blocks_are_test_code() {
    let source = "\
export function total(items) {
  return items.length;
}

describe('total', () => {
  it.each([1, 2])('counts %i', (n) => {
    console.log(n);
  });
});
";
    for path in ["src/total.js", "src/total.ts", "src/total.tsx"] {
        let syntax = parse(path, source).unwrap();
        assert!(!syntax.is_test(2), "{path}");
        assert!(syntax.is_test(7), "{path}");
    }
}

#[test]
fn go_test_functions_are_test_code() {
    let source = "\
package store

func Open() {}

func TestOpen(t *testing.T) {
\tt.Skip(\"later\")
}
";
    let syntax = parse("store/store.go", source).unwrap();
    assert!(!syntax.is_test(3));
    assert!(syntax.is_test(6));
}

#[test]
fn unknown_languages_and_garbage_are_not_parsed() {
    assert!(parse("README.md", "# title").is_none());
    assert!(parse("src/a.rs", &")))] }}} ((( fn ".repeat(50)).is_none());
    assert!(parse("src/a.rs", &"x".repeat(super::MAX_PARSED_BYTES + 1)).is_none());
}

#[test]
fn a_rust_file_defining_its_own_unwrap_says_so() {
    let own = "impl Query {\n    fn unwrap(self) -> Query {\n        self\n    }\n}\n";
    assert!(parse("src/q.rs", own).unwrap().defines_unwrap);
    let call = "fn f(x: Option<u8>) -> u8 {\n    x.unwrap()\n}\n";
    assert!(!parse("src/q.rs", call).unwrap().defines_unwrap);
}

#[test]
fn a_python_main_block_and_a_script_that_exports_nothing_are_scripts() {
    let module = "def f():\n    return 1\n\n\nif __name__ == \"__main__\":\n    print(f())\n";
    let syntax = parse("rich/cells.py", module).unwrap();
    assert!(!syntax.is_script(2) && syntax.is_script(6));
    let entry = "import z from 'zod';\nconsole.log(z.string().parse('a'));\n";
    assert!(
        parse("packages/treeshake/a.ts", entry)
            .unwrap()
            .is_script(2)
    );
    let esm = "export function f() {\n  console.log(1);\n}\n";
    assert!(!parse("src/f.ts", esm).unwrap().is_script(2));
    let cjs = "function f() {\n  console.log(1);\n}\nmodule.exports = f;\n";
    assert!(!parse("lib/f.js", cjs).unwrap().is_script(2));
}

/// Parsing stops at the first top-level line after the changed ones, unless that cuts a construct
/// open: a line inside a block comment that closes further down is still known to be in it.
#[test]
fn a_comment_closing_below_the_changed_line_is_still_a_comment() {
    let source = "export interface Hooks {\n\t/**\n\tExample:\n\n\tconsole.log(request);\n\n\tconsole.log(response);\n\treturn response;\n\t*/\n\tbeforeRequest: Hook[];\n}\n\nexport const x = 1;\n";
    let syntax = super::parse("source/types/hooks.ts", source, &[5]).unwrap();
    assert!(syntax.is_text(5));
    let module = "/*\nconsole.log(1);\nExample\nmore\n*/\nexport const y = 2;\n";
    assert!(super::parse("src/y.ts", module, &[2]).unwrap().is_text(2));
}
