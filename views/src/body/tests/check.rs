//! Strict readers of what the emitters write, for the tests: each accepts
//! only the markup its emitter produces and returns the text a reader would
//! see, so a payload that became markup fails, and one that stayed text can
//! be found again.

use crate::body::RichText;

/// Elements of our Pango markup, and the attributes each may carry.
const PANGO_ELEMENTS: &[(&str, &[&str])] = &[
    ("b", &[]),
    ("i", &[]),
    ("s", &[]),
    ("tt", &[]),
    ("span", &["size", "weight"]),
    ("a", &["href"]),
];

const SPAN_VALUES: &[(&str, &[&str])] = &[
    ("size", &["xx-large", "x-large", "large", "medium"]),
    ("weight", &["bold"]),
];

pub const SCHEMES: [&str; 3] = ["http://", "https://", "mailto:"];

fn allowed_target(url: &str) -> bool {
    SCHEMES.iter().any(|s| url.starts_with(s))
        && !url.contains(['"', '\\', '<', '>', ' ', '{', '}'])
}

/// Reads Pango markup as the emitter writes it: the elements above with
/// double-quoted attributes, the five named entities and `&#N;`, nothing
/// else. Quotes and `>` must be escaped in text too: the emitter does so.
pub fn pango_text(markup: &str) -> Result<String, String> {
    let mut text = String::new();
    let mut open: Vec<&str> = Vec::new();
    let mut rest = markup;
    while let Some(c) = rest.chars().next() {
        match c {
            '<' => {
                let end = rest.find('>').ok_or("unclosed tag")?;
                let tag = &rest[1..end];
                rest = &rest[end + 1..];
                if let Some(name) = tag.strip_prefix('/') {
                    if open.pop() != Some(name) {
                        return Err(format!("</{name}> closes nothing open"));
                    }
                    continue;
                }
                let (name, attrs) = tag.split_once(' ').unwrap_or((tag, ""));
                let (name, allowed) = PANGO_ELEMENTS
                    .iter()
                    .find(|(n, _)| *n == name)
                    .ok_or_else(|| format!("element <{name}>"))?;
                if *name == "a" && open.contains(&"a") {
                    return Err("a link in a link".into());
                }
                for (key, value) in pango_attributes(attrs)? {
                    if !allowed.contains(&key) {
                        return Err(format!("attribute {key} on <{name}>"));
                    }
                    let ok = match key {
                        "href" => allowed_target(&value),
                        _ => SPAN_VALUES
                            .iter()
                            .any(|(k, vs)| *k == key && vs.contains(&value.as_str())),
                    };
                    if !ok {
                        return Err(format!("{key}={value:?} on <{name}>"));
                    }
                }
                if *name == "a" && !attrs.starts_with("href=") {
                    return Err("a link without a target".into());
                }
                open.push(name);
            }
            '&' => {
                let end = rest.find(';').ok_or("unterminated entity")?;
                text.push(entity(&rest[1..end])?);
                rest = &rest[end + 1..];
            }
            '>' | '"' | '\'' => return Err(format!("unescaped {c:?} in text")),
            c => {
                text.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if let Some(name) = open.pop() {
        return Err(format!("<{name}> left open"));
    }
    Ok(text)
}

fn pango_attributes(mut attrs: &str) -> Result<Vec<(&str, String)>, String> {
    let mut out = Vec::new();
    while !attrs.is_empty() {
        let (key, after) = attrs
            .split_once("=\"")
            .ok_or_else(|| format!("attribute syntax: {attrs:?}"))?;
        let (value, after) = after.split_once('"').ok_or("unclosed attribute")?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(format!("attribute name {key:?}"));
        }
        if value.contains('<') {
            return Err(format!("'<' in attribute {key}"));
        }
        out.push((key, unescape(value)?));
        attrs = match after {
            "" => "",
            a => a
                .strip_prefix(' ')
                .ok_or("attributes not space-separated")?,
        };
    }
    Ok(out)
}

fn unescape(value: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';').ok_or("unterminated entity")? + i;
        out.push(entity(&rest[i + 1..end])?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn entity(name: &str) -> Result<char, String> {
    Ok(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        n => n
            .strip_prefix('#')
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse().ok())
            .and_then(char::from_u32)
            .ok_or_else(|| format!("entity &{n};"))?,
    })
}

/// Pango's own parser on a piece of markup, `<a>` taken out first as
/// GtkLabel does: the markup must parse and show the text the strict reader
/// saw.
#[cfg(target_os = "linux")]
pub fn pango_agrees(markup: &str, text: &str, context: &str) {
    let mut plain = String::new();
    let mut rest = markup;
    while let Some(i) = rest.find("<a href=\"") {
        plain.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.find("\">").map_or(rest.len(), |e| e + 2);
        plain.push_str("<span>");
        rest = &rest[end..];
    }
    plain.push_str(rest);
    let plain = plain.replace("</a>", "</span>");
    match pango::parse_markup(&plain, '\0') {
        Ok((_, parsed, _)) => assert_eq!(parsed.as_str(), text, "from {context:?}"),
        Err(e) => panic!("Pango refused {markup:?} from {context:?}: {e}"),
    }
}

/// Elsewhere the strict reader alone stands.
#[cfg(not(target_os = "linux"))]
pub fn pango_agrees(_markup: &str, _text: &str, _context: &str) {}

/// Control words the RTF emitter writes.
const RTF_WORDS: &[&str] = &[
    "rtf", "ansi", "ansicpg", "deff", "uc", "fonttbl", "fswiss", "fmodern", "f", "fs", "b", "i",
    "strike", "pard", "par", "line", "tab", "sa", "li", "fi", "tx", "u", "colortbl", "red",
    "green", "blue", "cf", "ul",
];

#[derive(Clone, Copy, PartialEq)]
enum Dest {
    Text,
    /// The font and colour tables.
    Table,
}

/// Reads RTF as the emitter writes it: one group, control words from the
/// list above, no destination (`\*`), only ASCII. Returns the visible
/// text, `\par` and `\line` as line ends.
pub fn rtf_text(rtf: &str) -> Result<String, String> {
    if !rtf.starts_with("{\\rtf1\\") {
        return Err("not an RTF document".into());
    }
    let mut text = String::new();
    let mut groups: Vec<Dest> = Vec::new();
    let mut high: Option<u16> = None;
    let bytes = rtf.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        let dest = groups.last().copied();
        if dest.is_none() && !matches!(b, b'{') {
            if rtf[i - 1..].trim().is_empty() {
                break;
            }
            return Err(format!("text after the document: {:?}", &rtf[i - 1..]));
        }
        let mut literal = None;
        match b {
            b'{' => {
                if dest.is_none() && i > 1 {
                    return Err("a second top-level group".into());
                }
                groups.push(dest.unwrap_or(Dest::Text));
            }
            b'}' => {
                groups.pop();
            }
            b'\\' => {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                if i == start {
                    let symbol = bytes.get(i).copied().ok_or("lone backslash at the end")?;
                    i += 1;
                    match symbol {
                        b'\\' | b'{' | b'}' => literal = Some(char::from(symbol)),
                        s => return Err(format!("control symbol \\{}", char::from(s))),
                    }
                } else {
                    let word = &rtf[start..i];
                    let num_start = i;
                    if i < bytes.len() && bytes[i] == b'-' {
                        i += 1;
                    }
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    let number = &rtf[num_start..i];
                    if i < bytes.len() && bytes[i] == b' ' {
                        i += 1;
                    }
                    if !RTF_WORDS.contains(&word) {
                        return Err(format!("control word \\{word}{number}"));
                    }
                    let top = groups
                        .last_mut()
                        .ok_or("control word outside the document")?;
                    match word {
                        "fonttbl" | "colortbl" => *top = Dest::Table,
                        "par" | "line" => literal = Some('\n'),
                        "tab" => literal = Some('\t'),
                        "u" => {
                            let n: i16 = number.parse().map_err(|_| format!("\\u{number}"))?;
                            if bytes.get(i) != Some(&b'?') {
                                return Err("\\u without its '?' fallback".into());
                            }
                            i += 1;
                            let unit = n as u16;
                            if (0xD800..0xDC00).contains(&unit) {
                                high = Some(unit);
                                continue;
                            }
                            let units = match high.take() {
                                Some(h) => vec![h, unit],
                                None => vec![unit],
                            };
                            let c = char::decode_utf16(units)
                                .next()
                                .and_then(Result::ok)
                                .ok_or("a lone surrogate")?;
                            literal = Some(c);
                        }
                        _ => {}
                    }
                }
            }
            b'\r' | b'\n' => {}
            b if b.is_ascii() && !b.is_ascii_control() => literal = Some(char::from(b)),
            b => return Err(format!("raw byte {b:#x}")),
        }
        if high.is_some() && literal.is_some() {
            return Err("a high surrogate without its low half".into());
        }
        if let (Some(c), Some(Dest::Text)) = (literal, groups.last()) {
            text.push(c);
        }
    }
    if !groups.is_empty() {
        return Err(format!("{} groups left open", groups.len()));
    }
    Ok(text)
}

/// Checks the links `to_rich_text` reports against the text the control
/// will hold (`text`, as `rtf_text` reads it): each an allowed target over
/// a run of that text, in order, none overlapping. Returns the runs' text.
pub fn rich_links(rich: &RichText, text: &str) -> Result<Vec<String>, String> {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut after = 0;
    let mut runs = Vec::new();
    for link in &rich.links {
        if !allowed_target(&link.target) {
            return Err(format!("link target {:?}", link.target));
        }
        if link.start < after || link.end <= link.start || link.end > units.len() {
            return Err(format!("link run {link:?} in {} units", units.len()));
        }
        after = link.end;
        runs.push(String::from_utf16(&units[link.start..link.end]).map_err(|e| e.to_string())?);
    }
    Ok(runs)
}
