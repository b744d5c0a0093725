//! The modules of `src/` form layers: no module uses one that uses it back, directly or
//! through others. This reads every `src/**/*.rs`, collects the paths into the crate
//! (`crate::…`, `super::…`, `self::…`, a child module's name) outside comments and string
//! literals, builds the module graph and fails on any circle, naming it. It also checks that
//! every module opens with a `//!` comment stating its purpose.
//!
//! What counts as a use: a `use` item (other than a re-export) and a path in code. A
//! re-export (`pub use`, `pub(crate) use`) is a facade, not a use: a path that lands on a
//! re-exported name counts as a use of the module that defines it, so `crate::Error` is a use
//! of `error`, not of the crate root. `mod x;` declarations are not uses, and code in an
//! inline module (`mod tests { … }`) counts for its file.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// A module's path below the crate root: `[]` is `src/lib.rs`, `["ffi", "args"]` is
/// `src/ffi/args.rs`.
type ModPath = Vec<String>;

/// Module → the modules it uses (never itself).
type Graph = BTreeMap<ModPath, BTreeSet<ModPath>>;

#[test]
fn src_modules_have_no_circles() {
    let files = read_src();
    let graph = graph_of(&files);
    // The reader must see uses at all, or an empty graph would pass.
    let transport = vec!["transport".to_string()];
    assert!(
        graph
            .get(&transport)
            .is_some_and(|uses| uses.contains(&vec!["error".to_string()])),
        "the check no longer sees that transport uses error: the reader is broken"
    );
    let circles = circles(&graph);
    assert!(
        circles.is_empty(),
        "modules that use each other (move what both need into a lower module):\n{}",
        circles
            .iter()
            .map(|c| format!("  {}", c.iter().map(name).collect::<Vec<_>>().join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_module_opens_with_its_purpose() {
    let missing: Vec<String> = read_src()
        .iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(m, _)| name(m))
        .collect();
    assert!(
        missing.is_empty(),
        "modules without an opening `//!` comment: {missing:?}"
    );
}

#[test]
fn the_check_finds_circles_and_ignores_facades_and_comments() {
    let files = vec![
        (
            vec![],
            "mod a; mod b; mod c; pub use a::Thing; // crate::b::x is a comment".to_string(),
        ),
        (
            vec!["a".to_string()],
            "//! a\nuse crate::b::f; pub struct Thing; const S: &str = \"crate::c::g\";"
                .to_string(),
        ),
        (
            vec!["b".to_string()],
            "//! b\npub fn f() { let _ = crate::c::g(); }".to_string(),
        ),
        (
            vec!["c".to_string()],
            "//! c\npub fn g() -> crate::Thing { super::Thing }\n#[cfg(test)] mod tests { use super::*; }"
                .to_string(),
        ),
    ];
    let graph = graph_of(&files);
    assert_eq!(
        circles(&graph),
        vec![vec![
            vec!["a".to_string()],
            vec!["b".to_string()],
            vec!["c".to_string()],
            vec!["a".to_string()]
        ]]
    );
    assert!(!graph.contains_key(&vec![]), "a re-export is not a use");
}

fn name(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".to_string()
    } else {
        m.join("::")
    }
}

/// Every `.rs` file under `src/`, with its module path.
fn read_src() -> Vec<(ModPath, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let relative = path.strip_prefix(&root).expect("under src/");
            let mut module: ModPath = relative
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|l| l == "mod")
                || (module.len() == 1 && module[0] == "lib")
            {
                module.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a source file is UTF-8");
            files.push((module, text));
        }
    }
    files.sort();
    files
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// The tokens of a source file, without comments, string and character literals.
fn tokens(text: &str) -> Vec<Token> {
    let c: Vec<char> = text.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                // An escaped character literal: up to the closing quote.
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(i + 2) == '\'' {
                i += 3;
            } else {
                // A lifetime: its name is read as an identifier, which is harmless.
                i += 1;
            }
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            // Raw strings: r"…", r#"…"#, br"…" (a raw identifier r#x stays an identifier).
            if (word == "r" || word == "br") && (at(i) == '"' || at(i) == '#') {
                let mut hashes = 0;
                while at(i + hashes) == '#' {
                    hashes += 1;
                }
                if at(i + hashes) == '"' {
                    i += hashes + 1;
                    loop {
                        if i >= c.len() {
                            break;
                        }
                        if c[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                            i += hashes + 1;
                            break;
                        }
                        i += 1;
                    }
                    continue;
                }
            }
            out.push(Token::Ident(word));
        } else if ch == ':' && at(i + 1) == ':' {
            out.push(Token::Sep);
            i += 2;
        } else {
            out.push(Token::Punct(ch));
            i += 1;
        }
    }
    out
}

