//! HTML to lines: blocks become lines, table rows become TAB-separated lines, headings
//! become "#" lines, list items "- " or "n. " lines; scripts, styles and the head are dropped.

use ego_tree::NodeRef;
use scraper::{Html, Node};

use super::Deadline;

/// The text of an HTML document or fragment.
pub fn to_text(html: &str, deadline: &mut Deadline) -> Result<String, String> {
    check_nesting(html)?;
    let document = Html::parse_document(html);
    deadline.check()?;
    let mut out = Writer::default();
    walk(document.tree.root(), &mut out, 0, deadline)?;
    Ok(out.finish())
}

/// Block containers the HTML parser checks its whole stack of open elements for, on every one
/// opened: deep nesting of them makes parsing quadratic (80,000 nested `<div>`s take minutes).
const QUADRATIC: &[&str] = &[
    "div",
    "ul",
    "ol",
    "dl",
    "dd",
    "dt",
    "blockquote",
    "section",
    "article",
    "aside",
    "nav",
    "header",
    "footer",
    "main",
    "address",
    "center",
    "details",
    "dialog",
    "dir",
    "fieldset",
    "figure",
    "figcaption",
    "hgroup",
    "menu",
    "summary",
    "form",
    "pre",
    "listing",
    "search",
];

/// Deepest nesting of block containers allowed, and most stack steps the parser may take for them.
const MAX_NESTING: usize = 1000;
const MAX_NESTING_COST: usize = 20_000_000;

/// Refuses HTML whose nesting would make parsing take too long, by a plain scan of its tags
/// (before the parser, which cannot be interrupted).
fn check_nesting(html: &str) -> Result<(), String> {
    let bytes = html.as_bytes();
    let (mut depth, mut cost) = (0usize, 0usize);
    let mut at = 0;
    while let Some(offset) = memchr_lt(&bytes[at..]) {
        at += offset + 1;
        let closing = bytes.get(at) == Some(&b'/');
        let start = if closing { at + 1 } else { at };
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric())
            .map_or(bytes.len(), |n| start + n);
        let name = &html[start..end];
        if !QUADRATIC.iter().any(|q| q.eq_ignore_ascii_case(name)) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            cost += depth;
        }
        if depth > MAX_NESTING || cost > MAX_NESTING_COST {
            return Err(format!(
                "HTML nests its elements too deeply (more than {MAX_NESTING} levels)"
            ));
        }
    }
    Ok(())
}

fn memchr_lt(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'<')
}

#[derive(Default)]
struct Writer {
    text: String,
}

impl Writer {
    fn push(&mut self, s: &str) {
        for word in s.split_whitespace() {
            if !self.text.is_empty() && !self.text.ends_with(['\n', ' ', '\t']) {
                self.text.push(' ');
            }
            self.text.push_str(word);
        }
        if s.ends_with(char::is_whitespace)
            && !self.text.ends_with(['\n', ' ', '\t'])
            && !self.text.is_empty()
        {
            self.text.push(' ');
        }
    }

