//! Expansion of `$name` references in parameter values, as Postfix's
//! `mac_expand()` does it for `postconf -x`, on bytes (a value need not be
//! UTF-8).
//!
//! Supported forms: `$name`, `${name}`, `$(name)`, `$$`, the conditionals
//! `${name?value}`, `${name:value}`, `${name?{value}}`, `${name:{value}}`,
//! `${name?{value}:{other}}` (`?` when the parameter's value is non-empty,
//! `:` when it is empty or unset), and the comparisons
//! `${{a} == {b}?{yes}:{no}}` with `==`, `!=`, `<`, `<=`, `>`, `>=`.
//! Values found by lookup are expanded in turn, up to a nesting limit. The
//! error texts are those of Postfix's warnings.

use bstr::{BString, ByteSlice};

/// How deep lookups may nest before expansion gives up, as in Postfix.
const NESTING_LIMIT: usize = 100;

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A `${` or `$(` (or a `{` inside one) without its closing bracket.
    #[error("truncated macro reference: \"{0}\"")]
    Truncated(BString),
    /// A `$` not followed by a name, or `${}`.
    #[error("empty macro name: \"{0}\"")]
    EmptyName(BString),
    /// References nested deeper than the limit, as with `a = $b`, `b = $a`.
    #[error("unreasonable macro call nesting: \"{0}\"")]
    Nesting(BString),
    /// Some other malformed reference, in Postfix's wording.
    #[error("{0}")]
    Syntax(BString),
}

impl ExpandError {
    /// The message with the value's bytes as they are (the `Display` form
    /// shows bytes that are not UTF-8 as U+FFFD).
    pub fn to_bytes(&self) -> Vec<u8> {
        let (prefix, text) = match self {
            ExpandError::Truncated(text) => ("truncated macro reference: \"", text),
            ExpandError::EmptyName(text) => ("empty macro name: \"", text),
            ExpandError::Nesting(text) => ("unreasonable macro call nesting: \"", text),
            ExpandError::Syntax(text) => return text.to_vec(),
        };
        [prefix.as_bytes(), text, b"\""].concat()
    }
}

/// Looks up a parameter's raw value; `None` when it is unset.
pub type Lookup<'a> = dyn Fn(&str) -> Option<BString> + 'a;

/// Expands `value`, resolving each referenced name through `lookup` (which
/// returns the raw, unexpanded value, or `None` when the parameter is unset;
/// unset names expand to the empty string).
pub fn expand(value: impl AsRef<[u8]>, lookup: &Lookup<'_>) -> Result<BString, ExpandError> {
    Expander { lookup }
        .text(value.as_ref(), 0)
        .map(BString::from)
}

/// One expansion run.
struct Expander<'l, 'a> {
    lookup: &'l Lookup<'a>,
}

/// Is `c` allowed in a parameter name?
fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The length of the parameter name at the start of `text`.
fn name_len(text: &[u8]) -> usize {
    text.iter()
        .position(|&c| !is_name_char(c))
        .unwrap_or(text.len())
}

/// A parameter name (letters, digits and `_`, so ASCII) as text.
fn name_str(name: &[u8]) -> &str {
    std::str::from_utf8(name).expect("parameter names are ASCII")
}

/// Postfix's `ISSPACE()` trimming of the start of `text`.
fn trim_start(text: &[u8]) -> &[u8] {
    text.trim_start_with(|c| c.is_ascii_whitespace())
}

/// Postfix's `ISSPACE()` trimming of both ends of `text`.
fn trim(text: &[u8]) -> &[u8] {
    text.trim_with(|c| c.is_ascii_whitespace())
}

