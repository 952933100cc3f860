//! Structured Field lists (RFC 9651, section 4.2): the parsing that the IETF `RateLimit`
//! and `RateLimit-Policy` fields need, and nothing that allocates beyond the result.
//!
//! A list is members separated by commas; a member is an item (a bare value with
//! parameters) or an inner list of items in parentheses. Every bare type of RFC 9651 is
//! read: integers, decimals, strings, tokens, byte sequences, booleans, dates and display
//! strings. A value that breaks the grammar anywhere makes the whole field fail, as the RFC
//! requires: a client ignores such a field rather than guessing.
//!
//! ```
//! use verdict::sf::{parse_list, BareItem};
//! let list = parse_list(br#""burst";q=100;w=60, "daily";q=1000;w=86400"#).unwrap();
//! assert_eq!(list.len(), 2);
//! let daily = list[1].item().unwrap();
//! assert_eq!(daily.value, BareItem::String("daily".into()));
//! assert_eq!(daily.params.get("q"), Some(&BareItem::Integer(1000)));
//! assert!(parse_list(b"\"unterminated").is_err());
//! ```

use std::fmt;

/// A bare value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BareItem {
    /// `-?[0-9]{1,15}`.
    Integer(i64),
    /// A decimal with at most three fractional digits, kept in thousandths
    /// (`1.5` is `1500`).
    Decimal(i64),
    /// A quoted string, unescaped.
    String(String),
    /// A token such as `default` or `text/plain`.
    Token(String),
    /// A byte sequence, kept as the base64 text between its colons.
    Bytes(String),
    /// `?1` or `?0`.
    Boolean(bool),
    /// `@` and seconds since 1970.
    Date(i64),
    /// `%"..."`, percent-decoded UTF-8.
    DisplayString(String),
}

impl BareItem {
    /// The value when it is an integer.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            BareItem::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The text of a string or a token.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            BareItem::String(s) | BareItem::Token(s) => Some(s),
            _ => None,
        }
    }
}

/// Parameters in the order written; a key written twice keeps its first place and its
/// last value (RFC 9651, section 4.2.3.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Params(Vec<(String, BareItem)>);

impl Params {
    /// The value of `key` (a key without `=value` is `Boolean(true)`).
    pub fn get(&self, key: &str) -> Option<&BareItem> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every parameter, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &BareItem)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn set(&mut self, key: String, value: BareItem) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

/// A bare value with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The value.
    pub value: BareItem,
    /// Its parameters.
    pub params: Params,
}

/// One member of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    /// A single item.
    Item(Item),
    /// `(a b c);params`.
    InnerList(Vec<Item>, Params),
}

impl Member {
    /// The item, when the member is not an inner list.
    pub fn item(&self) -> Option<&Item> {
        match self {
            Member::Item(i) => Some(i),
            Member::InnerList(..) => None,
        }
    }
}

/// Where and why a field value breaks the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a structured field list: {what} at byte {at}")]
pub struct SfError {
    /// Offset into the (combined) field value.
    pub at: usize,
    /// What was expected or found.
    pub what: &'static str,
}

/// Parses one field value as a list. An empty value is an empty list.
pub fn parse_list(input: &[u8]) -> Result<Vec<Member>, SfError> {
    let mut p = Parser { s: input, i: 0 };
    p.skip_sp();
    let list = p.list()?;
    p.skip_sp();
    if p.i != p.s.len() {
        return Err(p.err("unexpected text after the list"));
    }
    Ok(list)
}