/// One path of a `use` tree: its segments (a glob ends before the `*`) and the name it binds.
struct UsePath {
    segments: Vec<String>,
    name: Option<String>,
}

/// Reads the `use` tree starting at `i` under `prefix`; returns the index after it.
fn use_tree(toks: &[Token], mut i: usize, prefix: &[String], out: &mut Vec<UsePath>) -> usize {
    let mut segments = prefix.to_vec();
    if toks.get(i) == Some(&Token::Sep) {
        i += 1;
    }
    loop {
        match toks.get(i) {
            Some(Token::Punct('{')) => {
                i += 1;
                while let Some(t) = toks.get(i) {
                    match t {
                        Token::Punct('}') => return i + 1,
                        Token::Punct(',') => i += 1,
                        _ => i = use_tree(toks, i, &segments, out),
                    }
                }
                return i;
            }
            Some(Token::Punct('*')) => {
                out.push(UsePath {
                    segments,
                    name: None,
                });
                return i + 1;
            }
            Some(Token::Ident(word)) => {
                segments.push(word.clone());
                i += 1;
                if toks.get(i) == Some(&Token::Sep) {
                    i += 1;
                    continue;
                }
                if segments.last().is_some_and(|s| s == "self") {
                    segments.pop();
                }
                let mut name = segments.last().cloned();
                if toks.get(i) == Some(&Token::Ident("as".to_string())) {
                    if let Some(Token::Ident(alias)) = toks.get(i + 1) {
                        name = Some(alias.clone());
                    }
                    i += 2;
                }
                out.push(UsePath { segments, name });
                return i;
            }
            _ => return i + 1,
        }
    }
}

/// What one file says: the paths it uses and the names it re-exports, both relative to
/// the (possibly inline) module they are written in.
struct FileFacts {
    /// (module the path is written in, path)
    uses: Vec<(ModPath, Vec<String>)>,
    /// (module the re-export is written in, path, the name it is re-exported as)
    reexports: Vec<(ModPath, Vec<String>, String)>,
}

fn facts(module: &ModPath, text: &str) -> FileFacts {
    let toks = tokens(text);
    let mut facts = FileFacts {
        uses: Vec::new(),
        reexports: Vec::new(),
    };
    let ident = |i: usize| match toks.get(i) {
        Some(Token::Ident(w)) => Some(w.as_str()),
        _ => None,
    };
    // Inline modules open at a brace depth: (name, depth inside its braces).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < toks.len() {
        let here: ModPath = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(n, _)| n.clone()))
            .collect();
        match &toks[i] {
            Token::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Token::Ident(w) if w == "mod" => {
                if let (Some(n), Some(Token::Punct('{'))) = (ident(i + 1), toks.get(i + 2)) {
                    depth += 1;
                    inline.push((n.to_string(), depth));
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Token::Ident(w) if w == "use" => {
                let public = ident(i.wrapping_sub(1)) == Some("pub")
                    || (toks.get(i.wrapping_sub(1)) == Some(&Token::Punct(')'))
                        && toks[..i]
                            .iter()
                            .rev()
                            .position(|t| *t == Token::Punct('('))
                            .is_some_and(|back| ident(i - back - 2) == Some("pub")));
                let mut paths = Vec::new();
                i = use_tree(&toks, i + 1, &[], &mut paths);
                for p in paths {
                    match (public, p.name) {
                        (true, Some(name)) => {
                            facts.reexports.push((here.clone(), p.segments, name))
                        }
                        _ => facts.uses.push((here.clone(), p.segments)),
                    }
                }
            }
            Token::Ident(first) if toks.get(i + 1) == Some(&Token::Sep) => {
                let mut path = vec![first.clone()];
                i += 2;
                while let (Some(w), true) = (ident(i), path.len() < 64) {
                    path.push(w.to_string());
                    i += 1;
                    if toks.get(i) == Some(&Token::Sep) {
                        i += 1;
                    } else {
                        break;
                    }
                }
                facts.uses.push((here, path));
            }
            _ => i += 1,
        }
    }
    facts
}