/// The length of the bracketed text that starts just after `open` in `text`,
/// counting nested pairs of the same bracket; `None` when it never closes.
fn matching_close(text: &[u8], open: u8) -> Option<usize> {
    let close = if open == b'{' { b'}' } else { b')' };
    let mut depth = 1;
    for (i, &c) in text.iter().enumerate() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// Postfix's "... at" context: `"...BEFORE>>>AFTER"`.
fn at(message: &str, before: &[u8], after: &[u8]) -> ExpandError {
    let mut text = BString::from(format!("{message} at: \"..."));
    text.extend_from_slice(before);
    text.extend_from_slice(b">>>");
    text.extend_from_slice(after);
    text.push(b'"');
    ExpandError::Syntax(text)
}

impl Expander<'_, '_> {
    // Expands every reference in `text`.
    fn text(&self, text: &[u8], level: usize) -> Result<Vec<u8>, ExpandError> {
        let mut out = Vec::with_capacity(text.len());
        let mut rest = text;
        while let Some(dollar) = rest.find_byte(b'$') {
            out.extend_from_slice(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            rest = match after.first().copied() {
                Some(b'$') => {
                    out.push(b'$');
                    &after[1..]
                }
                Some(open @ (b'{' | b'(')) => {
                    let inner = &after[1..];
                    let len = matching_close(inner, open)
                        .ok_or_else(|| ExpandError::Truncated(text.into()))?;
                    out.extend_from_slice(&self.reference(&inner[..len], text, level)?);
                    &inner[len + 1..]
                }
                Some(c) if is_name_char(c) => {
                    let len = name_len(after);
                    out.extend_from_slice(&self.parameter(&after[..len], level)?);
                    &after[len..]
                }
                _ => return Err(ExpandError::EmptyName(text.into())),
            };
        }
        out.extend_from_slice(rest);
        Ok(out)
    }

    // The expanded value of parameter `name`.
    fn parameter(&self, name: &[u8], level: usize) -> Result<Vec<u8>, ExpandError> {
        if level >= NESTING_LIMIT {
            return Err(ExpandError::Nesting(name.into()));
        }
        match (self.lookup)(name_str(name)) {
            Some(value) => self.text(&value, level + 1),
            None => Ok(Vec::new()),
        }
    }

    // Expands the inside of `${...}` or `$(...)`; `whole` is the text being
    // expanded, for messages.
    fn reference(&self, inner: &[u8], whole: &[u8], level: usize) -> Result<Vec<u8>, ExpandError> {
        let inner = trim_start(inner);
        if inner.starts_with(b"{") {
            let (holds, rest) = self.comparison(inner, whole, level)?;
            return self.conditional(holds, rest, whole, level);
        }
        let len = name_len(inner);
        if len == 0 {
            return Err(ExpandError::EmptyName(whole.into()));
        }
        let (name, rest) = inner.split_at(len);
        let rest = trim_start(rest);
        if rest.is_empty() {
            return self.parameter(name, level);
        }
        if !rest.starts_with(b"?") && !rest.starts_with(b":") {
            return Err(at("attribute name syntax error", name, &inner[len..]));
        }
        let defined = (self.lookup)(name_str(name)).is_some_and(|value| !value.is_empty());
        self.conditional(defined, rest, whole, level)
    }

    // Expands `?value`, `:value`, `?{value}`, `:{value}` or
    // `?{value}:{other}` (or nothing at all) for a condition that `holds`.
    fn conditional(
        &self,
        holds: bool,
        clause: &[u8],
        whole: &[u8],
        level: usize,
    ) -> Result<Vec<u8>, ExpandError> {
        let operator = clause.first().copied().unwrap_or(b' ');
        if operator != b'?' && operator != b':' {
            return Err(at("unexpected input", b"", clause));
        }
        let body = &clause[1..];
        let (first, rest) = match braced(trim_start(body), whole)? {
            Some(split) => split,
            None => (body, &b""[..]),
        };
        let rest = trim_start(rest);
        let (when_true, when_false) = match (operator, rest.first()) {
            (b'?', None) => (Some(first), None),
            (b':', None) => (None, Some(first)),
            (b'?', Some(b':')) => {
                let other = &rest[1..];
                let other = match braced(trim_start(other), whole)? {
                    Some((text, after)) if trim(after).is_empty() => text,
                    Some((text, after)) => return Err(at("unexpected input", &tail(text), after)),
                    None => other,
                };
                (Some(first), Some(other))
            }
            (b'?', Some(_)) => return Err(at("\":\" expected", &tail(first), rest)),
            _ => return Err(at("unexpected input", &tail(first), rest)),
        };
        match if holds { when_true } else { when_false } {
            Some(text) => self.text(text, level),
            None => Ok(Vec::new()),
        }
    }

    // Evaluates `{a} OP {b}` at the start of `inner`; returns whether it holds
    // and the text after it.
    fn comparison<'t>(
        &self,
        inner: &'t [u8],
        whole: &[u8],
        level: usize,
    ) -> Result<(bool, &'t [u8]), ExpandError> {
        let truncated = || ExpandError::Truncated(whole.into());
        let (left, rest) = braced(inner, whole)?.ok_or_else(truncated)?;
        let rest = trim_start(rest);
        let operator = ["==", "!=", "<=", ">=", "<", ">"]
            .into_iter()
            .find(|op| rest.starts_with(op.as_bytes()))
            .ok_or_else(|| at("missing operator", &tail(left), rest))?;
        let rest = trim_start(&rest[operator.len()..]);
        let (right, rest) =
            braced(rest, whole)?.ok_or_else(|| at("missing operand", operator.as_bytes(), rest))?;
        let left = self.text(left, level)?;
        let right = self.text(right, level)?;
        let holds = match operator {
            "==" => left == right,
            "!=" => left != right,
            _ => {
                let number = |text: &[u8]| {
                    std::str::from_utf8(text)
                        .ok()
                        .and_then(|text| text.parse::<i64>().ok())
                        .ok_or_else(|| {
                            let mut message = BString::from("non-numeric operand: \"");
                            message.extend_from_slice(text);
                            message.push(b'"');
                            ExpandError::Syntax(message)
                        })
                };
                let (l, r) = (number(&left)?, number(&right)?);
                match operator {
                    "<" => l < r,
                    "<=" => l <= r,
                    ">" => l > r,
                    _ => l >= r,
                }
            }
        };
        Ok((holds, trim_start(rest)))
    }
}

/// A braced text's inside (trimmed) and the text after its closing brace.
type Braced<'t> = (&'t [u8], &'t [u8]);

/// When `text` starts with `{`, the trimmed text inside the braces and the
/// text after the closing brace.
fn braced<'t>(text: &'t [u8], whole: &[u8]) -> Result<Option<Braced<'t>>, ExpandError> {
    let Some(inner) = text.strip_prefix(b"{") else {
        return Ok(None);
    };
    let len = matching_close(inner, b'{').ok_or_else(|| ExpandError::Truncated(whole.into()))?;
    Ok(Some((trim(&inner[..len]), &inner[len + 1..])))
}