/// Parses every line of a field as one list: lines are joined with commas, as RFC 9651
/// asks of a field sent more than once.
///
/// ```
/// let lines: [&[u8]; 2] = [b"a;q=1", b"b;q=2"];
/// assert_eq!(verdict::sf::parse_list_lines(lines).unwrap().len(), 2);
/// ```
pub fn parse_list_lines<'a>(
    lines: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<Member>, SfError> {
    let mut joined = Vec::new();
    for (n, line) in lines.into_iter().enumerate() {
        if n > 0 {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(line);
    }
    parse_list(&joined)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &'static str) -> SfError {
        SfError { at: self.i, what }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_sp(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn list(&mut self) -> Result<Vec<Member>, SfError> {
        let mut out = Vec::new();
        while self.i < self.s.len() {
            out.push(self.member()?);
            self.skip_ows();
            match self.peek() {
                None => return Ok(out),
                Some(b',') => self.i += 1,
                Some(_) => return Err(self.err("expected a comma between members")),
            }
            self.skip_ows();
            if self.i == self.s.len() {
                return Err(self.err("a comma with no member after it"));
            }
        }
        Ok(out)
    }

    fn member(&mut self) -> Result<Member, SfError> {
        if self.peek() == Some(b'(') {
            self.i += 1;
            let mut items = Vec::new();
            loop {
                self.skip_sp();
                match self.peek() {
                    Some(b')') => {
                        self.i += 1;
                        let params = self.params()?;
                        return Ok(Member::InnerList(items, params));
                    }
                    None => return Err(self.err("an inner list without its ')'")),
                    Some(_) => {
                        items.push(self.item()?);
                        if !matches!(self.peek(), Some(b' ' | b')')) {
                            return Err(self.err("expected a space or ')' in an inner list"));
                        }
                    }
                }
            }
        }
        self.item().map(Member::Item)
    }

    fn item(&mut self) -> Result<Item, SfError> {
        let value = self.bare()?;
        let params = self.params()?;
        Ok(Item { value, params })
    }

    fn params(&mut self) -> Result<Params, SfError> {
        let mut params = Params::default();
        while self.peek() == Some(b';') {
            self.i += 1;
            self.skip_sp();
            let key = self.key()?;
            let value = if self.peek() == Some(b'=') {
                self.i += 1;
                self.bare()?
            } else {
                BareItem::Boolean(true)
            };
            params.set(key, value);
        }
        Ok(params)
    }

    fn key(&mut self) -> Result<String, SfError> {
        let start = self.i;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.i += 1,
            _ => return Err(self.err("a key starts with a lowercase letter or '*'")),
        }
        while let Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*') = self.peek() {
            self.i += 1;
        }
        Ok(self.text(start))
    }

    /// The input from `start` to here; only ever called over ASCII that was checked.
    fn text(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    fn bare(&mut self) -> Result<BareItem, SfError> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'"') => self.string().map(BareItem::String),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'*') => Ok(BareItem::Token(self.token())),
            Some(b':') => self.bytes(),
            Some(b'?') => self.boolean(),
            Some(b'@') => {
                self.i += 1;
                match self.number()? {
                    BareItem::Integer(n) => Ok(BareItem::Date(n)),
                    _ => Err(self.err("a date is a whole number of seconds")),
                }
            }
            Some(b'%') => self.display_string(),
            Some(_) => Err(self.err("not the start of a value")),
            None => Err(self.err("a value is missing")),
        }
    }

    fn number(&mut self) -> Result<BareItem, SfError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let (mut whole, mut digits) = (0i64, 0usize);
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if digits == 15 {
                return Err(self.err("more than 15 digits"));
            }
            whole = whole * 10 + i64::from(d - b'0');
            digits += 1;
            self.i += 1;
        }
        if digits == 0 {
            return Err(self.err("a number without digits"));
        }
        let sign = if negative { -1 } else { 1 };
        if self.peek() != Some(b'.') {
            return Ok(BareItem::Integer(sign * whole));
        }
        if digits > 12 {
            return Err(self.err("a decimal with more than 12 whole digits"));
        }
        self.i += 1;
        let (mut frac, mut places) = (0i64, 0u32);
        while let Some(d @ b'0'..=b'9') = self.peek() {
            if places == 3 {
                return Err(self.err("a decimal with more than 3 fractional digits"));
            }
            frac = frac * 10 + i64::from(d - b'0');
            places += 1;
            self.i += 1;
        }
        if places == 0 {
            return Err(self.err("a decimal point with no digit after it"));
        }
        Ok(BareItem::Decimal(
            sign * (whole * 1000 + frac * 10i64.pow(3 - places)),
        ))
    }

    fn string(&mut self) -> Result<String, SfError> {
        self.i += 1; // the opening quote
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.err("a string without its closing quote")),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => {
                            out.push(char::from(c));
                            self.i += 1;
                        }
                        _ => return Err(self.err("only '\\\"' and '\\\\' may be escaped")),
                    }
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.i += 1;
                }
                Some(_) => return Err(self.err("a string holds visible ASCII only")),
            }
        }
    }

    fn token(&mut self) -> String {
        let start = self.i;
        self.i += 1;
        while let Some(c) = self.peek() {
            let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
            if !tchar {
                break;
            }
            self.i += 1;
        }
        self.text(start)
    }

    fn bytes(&mut self) -> Result<BareItem, SfError> {
        self.i += 1;
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b':' {
                let text = self.text(start);
                self.i += 1;
                return Ok(BareItem::Bytes(text));
            }
            if !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=')) {
                return Err(self.err("a byte sequence holds base64 only"));
            }
            self.i += 1;
        }
        Err(self.err("a byte sequence without its closing ':'"))
    }

    fn boolean(&mut self) -> Result<BareItem, SfError> {
        self.i += 1;
        let b = match self.peek() {
            Some(b'1') => true,
            Some(b'0') => false,
            _ => return Err(self.err("a boolean is ?0 or ?1")),
        };
        self.i += 1;
        Ok(BareItem::Boolean(b))
    }

    fn display_string(&mut self) -> Result<BareItem, SfError> {
        self.i += 1;
        if self.peek() != Some(b'"') {
            return Err(self.err("a display string starts with %\""));
        }
        self.i += 1;
        let mut bytes = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("a display string without its closing quote")),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(bytes)
                        .map(BareItem::DisplayString)
                        .map_err(|_| self.err("a display string that is not UTF-8"));
                }
                Some(b'%') => {
                    let hex = |c: Option<&u8>| match c {
                        Some(c @ b'0'..=b'9') => Some(c - b'0'),
                        Some(c @ b'a'..=b'f') => Some(c - b'a' + 10),
                        _ => None,
                    };
                    let (Some(hi), Some(lo)) =
                        (hex(self.s.get(self.i + 1)), hex(self.s.get(self.i + 2)))
                    else {
                        return Err(self.err("'%' not followed by two lowercase hex digits"));
                    };
                    bytes.push(hi << 4 | lo);
                    self.i += 3;
                }
                Some(c @ 0x20..=0x7e) => {
                    bytes.push(c);
                    self.i += 1;
                }
                Some(_) => return Err(self.err("a display string holds visible ASCII only")),
            }
        }
    }
}