/// `path` as written in module `here`, from the crate root; `None` for other crates.
fn absolute(here: &ModPath, path: &[String], modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let first = path.first()?;
    let mut base = here.clone();
    let rest = match first.as_str() {
        "crate" => {
            base.clear();
            &path[1..]
        }
        "self" => &path[1..],
        "super" => {
            let supers = path.iter().take_while(|s| *s == "super").count();
            for _ in 0..supers {
                base.pop()?;
            }
            &path[supers..]
        }
        _ => {
            let mut child = here.clone();
            child.push(first.clone());
            if !modules.contains(&child) {
                return None;
            }
            path
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what `path` (from the root) names, following re-exports.
fn defining_module(
    path: &[String],
    modules: &BTreeSet<ModPath>,
    reexports: &BTreeMap<(ModPath, String), ModPath>,
    hops: usize,
) -> ModPath {
    let module_len = (0..=path.len())
        .rev()
        .find(|&n| modules.contains(&path[..n].to_vec()))
        .unwrap_or(0);
    let module = path[..module_len].to_vec();
    if let Some(next) = path.get(module_len)
        && let Some(target) = reexports.get(&(module.clone(), next.clone()))
        && hops < 16
    {
        let mut followed = target.clone();
        followed.extend(path[module_len + 1..].iter().cloned());
        return defining_module(&followed, modules, reexports, hops + 1);
    }
    module
}

fn graph_of(files: &[(ModPath, String)]) -> Graph {
    let modules: BTreeSet<ModPath> = files.iter().map(|(m, _)| m.clone()).collect();
    let all: Vec<(ModPath, FileFacts)> = files
        .iter()
        .map(|(m, t)| (m.clone(), facts(m, t)))
        .collect();
    let mut reexports = BTreeMap::new();
    for (_, f) in &all {
        for (here, path, name) in &f.reexports {
            if let Some(target) = absolute(here, path, &modules) {
                reexports.insert((here.clone(), name.clone()), target);
            }
        }
    }
    let mut graph = Graph::new();
    for (module, f) in &all {
        for (here, path) in &f.uses {
            let Some(target) = absolute(here, path, &modules) else {
                continue;
            };
            let used = defining_module(&target, &modules, &reexports, 0);
            if &used != module {
                graph.entry(module.clone()).or_default().insert(used);
            }
        }
    }
    graph
}

/// One circle per group of modules that reach each other (a strongly connected component),
/// as the shortest path from its first module back to it.
fn circles(graph: &Graph) -> Vec<Vec<ModPath>> {
    let reach = |from: &ModPath| -> BTreeSet<ModPath> {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for start in graph.keys() {
        if done.contains(start) || !reach(start).contains(start) {
            continue;
        }
        // The start's group: the modules it reaches that reach it back.
        let group: BTreeSet<ModPath> = reach(start)
            .into_iter()
            .filter(|m| reach(m).contains(start))
            .collect();
        // Shortest way round, by breadth-first search inside the group.
        let mut previous: BTreeMap<ModPath, ModPath> = BTreeMap::new();
        let mut queue = VecDeque::from([start.clone()]);
        'search: while let Some(m) = queue.pop_front() {
            for next in graph.get(&m).into_iter().flatten() {
                if !group.contains(next) || previous.contains_key(next) {
                    continue;
                }
                previous.insert(next.clone(), m.clone());
                if next == start {
                    break 'search;
                }
                queue.push_back(next.clone());
            }
        }
        let mut circle = vec![start.clone()];
        let mut m = previous[start].clone();
        while &m != start {
            circle.push(m.clone());
            m = previous[&m].clone();
        }
        circle.push(start.clone());
        let last = circle.len() - 1;
        circle[1..last].reverse();
        out.push(circle);
        done.extend(group);
    }
    out
}
