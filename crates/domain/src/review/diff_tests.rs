//! Tests of the unified-diff parser and the line map.

use proptest::prelude::*;

use super::*;

const DIFF: &str = "\
diff --git a/src/lib.rs b/src/lib.rs
index 83db48f..bf269f4 100644
--- a/src/lib.rs
+++ b/src/lib.rs
@@ -1,4 +1,5 @@
 fn a() {}
-fn b() {}
+fn b() -> u8 { 1 }
+fn c() {}
 fn d() {}
 fn e() {}
@@ -10,2 +11,2 @@ impl X {
 fn j() {}
-fn k() {}
\\ No newline at end of file
+fn k() {}
\\ No newline at end of file
diff --git a/old name.txt b/new name.txt
similarity index 90%
rename from old name.txt
rename to new name.txt
index 1111111..2222222 100644
--- a/old name.txt
+++ b/new name.txt
@@ -1 +1 @@
-hello
+hello world
diff --git a/logo.png b/logo.png
new file mode 100644
index 0000000..3333333
Binary files /dev/null and b/logo.png differ
diff --git a/gone.rs b/gone.rs
deleted file mode 100644
index 4444444..0000000
--- a/gone.rs
+++ /dev/null
@@ -1,2 +0,0 @@
-fn gone() {}
-fn also() {}
";

#[test]
fn files_statuses_and_paths_are_read() {
    let files = parse(DIFF);
    assert_eq!(files.len(), 4);
    assert_eq!(
        (files[0].path(), files[0].status),
        ("src/lib.rs", FileStatus::Modified)
    );
    assert_eq!(files[1].status, FileStatus::Renamed);
    assert_eq!(files[1].old_path.as_deref(), Some("old name.txt"));
    assert_eq!(files[1].path(), "new name.txt");
    assert!(files[2].binary && files[2].status == FileStatus::Added && files[2].hunks.is_empty());
    assert_eq!(
        (
            files[3].status,
            files[3].path(),
            files[3].new_path.as_deref()
        ),
        (FileStatus::Deleted, "gone.rs", None)
    );
}

#[test]
fn lines_are_numbered_on_both_sides() {
    let files = parse(DIFF);
    let hunk = &files[0].hunks[0];
    let added: Vec<(Option<u32>, &str)> = hunk
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Added)
        .map(|l| (l.new_no, l.text.as_str()))
        .collect();
    assert_eq!(
        added,
        [(Some(2), "fn b() -> u8 { 1 }"), (Some(3), "fn c() {}")]
    );
    assert_eq!(hunk.lines.last().unwrap().new_no, Some(5));
    let second = &files[0].hunks[1];
    assert_eq!(
        second.lines.len(),
        3,
        "the no-newline markers are not lines"
    );
    assert_eq!(second.lines[2].new_no, Some(12));
    assert_eq!((files[0].additions(), files[0].deletions()), (3, 2));
}

#[test]
fn the_line_map_holds_right_side_lines_and_ranges_within_a_hunk() {
    let map = LineMap::new(&parse(DIFF));
    assert!(
        map.contains("src/lib.rs", 2)
            && map.contains("src/lib.rs", 1)
            && map.contains("src/lib.rs", 12)
    );
    assert!(!map.contains("src/lib.rs", 8), "between hunks");
    assert!(
        !map.contains("gone.rs", 1),
        "a deleted file has no right side"
    );
    assert!(map.contains("new name.txt", 1));
    assert!(map.contains_range("src/lib.rs", 2, 5));
    assert!(
        !map.contains_range("src/lib.rs", 4, 11),
        "a range may not span hunks"
    );
    assert!(!map.contains_range("src/lib.rs", 3, 2));
}

#[test]
fn hunk_headers_without_lengths_mean_one_line() {
    let files = parse("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3 +3 @@\n-a\n+b\n");
    assert_eq!(files[0].hunks[0].lines.len(), 2);
    assert_eq!(files[0].hunks[0].lines[1].new_no, Some(3));
}

#[test]
fn a_huge_hunk_is_read_whole() {
    let n = 50_000;
    let mut diff = format!("diff --git a/big b/big\n--- a/big\n+++ b/big\n@@ -0,0 +1,{n} @@\n");
    for i in 0..n {
        diff.push_str(&format!("+line {i}\n"));
    }
    let files = parse(&diff);
    assert_eq!(files[0].additions(), n);
    assert!(LineMap::new(&files).contains("big", n as u32));
}