impl fmt::Display for BareItem {
    /// The value as RFC 9651 serialises it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BareItem::Integer(n) => write!(f, "{n}"),
            BareItem::Decimal(t) => {
                let sign = if *t < 0 { "-" } else { "" };
                let a = t.unsigned_abs();
                let (whole, frac) = (a / 1000, a % 1000);
                let frac = format!("{frac:03}");
                let frac = frac.trim_end_matches('0');
                write!(
                    f,
                    "{sign}{whole}.{}",
                    if frac.is_empty() { "0" } else { frac }
                )
            }
            BareItem::String(s) => {
                f.write_str("\"")?;
                for c in s.chars() {
                    if matches!(c, '"' | '\\') {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
                f.write_str("\"")
            }
            BareItem::Token(t) => f.write_str(t),
            BareItem::Bytes(b) => write!(f, ":{b}:"),
            BareItem::Boolean(b) => f.write_str(if *b { "?1" } else { "?0" }),
            BareItem::Date(n) => write!(f, "@{n}"),
            BareItem::DisplayString(s) => {
                f.write_str("%\"")?;
                for b in s.bytes() {
                    if b == b'%' || b == b'"' || !(0x20..=0x7e).contains(&b) {
                        write!(f, "%{b:02x}")?;
                    } else {
                        write!(f, "{}", char::from(b))?;
                    }
                }
                f.write_str("\"")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Item {
        let list = parse_list(s.as_bytes()).unwrap();
        assert_eq!(list.len(), 1, "{s}");
        list[0].item().unwrap().clone()
    }

    #[test]
    fn every_bare_type() {
        assert_eq!(one("42").value, BareItem::Integer(42));
        assert_eq!(one("-7").value, BareItem::Integer(-7));
        assert_eq!(one("1.5").value, BareItem::Decimal(1500));
        assert_eq!(one("-0.25").value, BareItem::Decimal(-250));
        assert_eq!(
            one(r#""a \"b\" \\c""#).value,
            BareItem::String(r#"a "b" \c"#.into())
        );
        assert_eq!(
            one("text/plain").value,
            BareItem::Token("text/plain".into())
        );
        assert_eq!(one("*x:y").value, BareItem::Token("*x:y".into()));
        assert_eq!(one(":aGk=:").value, BareItem::Bytes("aGk=".into()));
        assert_eq!(one("?0").value, BareItem::Boolean(false));
        assert_eq!(one("@1659578233").value, BareItem::Date(1_659_578_233));
        assert_eq!(
            one(r#"%"caf%c3%a9""#).value,
            BareItem::DisplayString("café".into())
        );
    }

    #[test]
    fn parameters_members_and_inner_lists() {
        let item = one(r#""burst";q=100;w=60;pk=:dXNlcg==:;flag"#);
        assert_eq!(item.params.get("q"), Some(&BareItem::Integer(100)));
        assert_eq!(
            item.params.get("pk"),
            Some(&BareItem::Bytes("dXNlcg==".into()))
        );
        assert_eq!(item.params.get("flag"), Some(&BareItem::Boolean(true)));
        // A repeated key keeps its place and takes the later value.
        let item = one("a;x=1;y=2;x=3");
        let keys: Vec<_> = item.params.iter().collect();
        assert_eq!(
            keys,
            [("x", &BareItem::Integer(3)), ("y", &BareItem::Integer(2))]
        );
        let list = parse_list(b"  (a b);z, c ,\td").unwrap();
        assert_eq!(list.len(), 3);
        assert!(
            matches!(&list[0], Member::InnerList(items, p) if items.len() == 2 && p.get("z").is_some())
        );
        assert_eq!(parse_list(b"").unwrap(), []);
        assert_eq!(parse_list(b"()").unwrap().len(), 1);
    }

    #[test]
    fn broken_values_are_errors() {
        for bad in [
            "a,",
            ",a",
            "a b",
            "a;Q=1",
            "a;q=",
            "\"open",
            "\"bad\\n\"",
            "1234567890123456",
            "1234567890123.5",
            "1.2345",
            "1.",
            "-",
            "?2",
            ":not base64!:",
            ":open",
            "(a b",
            "(a,b)",
            "@1.5",
            "%\"%zz\"",
            "%\"%ff\"",
            "a;q=1 ;w=2",
            "\"é\"",
        ] {
            assert!(parse_list(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn lines_join_as_one_list() {
        let lines: [&[u8]; 2] = [br#""burst";q=100"#, br#""daily";q=1000"#];
        assert_eq!(parse_list_lines(lines).unwrap().len(), 2);
        let broken: [&[u8]; 2] = [b"a", b""];
        assert!(parse_list_lines(broken).is_err());
    }

    #[test]
    fn values_print_as_they_parse() {
        for text in [
            "42",
            "-1.5",
            "0.001",
            "\"a\\\"b\"",
            "tok/en",
            ":aGk=:",
            "?1",
            "@0",
            "%\"caf%c3%a9 %25\"",
        ] {
            assert_eq!(one(text).value.to_string(), text);
        }
    }
}
