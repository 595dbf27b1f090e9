//! Reads the names of the public functions declared in an MLX header.
//!
//! Not a C++ parser: a tokenizer and a walk over top-level declarations that knows just enough
//! of MLX's header style — namespaces, `MLX_API` and `inline` functions, templates, classes,
//! enums, `using` aliases, function bodies and default arguments in braces.

use std::collections::BTreeSet;

/// One declared function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// The C++ namespace below `mlx::core`: `""`, `"linalg"`, `"fft"`, `"random"`, `"fast"`.
    pub namespace: String,
    /// The function's name.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Ident(String),
    Punct(char),
    /// A number, string or character literal (their contents never matter here).
    Literal,
}

/// The public functions of `header`: `MLX_API` and `inline` functions of `mlx::core` and its
/// sub-namespaces (not `detail` ones), and templates whose name has no other declaration;
/// operators are left out. Each (namespace, name) appears once, in order of first declaration.
pub fn public_functions(header: &str) -> Vec<Function> {
    let toks = tokenize(header);
    let mut found: Vec<(Function, bool)> = Vec::new();
    let mut frames: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            Tok::Ident(w) if w == "namespace" => {
                let mut names = Vec::new();
                let mut j = i + 1;
                while j < toks.len() {
                    match &toks[j] {
                        Tok::Ident(n) => names.push(n.clone()),
                        Tok::Punct(':') => {}
                        _ => break,
                    }
                    j += 1;
                }
                if toks.get(j) == Some(&Tok::Punct('{')) {
                    frames.push(names);
                    i = j + 1;
                } else {
                    // `namespace x = y;` or something unexpected: skip the statement.
                    i = statement_end(&toks, i);
                }
            }
            Tok::Punct('}') => {
                frames.pop();
                i += 1;
            }
            Tok::Punct(';') => i += 1,
            _ => {
                let end = statement_end(&toks, i);
                let ns: Vec<&str> = frames.iter().flatten().map(String::as_str).collect();
                if let Some(namespace) = core_namespace(&ns)
                    && let Some((name, template)) = function_name(&toks[i..end])
                {
                    found.push((Function { namespace, name }, template));
                }
                i = end;
            }
        }
    }
    // Templates only count when no plain declaration has their name.
    let plain: BTreeSet<(String, String)> = found
        .iter()
        .filter(|(_, t)| !t)
        .map(|(f, _)| (f.namespace.clone(), f.name.clone()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (f, template) in found {
        let key = (f.namespace.clone(), f.name.clone());
        if template && plain.contains(&key) {
            continue;
        }
        if seen.insert(key) {
            out.push(f);
        }
    }
    out
}

/// `mlx::core::x` → `Some("x")`, `mlx::core` → `Some("")`; other namespaces (and any `detail`
/// one) → `None`.
fn core_namespace(ns: &[&str]) -> Option<String> {
    if ns.len() < 2 || ns[0] != "mlx" || ns[1] != "core" || ns.contains(&"detail") {
        return None;
    }
    Some(ns[2..].join("::"))
}

/// The index just past the statement starting at `start`: a `;` at the top level, or the
/// closing brace of a function body (plus a `;` right after it). Braces of class, struct, enum
/// and union definitions do not end the statement (their `;` does).
fn statement_end(toks: &[Tok], start: usize) -> usize {
    let mut parens = 0i32;
    let mut braces_in_parens = 0i32;
    let mut i = start;
    while i < toks.len() {
        match &toks[i] {
            Tok::Punct('(') => parens += 1,
            Tok::Punct(')') => parens -= 1,
            Tok::Punct('{') if parens > 0 => braces_in_parens += 1,
            Tok::Punct('}') if parens > 0 => braces_in_parens -= 1,
            Tok::Punct('{') => {
                let close = matching_brace(toks, i);
                if defines_type(&toks[start..i]) {
                    i = close + 1;
                    continue;
                }
                let after = close + 1;
                return if toks.get(after) == Some(&Tok::Punct(';')) {
                    after + 1
                } else {
                    after
                };
            }
            Tok::Punct('}') => return i, // the enclosing namespace closes
            Tok::Punct(';') if parens == 0 && braces_in_parens == 0 => return i + 1,
            _ => {}
        }
        i += 1;
    }
    toks.len()
}

fn matching_brace(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('{') => depth += 1,
            Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    toks.len() - 1
}

/// Whether a statement head (before its first top-level brace) opens a type definition.
fn defines_type(head: &[Tok]) -> bool {
    let mut head = head;
    if matches!(head.first(), Some(Tok::Ident(w)) if w == "template") {
        // `template <class T>` names no type being defined.
        head = skip_angles(&head[1..]).unwrap_or(&[]);
    }
    let mut parens = 0;
    for t in head {
        match t {
            Tok::Punct('(') => parens += 1,
            Tok::Punct(')') => parens -= 1,
            Tok::Ident(w) if parens == 0 && is_type_keyword(w) => return true,
            _ => {}
        }
    }
    false
}

fn is_type_keyword(w: &str) -> bool {
    matches!(w, "class" | "struct" | "enum" | "union")
}

/// The declared function's name, and whether it is a template, when the statement declares a
/// public function (`MLX_API`, `inline` or a template) other than an operator.
fn function_name(stmt: &[Tok]) -> Option<(String, bool)> {
    let mut rest = stmt;
    let mut template = false;
    if matches!(rest.first(), Some(Tok::Ident(w)) if w == "template") {
        template = true;
        rest = skip_angles(&rest[1..])?;
    }
    let first = match rest.first() {
        Some(Tok::Ident(w)) => w.as_str(),
        _ => return None,
    };
    if matches!(
        first,
        "using" | "typedef" | "friend" | "static_assert" | "extern"
    ) {
        return None;
    }
    // The head: up to the first `(` outside angle brackets.
    let mut angles = 0i32;
    let mut open = None;
    for (k, t) in rest.iter().enumerate() {
        match t {
            Tok::Ident(w) if w == "operator" => return None,
            Tok::Ident(w) if angles == 0 && is_type_keyword(w) => return None,
            Tok::Punct('<') => angles += 1,
            Tok::Punct('>') => angles -= 1,
            Tok::Punct('(') if angles == 0 => {
                open = Some(k);
                break;
            }
            Tok::Punct('=' | '{' | ';') if angles == 0 => return None,
            _ => {}
        }
    }
    let open = open?;
    let name = match open.checked_sub(1).map(|k| &rest[k]) {
        Some(Tok::Ident(n)) => n.clone(),
        _ => return None,
    };
    if open >= 2 && matches!(rest[open - 2], Tok::Punct('~')) {
        return None;
    }
    let head = &rest[..open - 1];
    let exported = head
        .iter()
        .any(|t| matches!(t, Tok::Ident(w) if w == "MLX_API" || w == "inline"));
    if !exported && !template {
        return None;
    }
    // A bare macro call (`SOME_MACRO(x)`) has no return type before the name.
    if head.is_empty() {
        return None;
    }
    Some((name, template))
}

/// The tokens after a balanced `<...>` at the start of `toks`.
fn skip_angles(toks: &[Tok]) -> Option<&[Tok]> {
    if toks.first() != Some(&Tok::Punct('<')) {
        return None;
    }
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('<') => depth += 1,
            Tok::Punct('>') => {
                depth -= 1;
                if depth == 0 {
                    return Some(&toks[i + 1..]);
                }
            }
            _ => {}
        }
    }
    None
}