/// The last byte of a braced text and its closing brace, as Postfix shows
/// the context before an error.
fn tail(text: &[u8]) -> Vec<u8> {
    let mut tail = text.last().map(|&c| vec![c]).unwrap_or_default();
    tail.push(b'}');
    tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Option<BString> {
        let value = match name {
            "myorigin" => "b c d",
            "myhostname" => "h",
            "empty" => "",
            "chain" => "$myhostname.$myorigin",
            "loop_a" => "$loop_b",
            "loop_b" => "x$loop_a",
            _ => return None,
        };
        Some(value.into())
    }

    fn x(value: &str) -> Result<BString, ExpandError> {
        expand(value, &table)
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through() {
        let lookup = |name: &str| (name == "e").then(|| BString::from(&b"\xe9"[..]));
        assert_eq!(
            expand(b"/etc/postfix-$e\xff", &lookup).unwrap(),
            &b"/etc/postfix-\xe9\xff"[..]
        );
    }

    #[test]
    fn plain_references() {
        assert_eq!(x("$myorigin.x").unwrap(), "b c d.x");
        assert_eq!(x("$myhostname$myhostname").unwrap(), "hh");
        assert_eq!(x("${myhostname}x $(myhostname)").unwrap(), "hx h");
        assert_eq!(x("${ myhostname}").unwrap(), "h");
        assert_eq!(x("$my-hostname").unwrap(), "-hostname");
        assert_eq!(x("$nosuch|$1").unwrap(), "|");
        assert_eq!(x("a$$b $$").unwrap(), "a$b $");
        assert_eq!(x("$chain").unwrap(), "h.b c d");
    }

    #[test]
    fn conditionals() {
        assert_eq!(x("${myorigin?{yes}:{no}}").unwrap(), "yes");
        assert_eq!(x("${nosuch?{yes}:{no}}").unwrap(), "no");
        assert_eq!(x("${empty?{a}:{b}} ${empty:{a}}").unwrap(), "b a");
        assert_eq!(x("${myorigin:v}|${nosuch:v}").unwrap(), "|v");
        assert_eq!(x("[${myorigin?  a  }]").unwrap(), "[  a  ]");
        assert_eq!(x("[${myorigin? {a}  }]").unwrap(), "[a]");
        assert_eq!(x("${myorigin?{a} : {b}}").unwrap(), "a");
        assert_eq!(x("[${empty?{a} : b c }]").unwrap(), "[ b c ]");
        assert_eq!(x("${empty?{a}:{$myhostname}}").unwrap(), "h");
        assert_eq!(x("${myorigin?{x{y}z}}").unwrap(), "x{y}z");
        assert_eq!(x("${myorigin?a}}").unwrap(), "a}");
        assert_eq!(x("${myorigin?{ $myhostname }}").unwrap(), "h");
        assert_eq!(x("$(myhostname?a)").unwrap(), "a");
        assert_eq!(x("${myorigin?{}}|${myorigin?}").unwrap(), "|");
    }

    #[test]
    fn comparisons() {
        assert_eq!(x("${{$myhostname} == {h}?{eq}:{ne}}").unwrap(), "eq");
        assert_eq!(x("${{$myhostname} != {h}?{eq}:{ne}}").unwrap(), "ne");
        assert_eq!(x("${{10} < {9}?{lt}:{ge}}").unwrap(), "ge");
        assert!(x("${{a} < {9}?{lt}}").is_err());
    }

    #[test]
    fn errors_use_postfix_wording() {
        assert_eq!(x("a$").unwrap_err().to_string(), "empty macro name: \"a$\"");
        assert_eq!(
            x("${}").unwrap_err().to_string(),
            "empty macro name: \"${}\""
        );
        assert_eq!(
            x("${myorigin").unwrap_err().to_string(),
            "truncated macro reference: \"${myorigin\""
        );
        assert_eq!(
            x("$(myhostname}").unwrap_err(),
            ExpandError::Truncated("$(myhostname}".into())
        );
        assert_eq!(
            x("${myorigin?{a}").unwrap_err(),
            ExpandError::Truncated("${myorigin?{a}".into())
        );
        assert_eq!(
            x("${myorigin x}").unwrap_err().to_string(),
            "attribute name syntax error at: \"...myorigin>>> x\""
        );
        assert_eq!(
            x("${myorigin?{a}:{b}:{c}}").unwrap_err().to_string(),
            "unexpected input at: \"...b}>>>:{c}\""
        );
        assert_eq!(
            x("${myorigin?{a}x}").unwrap_err().to_string(),
            "\":\" expected at: \"...a}>>>x\""
        );
        assert!(matches!(x("$loop_a"), Err(ExpandError::Nesting(_))));
        assert_eq!(
            x("${e\u{e9}").unwrap_err().to_bytes(),
            "truncated macro reference: \"${e\u{e9}\"".as_bytes()
        );
        let latin = expand(b"${e\xe9", &table).unwrap_err();
        assert_eq!(latin.to_bytes(), b"truncated macro reference: \"${e\xe9\"");
        assert!(x("${{a} == {a}}").is_err());
    }
}