fn changed(
    filename: &str,
    status: &str,
    previous: Option<&str>,
    patch: Option<&str>,
) -> ChangedFile {
    ChangedFile {
        filename: filename.into(),
        status: status.into(),
        additions: 0,
        deletions: 0,
        changes: 0,
        patch: patch.map(str::to_owned),
        previous_filename: previous.map(str::to_owned),
    }
}

#[test]
fn a_changed_file_from_the_files_list_reads_like_the_same_file_in_a_diff() {
    let patch = "@@ -1,2 +1,3 @@\n fn a() {}\n+fn b() {}\n fn c() {}\n\\ No newline at end of file";
    let file = from_changed_file(&changed("src/my lib.rs", "modified", None, Some(patch)));
    assert_eq!(file.path(), "src/my lib.rs");
    assert_eq!(file.status, FileStatus::Modified);
    assert_eq!(file.hunks.len(), 1);
    assert_eq!(file.additions(), 1);
    assert!(LineMap::new(std::slice::from_ref(&file)).contains("src/my lib.rs", 2));

    let added = from_changed_file(&changed("new.rs", "added", None, Some("@@ -0,0 +1 @@\n+x")));
    assert_eq!((added.status, added.old_path), (FileStatus::Added, None));
    let removed = from_changed_file(&changed(
        "old.rs",
        "removed",
        None,
        Some("@@ -1 +0,0 @@\n-x"),
    ));
    assert_eq!(
        (removed.status, removed.new_path),
        (FileStatus::Deleted, None)
    );
    let renamed = from_changed_file(&changed("b.rs", "renamed", Some("a.rs"), None));
    assert_eq!(renamed.status, FileStatus::Renamed);
    assert_eq!(
        (renamed.old_path.as_deref(), renamed.path()),
        (Some("a.rs"), "b.rs")
    );
    assert!(renamed.hunks.is_empty(), "no patch, no hunks");
}

#[test]
fn a_forgotten_line_is_no_longer_commentable() {
    let mut map = LineMap::new(&parse(DIFF));
    assert!(map.contains_range("src/lib.rs", 2, 3));
    map.forget("src/lib.rs", 3);
    assert!(!map.contains("src/lib.rs", 3));
    assert!(!map.contains_range("src/lib.rs", 2, 3));
    assert!(map.contains("src/lib.rs", 2));
}

proptest! {
    #[test]
    fn parsing_never_panics(text in "(diff --git a/x b/x\n|@@ -[0-9]{1,3}(,[0-9]{1,3})? \\+[0-9]{1,3}(,[0-9]{1,3})? @@\n|[-+ \\\\][a-z]{0,5}\n|--- a/x\n|\\+\\+\\+ b/x\n|rename (from|to) y\n|\n){0,40}") {
        let files = parse(&text);
        let _ = LineMap::new(&files);
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        let _ = LineMap::new(&parse(&text));
    }

    #[test]
    fn numbering_matches_the_hunk_header(ops in proptest::collection::vec(0u8..3, 1..60), start in 1u32..500) {
        // Build a well-formed hunk from a random sequence of added / removed / context lines.
        let (mut old_len, mut new_len) = (0u32, 0u32);
        let mut body = String::new();
        for (i, op) in ops.iter().enumerate() {
            match op {
                0 => { body.push_str(&format!("+add {i}\n")); new_len += 1; }
                1 => { body.push_str(&format!("-del {i}\n")); old_len += 1; }
                _ => { body.push_str(&format!(" ctx {i}\n")); old_len += 1; new_len += 1; }
            }
        }
        let diff = format!("diff --git a/f b/f\n--- a/f\n+++ b/f\n@@ -{start},{old_len} +{start},{new_len} @@\n{body}");
        let files = parse(&diff);
        let hunk = &files[0].hunks[0];
        prop_assert_eq!(hunk.lines.len(), ops.len());
        let right: Vec<u32> = hunk.lines.iter().filter_map(|l| l.new_no).collect();
        let expected: Vec<u32> = (start..start + new_len).collect();
        prop_assert_eq!(right, expected);
        let map = LineMap::new(&files);
        for n in start..start + new_len {
            prop_assert!(map.contains("f", n));
        }
        prop_assert!(!map.contains("f", start + new_len));
    }
}
