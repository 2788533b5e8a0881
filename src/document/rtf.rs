//! RTF to text. No maintained crate reads RTF's text, so this is the small part of the format
//! that carries it: groups, control words, hex and Unicode escapes, paragraphs, tabs and table
//! cells; destinations that hold no body text (fonts, styles, pictures, metadata) are skipped.

/// Destinations whose content is not document text.
const SKIPPED: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "footer",
    "headerl",
    "headerr",
    "footerl",
    "footerr",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "fldinst",
    "filetbl",
    "revtbl",
    "bkmkstart",
    "bkmkend",
    "footnote",
];

use super::Deadline;

/// The text of an RTF document.
pub fn to_text(bytes: &[u8], deadline: &mut Deadline) -> Result<String, String> {
    let mut out = String::new();
    // Per group: skipping?, characters to skip after \uN.
    let mut stack: Vec<(bool, usize)> = vec![(false, 1)];
    let mut skip_fallback = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        deadline.tick()?;
        let (skipping, uc) = *stack.last().unwrap_or(&(false, 1));
        match bytes[i] {
            b'{' => {
                if stack.len() > 500 {
                    return Err("the RTF nests groups too deeply".into());
                }
                stack.push((skipping, uc));
                i += 1;
            }
            b'}' => {
                if stack.len() > 1 {
                    stack.pop();
                }
                i += 1;
            }
            b'\\' => {
                i += 1;
                let Some(&c) = bytes.get(i) else { break };
                if c == b'\'' {
                    let hex = bytes
                        .get(i + 1..i + 3)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok())
                        && !skipping
                    {
                        if skip_fallback > 0 {
                            skip_fallback -= 1;
                        } else {
                            out.push_str(&super::decode_text(&[b]));
                        }
                    }
                    i += 3;
                    continue;
                }
                if !c.is_ascii_alphabetic() {
                    // Control symbols: \\ \{ \} \~ (non-breaking space), \* (skippable destination).
                    match c {
                        b'*' => {
                            if let Some(top) = stack.last_mut() {
                                top.0 = true;
                            }
                        }
                        b'~' if !skipping => out.push(' '),
                        b'\\' | b'{' | b'}' if !skipping => out.push(c as char),
                        b'\n' | b'\r' if !skipping => out.push('\n'),
                        _ => {}
                    }
                    i += 1;
                    continue;
                }
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                let word = std::str::from_utf8(&bytes[start..i]).unwrap_or("");
                let num_start = i;
                if i < bytes.len() && (bytes[i] == b'-' || bytes[i].is_ascii_digit()) {
                    i += 1;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                let param: Option<i64> = std::str::from_utf8(&bytes[num_start..i])
                    .ok()
                    .and_then(|s| s.parse().ok());
                if i < bytes.len() && bytes[i] == b' ' {
                    i += 1;
                }
                if SKIPPED.contains(&word) {
                    if let Some(top) = stack.last_mut() {
                        top.0 = true;
                    }
                    continue;
                }
                if word == "bin" {
                    // Raw binary data of the given length follows.
                    let len = usize::try_from(param.unwrap_or(0)).unwrap_or(0);
                    i = i.saturating_add(len);
                    continue;
                }
                if skipping {
                    continue;
                }
                match word {
                    "par" | "line" | "row" | "sect" | "page" => out.push('\n'),
                    "tab" | "cell" => out.push('\t'),
                    "emdash" => out.push('—'),
                    "endash" => out.push('–'),
                    "bullet" => out.push('•'),
                    "lquote" | "rquote" => out.push('\''),
                    "ldblquote" | "rdblquote" => out.push('"'),
                    "uc" => {
                        if let Some(top) = stack.last_mut() {
                            top.1 = param.unwrap_or(1).clamp(0, 10) as usize;
                        }
                    }
                    "u" => {
                        let code = param.unwrap_or(0);
                        let code = if code < 0 { code + 65536 } else { code };
                        if let Some(ch) = char::from_u32(code as u32) {
                            out.push(ch);
                        }
                        skip_fallback = uc;
                    }
                    _ => {}
                }
            }
            b'\r' | b'\n' => i += 1,
            b => {
                if !skipping {
                    if skip_fallback > 0 {
                        skip_fallback -= 1;
                    } else if b.is_ascii() {
                        out.push(b as char);
                    } else {
                        out.push_str(&super::decode_text(&[b]));
                    }
                }
                i += 1;
            }
        }
    }
    // Table rows end with a cell mark before \row: drop the trailing TAB.
    Ok(out.replace("\t\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_tables_and_escapes() {
        let rtf = br"{\rtf1\ansi{\fonttbl{\f0 Arial;}}{\*\generator x;}M\'f6te\par Plats: Rum\~1\par {\trowd Anna\cell Ale\cell\row}\u8211?slut}";
        assert_eq!(
            to_text(rtf, &mut Deadline::unlimited()).unwrap(),
            "Möte\nPlats: Rum 1\nAnna\tAle\n–slut"
        );
    }

    #[test]
    fn hostile_rtf() {
        assert!(to_text(&b"{".repeat(10_000), &mut Deadline::unlimited()).is_err());
        let _ = to_text(
            br"\'zz\u-5\u99999999999\bin99999999999\",
            &mut Deadline::unlimited(),
        );
        assert_eq!(
            to_text(br"{\rtf1 a\bin3 \}{b}", &mut Deadline::unlimited()).unwrap(),
            "ab"
        );
    }
}
