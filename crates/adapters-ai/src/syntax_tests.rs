//! What the parser makes of files in each language.

use super::parse;

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