    fn newline(&mut self) {
        while self.text.ends_with(' ') {
            self.text.pop();
        }
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    fn raw(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn finish(self) -> String {
        let mut out = String::new();
        let mut blank = 0;
        for line in self.text.lines() {
            let line = line.trim_matches(' ');
            if line.is_empty() {
                blank += 1;
                if blank == 1 && !out.is_empty() {
                    out.push('\n');
                }
                continue;
            }
            blank = 0;
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

const SKIP: &[&str] = &[
    "script", "style", "head", "title", "noscript", "template", "svg", "object",
];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "section",
    "article",
    "header",
    "footer",
    "main",
    "aside",
    "nav",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "dl",
    "dd",
    "dt",
    "hr",
    "address",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tfoot",
    "caption",
    "body",
    "html",
    "center",
    "form",
    "fieldset",
];

fn walk(
    node: NodeRef<'_, Node>,
    out: &mut Writer,
    depth: usize,
    deadline: &mut Deadline,
) -> Result<(), String> {
    // Hostile nesting is cut off rather than followed into a stack overflow.
    if depth > 200 {
        return Ok(());
    }
    let ordered = node.value().as_element().is_some_and(|e| e.name() == "ol");
    // Items are numbered as they come: counting earlier siblings would be quadratic.
    let mut item = 0usize;
    for child in node.children() {
        deadline.tick()?;
        match child.value() {
            Node::Text(t) => out.push(t),
            Node::Element(e) => {
                let name = e.name();
                if SKIP.contains(&name) {
                    continue;
                }
                match name {
                    "br" => out.newline(),
                    "tr" => {
                        out.newline();
                        let mut cells = Vec::new();
                        for cell in child.children().filter(|c| {
                            c.value()
                                .as_element()
                                .is_some_and(|e| e.name() == "td" || e.name() == "th")
                        }) {
                            let mut w = Writer::default();
                            walk(cell, &mut w, depth + 1, deadline)?;
                            cells.push(w.text.split_whitespace().collect::<Vec<_>>().join(" "));
                        }
                        out.raw(&cells.join("\t"));
                        out.newline();
                    }
                    "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                        out.newline();
                        out.raw("\n");
                        let level = name[1..].parse::<usize>().unwrap_or(1);
                        out.raw(&"#".repeat(level));
                        out.raw(" ");
                        walk(child, out, depth + 1, deadline)?;
                        out.newline();
                        out.raw("\n");
                    }
                    "li" => {
                        out.newline();
                        item += 1;
                        if ordered {
                            out.raw(&format!("{item}. "));
                        } else {
                            out.raw("- ");
                        }
                        walk(child, out, depth + 1, deadline)?;
                        out.newline();
                    }
                    "p" => {
                        out.newline();
                        out.raw("\n");
                        walk(child, out, depth + 1, deadline)?;
                        out.newline();
                    }
                    _ if BLOCK.contains(&name) => {
                        out.newline();
                        walk(child, out, depth + 1, deadline)?;
                        out.newline();
                    }
                    _ => walk(child, out, depth + 1, deadline)?,
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_headings_and_lists() {
        let text = text_of(
            "<html><head><title>x</title><style>p{}</style></head><body><h2>Möte &amp; plan</h2>\
             <p>Datum:\n 2026-01-02<br>Plats: Rum 1</p><table><tr><th>Namn</th><th>Org</th></tr>\
             <tr><td>Anna <b>Berg</b></td><td>Ale</td></tr></table><ol><li>Öppnande</li><li>Budget</li></ol>\
             <script>alert(1)</script></body></html>",
        );
        assert_eq!(
            text,
            "## Möte & plan\n\nDatum: 2026-01-02\nPlats: Rum 1\nNamn\tOrg\nAnna Berg\tAle\n1. Öppnande\n2. Budget\n"
        );
    }

    fn text_of(html: &str) -> String {
        to_text(html, &mut Deadline::unlimited()).unwrap()
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let html = "<div>".repeat(100_000) + "x";
        let err = to_text(&html, &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("too deeply"), "{err}");
        // Deep nesting of elements the parser handles cheaply is cut off, not refused.
        let html = "<span>".repeat(20_000) + "x";
        assert_eq!(text_of(&html), "");
        let html = "<div>a</div>".repeat(50_000);
        assert!(text_of(&html).starts_with("a\na\n"));
    }

    #[test]
    fn long_lists_are_numbered_in_order() {
        let html = format!("<ol>{}</ol>", "<li>x</li>".repeat(20_000));
        let text = text_of(&html);
        assert!(text.ends_with("20000. x\n"), "{}", &text[text.len() - 20..]);
    }

    #[test]
    fn entities_and_spaces() {
        assert_eq!(text_of("<p>a&nbsp;&amp;   b&#246;\n c</p>"), "a & bö c\n");
    }
}