/// Identifiers, single-character punctuation and literals; comments and preprocessor lines are
/// dropped.
fn tokenize(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line_start = true;
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' && line_start {
            // A preprocessor line, with `\` continuations.
            while i < chars.len() && chars[i] != '\n' {
                if chars[i] == '\\' && chars.get(i + 1) == Some(&'\n') {
                    i += 1;
                }
                i += 1;
            }
            continue;
        }
        line_start = false;
        if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c == '"' || c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            toks.push(Tok::Literal);
            continue;
        }
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            toks.push(Tok::Literal);
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            toks.push(Tok::Ident(chars[start..i].iter().collect()));
            continue;
        }
        toks.push(Tok::Punct(c));
        i += 1;
    }
    toks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(src: &str) -> Vec<String> {
        public_functions(src)
            .into_iter()
            .map(|f| {
                if f.namespace.is_empty() {
                    f.name
                } else {
                    format!("{}::{}", f.namespace, f.name)
                }
            })
            .collect()
    }

    #[test]
    fn api_and_inline_functions_once_per_name() {
        let src = r#"
// Copyright
#pragma once
#include "mlx/api.h"
#define MLX_THING(x) \
    int x(int);
namespace mlx::core {

/** A 1D array of numbers starting at `start`. */
MLX_API array arange(double start, double stop, StreamOrDevice s = {});
MLX_API array
arange(int stop, StreamOrDevice s = {});
inline array linspace(double a, double b, int num = 50, StreamOrDevice s = {}) {
  return linspace(a, b, num, true, s);
}
MLX_API std::pair<array, array> qr(const array& a, StreamOrDevice s = {});
array not_exported(const array& a);
/* MLX_API array commented_out(const array& a); */
MLX_API array tri(int n, int m, int k, Dtype type, StreamOrDevice s = {});
} // namespace mlx::core
"#;
        assert_eq!(names(src), ["arange", "linspace", "qr", "tri"]);
    }

    #[test]
    fn namespaces_detail_and_other_libraries() {
        let src = r#"
namespace mlx::core::linalg {
MLX_API array norm(const array& a, const double ord, StreamOrDevice s = {});
namespace detail {
MLX_API array helper(const array& a);
}
MLX_API array inv(const array& a, StreamOrDevice s = {});
} // namespace mlx::core::linalg
namespace mlx {
namespace core {
namespace fft {
MLX_API array fftn(const array& a, StreamOrDevice s = {});
}
MLX_API array abs(const array& a, StreamOrDevice s = {});
}
}
namespace other {
MLX_API int unrelated(int);
}
"#;
        assert_eq!(
            names(src),
            ["linalg::norm", "linalg::inv", "fft::fftn", "abs"]
        );
    }

    #[test]
    fn templates_operators_classes_and_aliases() {
        let src = r#"
namespace mlx::core {
MLX_API array full(Shape shape, array vals, StreamOrDevice s = {});
template <class T>
array full(Shape shape, T val, StreamOrDevice s = {}) {
  return full(std::move(shape), array(val), to_stream(s));
}
template <typename T, typename = enable_for_arrays_t<T>>
array only_template(T a) { return a; }
inline array operator==(const array& a, const array& b) { return equal(a, b); }
template <typename T>
array operator<(T a, const array& b) { return less(array(a), b); }
MLX_API array operator>>(const array& a, const array& b);
MLX_API array operator-(const array& a);
class MLX_API KeySequence {
 public:
  explicit KeySequence(uint64_t seed);
  void seed(uint64_t seed);
  static KeySequence& default_() { static int x; return x; }
};
enum class FFTNorm { Backward, Ortho, Forward };
struct Options { int a = 1; };
using ValueAndGradFn = std::function<std::pair<std::vector<array>, std::vector<array>>(
    const std::vector<array>&)>;
ValueAndGradFn inline value_and_grad(const std::function<array(const array&)>& fun,
    int argnum = 0) { return value_and_grad(fun, std::vector<int>{argnum}); }
std::function<std::pair<array, array>(const array&)> inline grad2(
    const std::function<array(const array&)>& fun) {
  return [fun](auto inputs) { return vjp(fun, inputs, array(1.0f)); };
}
MLX_API std::function<std::vector<array>(const std::vector<array>&)>
custom_function(
    std::function<std::vector<array>(const std::vector<array>&)> fun,
    std::optional<std::function<std::vector<array>(const std::vector<array>&)>> fun_vjp =
        std::nullopt);
MLX_API array seed_after_class(int x = {1}, const char* s = "a;b}");
}
"#;
        assert_eq!(
            names(src),
            [
                "full",
                "only_template",
                "value_and_grad",
                "grad2",
                "custom_function",
                "seed_after_class"
            ]
        );
    }

    #[test]
    fn reads_an_installed_header_when_present() {
        // Sanity check against the real headers when the MLX cache exists (skipped otherwise):
        // linalg.h declares these, each with overloads.
        let Some(home) = std::env::var_os("HOME") else {
            return;
        };
        let cache = std::path::Path::new(&home).join(".cache/mlx-sys");
        let Ok(entries) = std::fs::read_dir(cache) else {
            return;
        };
        for entry in entries.flatten() {
            let header = entry.path().join("mlx/include/mlx/linalg.h");
            if let Ok(text) = std::fs::read_to_string(header) {
                let got = names(&text);
                for want in ["linalg::norm", "linalg::svd", "linalg::qr", "linalg::eigh"] {
                    assert_eq!(
                        got.iter().filter(|n| *n == want).count(),
                        1,
                        "{want}: {got:?}"
                    );
                }
                assert!(got.iter().all(|n| n.starts_with("linalg::")), "{got:?}");
            }
        }
    }
}
